"""The client as PyPI would ship it, built and installed by the Python running the tests.

``python -m build`` (with the setuptools pinned in the lock, no download) gives a wheel and an
sdist that ``twine check --strict`` accepts; the wheel's Requires-Python is the claim in
pyproject.toml, and the claim is the lowest Python the checks run on (one
``requirements-py<version>.lock`` each); the wheel installs into a fresh venv and imports there,
with its dependencies resolved from its own metadata as a user's pip resolves them.
run-checks.sh runs this on every Python it checks on, so the wheel installs on each.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

CLIENT = Path(__file__).resolve().parents[1]


@dataclass
class Distribution:
    wheel: Path
    sdist: Path


def checked_pythons() -> list[tuple[int, ...]]:
    """The Pythons run-checks.sh runs the checks on: one hashed lock each."""
    names = (
        lock.name[len("requirements-py") : -len(".lock")] for lock in CLIENT.glob("requirements-py*.lock")
    )
    return sorted(tuple(int(part) for part in name.split(".")) for name in names)


def wheel_metadata(wheel: Path) -> dict[str, str]:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        headers = HeaderParser().parsestr(archive.read(name).decode())
    return dict(headers.items())


@pytest.fixture(scope="session")
def distribution(tmp_path_factory: pytest.TempPathFactory) -> Distribution:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(CLIENT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return Distribution(wheel, sdist)


def test_twine_accepts_the_wheel_and_the_sdist(distribution: Distribution) -> None:
    # Act
    check = subprocess.run(
        [
            sys.executable,
            "-m",
            "twine",
            "check",
            "--strict",
            str(distribution.wheel),
            str(distribution.sdist),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )

    # Assess
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("PASSED") == 2, check.stdout


def test_requires_python_is_the_lowest_python_the_checks_run_on(distribution: Distribution) -> None:
    # Prepare
    claim = tomllib.loads((CLIENT / "pyproject.toml").read_text())["project"]["requires-python"]
    lowest = ".".join(str(part) for part in checked_pythons()[0])

    # Assess
    assert wheel_metadata(distribution.wheel)["Requires-Python"] == claim
    assert claim == f">={lowest}"


def test_the_wheel_installs_into_a_fresh_venv_and_imports(distribution: Distribution, tmp_path: Path) -> None:
    # Prepare: a venv of the Python running the tests, with nothing in it.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"

    # Act
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(distribution.wheel),
        ],
        check=True,
        timeout=300,
    )
    imported = subprocess.run(
        [
            str(python),
            "-c",
            "import sys, fence_bucket_broker as fbb; from importlib.resources import files;"
            " print(fbb.__file__); print(fbb.BrokerClient.__name__);"
            " print(files('fence_bucket_broker').joinpath('py.typed').is_file());"
            " print('%d.%d' % sys.version_info[:2])",
        ],
        cwd=tmp_path,  # not the source tree, so only the installed package can be imported
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )

    # Assess
    location, client_class, typed, version = imported.stdout.split()
    assert Path(location).is_relative_to(venv)
    assert client_class == "BrokerClient"
    assert typed == "True"
    assert version == f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_the_build_commands_of_the_fence_page_build_and_check_both_files(tmp_path: Path) -> None:
    # Prepare: the block exactly as docs/fence.md shows it, run from the repository's root (its
    # paths are relative to it); its dist/ is git-ignored and emptied first so the glob sees only this build.
    from readme import doc_block

    command = doc_block("docs/fence.md", "### Building the wheel and the sdist", "bash")
    dist = CLIENT / "dist"
    for stale in dist.glob("*"):
        stale.unlink()

    # Act
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command],
        cwd=CLIENT.parents[1],
        capture_output=True,
        text=True,
        timeout=600,
    )

    # Assess
    assert ran.returncode == 0, ran.stderr[-4000:]
    assert sorted(path.suffix for path in dist.iterdir()) == [".gz", ".whl"]
    assert ran.stdout.count("PASSED") == 2
