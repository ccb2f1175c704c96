"""run-checks.sh finds each Python it checks on (on PATH or as a pyenv build) or, under CI=true,
fails naming the missing one and the command that installs it.

The interpreters here are stand-ins (shell scripts that answer the version probe), so the tests
hold on any machine: a real ``python3.X`` on the machine's PATH is kept out of a PATH made of the
few tools the scripts need.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[1]
TOOLS = ("bash", "env", "ls", "sed", "sort", "find", "cat", "dirname")


@pytest.fixture
def bare_path(tmp_path: Path) -> Path:
    """A PATH directory holding only the tools find-python.sh and run-checks.sh use."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, f"{tool} is needed on PATH"
        (bin_dir / tool).symlink_to(found)
    return bin_dir


def stand_in(path: Path, answers: str) -> Path:
    """An executable that answers run-checks' version probe with ``answers``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {answers}\n")
    path.chmod(0o755)
    return path


def find_python(version: str, path: Path, pyenv_root: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(path), "PYENV_ROOT": str(pyenv_root), "HOME": str(pyenv_root)}
    return subprocess.run(
        [str(CLIENT / "find-python.sh"), version], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_newest_pyenv_build_of_the_version_is_found(bare_path: Path, tmp_path: Path) -> None:
    # Prepare: a pyenv shim on PATH that answers for another version, and two builds of 3.99.
    stand_in(bare_path / "python3.99", "3.11")
    pyenv = tmp_path / "pyenv"
    stand_in(pyenv / "versions/3.99.0/bin/python3.99", "3.99")
    newest = stand_in(pyenv / "versions/3.99.10/bin/python3.99", "3.99")
    stand_in(pyenv / "versions/3.99.11t/bin/python3.99", "3.99")  # free-threaded: another ABI

    # Act
    found = find_python("3.99", bare_path, pyenv)

    # Assess
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == str(newest)


def test_a_python_on_path_is_found_first(bare_path: Path, tmp_path: Path) -> None:
    on_path = stand_in(bare_path / "python3.99", "3.99")
    stand_in(tmp_path / "pyenv/versions/3.99.1/bin/python3.99", "3.99")

    found = find_python("3.99", bare_path, tmp_path / "pyenv")

    assert found.stdout.strip() == str(on_path)


def test_a_missing_python_is_named_with_its_install_command(bare_path: Path, tmp_path: Path) -> None:
    found = find_python("3.99", bare_path, tmp_path / "pyenv")

    assert found.returncode == 3
    assert found.stdout == ""
    assert "Python 3.99 not found" in found.stderr
    assert "`pyenv install 3.99`" in found.stderr


def run_checks(path: Path, pyenv_root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(CLIENT / "run-checks.sh")],
        env={"PATH": str(path), "PYENV_ROOT": str(pyenv_root), "HOME": str(pyenv_root), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def lowest_checked_python() -> str:
    versions = [
        re.sub(r"^requirements-py(.*)\.lock$", r"\1", lock.name)
        for lock in CLIENT.glob("requirements-py*.lock")
    ]
    return min(versions, key=lambda version: tuple(int(part) for part in version.split(".")))


def test_under_ci_a_missing_python_fails_the_checks_naming_it(bare_path: Path, tmp_path: Path) -> None:
    # Act: no Python the client is checked on can be found.
    checks = run_checks(bare_path, tmp_path / "pyenv", CI="true")

    # Assess: the lowest claimed Python is the first looked for, and nothing ran.
    lowest = lowest_checked_python()
    assert checks.returncode == 1
    assert f"Python {lowest} not found" in checks.stderr
    assert f"`pyenv install {lowest}`" in checks.stderr
    assert f"Python {lowest} is required under CI=true" in checks.stdout
    assert "pytest" not in checks.stdout


def test_outside_ci_a_missing_python_is_skipped_with_a_warning(bare_path: Path, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key == "LANG"}
    checks = run_checks(bare_path, tmp_path / "pyenv", **env)

    # None is installed here, so after the warnings there is nothing to check: that fails too.
    assert f"skipping Python {lowest_checked_python()}: not installed" in checks.stdout
    assert checks.returncode == 1
    assert "no Python to check the client on" in checks.stdout
