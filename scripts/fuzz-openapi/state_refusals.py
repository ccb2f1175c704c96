"""The fuzzer's one custom check: a 400 to a request that meets the schema is one the document lists.

Loaded by schemathesis.toml (``hooks``). A request can meet its schema and still be refused
because of state no schema knows: a secret version or a multipart upload that does not exist, this
deployment's prefix, cap or store-endpoint policy, a store that cannot be reached. The document
lists those refusals per operation, under its 400 response, as ``x-state-refusals`` ({code, field,
when}). ``positive_data_acceptance`` is configured to let a 400 through, and this check holds each
such 400 to that list: a refusal of a schema-valid request with any other code or field (a rule
the handler checks and the document does not state) fails the run.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis import CheckContext, GenerationMode


def _documented_refusals(case: schemathesis.Case) -> list[dict[str, Any]]:
    responses = case.operation.definition.raw.get("responses", {})
    refusals = responses.get("400", {}).get("x-state-refusals", [])
    return [refusal for refusal in refusals if isinstance(refusal, dict)]


@schemathesis.check
def state_refusal_is_documented(ctx: CheckContext, response: schemathesis.Response, case: schemathesis.Case) -> None:
    meta = case.meta
    if meta is None or meta.generation.mode != GenerationMode.POSITIVE or response.status_code != 400:
        return
    try:
        error = response.json()["error"]
        code, field = error["code"], error.get("field")
    except (ValueError, KeyError, TypeError):
        raise AssertionError("a 400 without the API's error shape") from None
    for refusal in _documented_refusals(case):
        if refusal.get("code") == code and refusal.get("field") == field:
            return
    raise AssertionError(
        f"A request that meets the schema was refused with 400 `{code}`"
        f"{'' if field is None else f' (field `{field}`)'}, which the operation does not list"
        " among its x-state-refusals: the document or the handler is wrong"
    )
