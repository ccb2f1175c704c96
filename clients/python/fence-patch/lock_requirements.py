"""Fence's poetry.lock as a hashed pip requirements list, so Fence is installed with exactly the
versions (and files) its release was tested with, without installing Poetry and its export plugin.

Usage: python lock_requirements.py <poetry.lock> [--skip NAME ...] > requirements.txt

Packages of the "main" and "dev" groups are listed (Fence's tests need the dev group); git
sources cannot be pinned by hash and are skipped with a note on stderr (Fence's only one,
cdisutilstest, is used by tests/storageclient alone, which the run leaves out).
"""

from __future__ import annotations

import sys
from pathlib import Path

import tomllib


def requirements(lock: dict[str, object], skip: set[str]) -> list[str]:
    lines = []
    for package in lock["package"]:  # type: ignore[attr-defined]
        name = package["name"]
        source = package.get("source", {})
        if name in skip or source.get("type") in {"git", "directory", "url"}:
            print(f"skipped {name} ({source.get('type', 'asked')})", file=sys.stderr)
            continue
        if not {"main", "dev"} & set(package.get("groups", ["main"])):
            continue
        marker = package.get("markers")
        # A marker per group is a table; any group's marker makes the package needed.
        if isinstance(marker, dict):
            marker = " or ".join(f"({m})" for m in marker.values())
        line = f"{name}=={package['version']}"
        if marker:
            line += f" ; {marker}"
        hashes = " ".join(f"--hash={f['hash']}" for f in package.get("files", []))
        lines.append(f"{line} {hashes}".rstrip())
    return lines


def main() -> None:
    args = sys.argv[1:]
    lock = tomllib.loads(Path(args[0]).read_text())
    skip = set(args[args.index("--skip") + 1 :]) if "--skip" in args else set()
    print("\n".join(requirements(lock, skip)))


if __name__ == "__main__":
    main()
