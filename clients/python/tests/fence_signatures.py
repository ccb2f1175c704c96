"""The signatures of Fence's ``S3IndexedFileLocation`` methods, read from Fence's own source.

``python tests/fence_signatures.py <fence checkout>`` rewrites ``tests/fence_signatures.json``
(the pinned release's, committed so the client's checks compare without Fence at hand);
``npm run test:fence`` sets ``FENCE_SOURCE`` to the Fence it builds, and the comparison then reads
that source itself.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

INDEXD = Path("fence/blueprints/data/indexd.py")
COMMITTED = Path(__file__).with_name("fence_signatures.json")

#: A parameter as both sides describe it: name, kind (inspect's names), and its default if any.
Parameter = dict[str, Any]


def read_signatures(
    fence_source: Path, class_name: str = "S3IndexedFileLocation"
) -> dict[str, list[Parameter]]:
    """Every method of ``class_name`` in Fence's ``indexd.py``, as parameter lists (``self`` left out)."""
    tree = ast.parse((fence_source / INDEXD).read_text(), filename=str(INDEXD))
    (found,) = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == class_name]
    return {
        node.name: _parameters(node.args)
        for node in found.body
        if isinstance(node, ast.FunctionDef)
        and not any(
            isinstance(d, ast.Name) and d.id in {"classmethod", "staticmethod"} for d in node.decorator_list
        )
    }


def _parameters(args: ast.arguments) -> list[Parameter]:
    positional = [*args.posonlyargs, *args.args]
    # Defaults belong to the last positional parameters.
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    parameters: list[Parameter] = []
    for index, (arg, default) in enumerate(zip(positional, defaults)):
        kind = "POSITIONAL_ONLY" if index < len(args.posonlyargs) else "POSITIONAL_OR_KEYWORD"
        parameters.append(_parameter(arg.arg, kind, default))
    if args.vararg is not None:
        parameters.append(_parameter(args.vararg.arg, "VAR_POSITIONAL", None))
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults):
        parameters.append(_parameter(arg.arg, "KEYWORD_ONLY", kw_default))
    if args.kwarg is not None:
        parameters.append(_parameter(args.kwarg.arg, "VAR_KEYWORD", None))
    return parameters[1:]  # self


def _parameter(name: str, kind: str, default: ast.expr | None) -> Parameter:
    parameter: Parameter = {"name": name, "kind": kind}
    if default is not None:
        parameter["default"] = ast.literal_eval(default)
    return parameter


if __name__ == "__main__":
    signatures = read_signatures(Path(sys.argv[1]))
    COMMITTED.write_text(json.dumps(signatures, indent=2, sort_keys=True) + "\n")
