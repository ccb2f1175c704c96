"""The change to Fence docs/fence.md shows is the patch ``npm run test:fence`` applies and tests.

``fence-patch/fence-bucket-broker.patch`` is the whole change, as a unified diff of the pinned
Fence release; the page's ``diff`` block is its part in ``indexd.py``. The patch's own tests run
against Fence itself (test/fence/); here, without Fence, the two are held to each other.
"""

from __future__ import annotations

from pathlib import Path

from readme import added_lines, doc_block

PATCH = Path(__file__).resolve().parents[1] / "fence-patch" / "fence-bucket-broker.patch"


def patch_files() -> dict[str, list[str]]:
    """The files the patch changes, each with the lines it adds."""
    files: dict[str, list[str]] = {}
    current: list[str] = []
    for line in PATCH.read_text().splitlines():
        if line.startswith("+++ b/"):
            current = files.setdefault(line[len("+++ b/") :], [])
        elif line.startswith("+") and not line.startswith("+++"):
            current.append(line[1:])
    return files


def test_the_readme_diff_is_part_of_the_patch() -> None:
    # Prepare
    shown = [
        line
        for hunk in added_lines(doc_block("docs/fence.md", "## Calling from Fence", "diff"))
        for line in hunk
    ]

    # Assess: every line the page adds, the patch adds to indexd.py, in the same order.
    added = patch_files()["fence/blueprints/data/indexd.py"]
    positions = [added.index(line) for line in shown]
    assert positions == sorted(positions)


def test_the_patch_changes_only_fences_data_signing_and_config() -> None:
    assert set(patch_files()) == {"fence/blueprints/data/indexd.py", "fence/config.py"}
