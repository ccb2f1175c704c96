"""The adapter keeps the signatures of Fence's ``S3IndexedFileLocation`` (issue 21, item 3).

Fence calls these methods, some by keyword (``uploadId=…``), so every adapted method must take
exactly Fence's parameters: names, kinds and defaults. Compared with the pinned Fence release's
source when ``FENCE_SOURCE`` names a checkout (``npm run test:fence`` always does), otherwise with
``fence_signatures.json``, extracted from that source by ``fence_signatures.py``.
"""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path
from typing import Any

import pytest
from fence_signatures import COMMITTED, Parameter, read_signatures

from fence_bucket_broker.fence_adapter import BrokerS3IndexedFileLocation, BrokerSignedLocation


def fence_signatures() -> dict[str, list[Parameter]]:
    source = os.environ.get("FENCE_SOURCE")
    if source:
        return read_signatures(Path(source))
    committed: dict[str, list[Parameter]] = json.loads(COMMITTED.read_text())
    return committed


def adapted_methods() -> dict[str, Any]:
    """The public methods the adapter defines (those a bound class answers instead of Fence's)."""
    return {
        name: member
        for cls in (BrokerSignedLocation, BrokerS3IndexedFileLocation)
        for name, member in vars(cls).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }


def ours(function: Any) -> list[Parameter]:
    parameters: list[Parameter] = []
    for parameter in list(inspect.signature(function).parameters.values())[1:]:  # self
        described: Parameter = {"name": parameter.name, "kind": parameter.kind.name}
        if parameter.default is not inspect.Parameter.empty:
            described["default"] = parameter.default
        parameters.append(described)
    return parameters


FENCE = fence_signatures()


def test_every_signing_method_of_fence_is_adapted() -> None:
    # Assess: the four signing calls are all answered by the broker.
    assert {
        "get_signed_url",
        "init_multipart_upload",
        "generate_presigned_url_for_part_upload",
        "complete_multipart_upload",
    } <= set(adapted_methods()) & set(FENCE)


@pytest.mark.parametrize("name", sorted(adapted_methods()))
def test_adapted_method_keeps_fences_signature(name: str) -> None:
    # Prepare
    method = adapted_methods()[name]

    # Assess: a method Fence's class does not have is not an adaptation, so it may not exist.
    assert name in FENCE, f"{name} is not a method of Fence's S3IndexedFileLocation"
    assert ours(method) == FENCE[name]


def test_committed_signatures_match_fences_source() -> None:
    # Only with the source at hand (npm run test:fence): the JSON the checks use must not drift.
    source = os.environ.get("FENCE_SOURCE")
    if not source:
        pytest.skip(
            "FENCE_SOURCE not set: npm run test:fence compares the committed JSON with Fence's source"
        )
    assert json.loads(COMMITTED.read_text()) == read_signatures(Path(source))
