"""The README's fenced blocks, exactly as it shows them: tests run what newcomers paste."""

from __future__ import annotations

from conftest import REPO


def readme_block(marker: str, language: str, index: int = 0) -> str:
    """The `index`th ```language block after the first occurrence of `marker`."""
    text = (REPO / "README.md").read_text()
    at = text.find(marker)
    assert at >= 0, f'README has no "{marker}"'
    blocks = text[at:].split(f"```{language}\n")[1:]
    assert len(blocks) > index, f"README has no {language} block {index} after {marker!r}"
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
