"""Fenced blocks of the guide's pages (docs/), exactly as they show them: tests run what operators paste."""

from __future__ import annotations

from conftest import REPO


def doc_page(path: str) -> str:
    """The page at `path` (from the repository root, e.g. ``docs/fence.md``) as the repository holds it."""
    return (REPO / path).read_text()


def doc_block(path: str, marker: str, language: str, index: int = 0) -> str:
    """The `index`th ```language block after the first occurrence of `marker` in the page at `path`."""
    text = doc_page(path)
    at = text.find(marker)
    assert at >= 0, f'{path} has no "{marker}"'
    blocks = text[at:].split(f"```{language}\n")[1:]
    assert len(blocks) > index, f"{path} has no {language} block {index} after {marker!r}"
    return blocks[index].split("\n```")[0] + "\n"


def added_lines(diff: str) -> list[list[str]]:
    """The lines a diff adds, hunk by hunk (each hunk starts at an `@@` line)."""
    hunks: list[list[str]] = []
    for line in diff.splitlines():
        if line.startswith("@@"):
            hunks.append([])
        elif line.startswith("+") and not line.startswith("+++"):
            assert hunks, "an added line before the first @@"
            hunks[-1].append(line[1:])
    return hunks
