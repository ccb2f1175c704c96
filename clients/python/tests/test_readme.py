"""docs/fence.md, "Calling from Fence": the install command and the client snippet, run as written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO, Runner
from readme import doc_block, doc_page

from fence_bucket_broker import BROKER_DEADLINE_ENV
from fence_bucket_broker.client import DEFAULT_DEADLINE

PAGE = "docs/fence.md"
SECTION = "## Calling from Fence"
EXAMPLE_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/prod"


def test_the_install_command_installs_the_typed_package(tmp_path: Path) -> None:
    # Prepare: a fresh environment; botocore and requests come from the interpreter's own site
    # packages (the test services' install brings them), so nothing but the package is fetched.
    command = doc_block(PAGE, SECTION, "bash").strip()
    assert command == "pip install ./clients/python"
    environment = tmp_path / "env"
    # Made from the base interpreter: one made from this test's venv would see its editable install.
    base = str(Path(sys.base_prefix) / "bin" / "python3")
    subprocess.run([base, "-m", "venv", "--system-site-packages", str(environment)], check=True)
    bin_dir = environment / "bin"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)

    # A copy of the package where the page runs it: building leaves a build/ directory behind.
    checkout = tmp_path / "checkout"
    shutil.copytree(
        REPO / "clients/python",
        checkout / "clients/python",
        ignore=shutil.ignore_patterns(".venv*", "dist", "build", "*.egg-info", "__pycache__", ".*_cache"),
    )

    # Act
    subprocess.run(["bash", "-c", command], cwd=checkout, env=env, check=True, capture_output=True)
    probe = subprocess.run(
        [
            str(bin_dir / "python"),
            "-c",
            "import pathlib, fence_bucket_broker as p; print(p.__file__); "
            "print((pathlib.Path(p.__file__).parent / 'py.typed').exists())",
        ],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )

    # Assess: installed (not the source tree), with its py.typed marker.
    location, typed = probe.stdout.split()
    assert location.startswith(str(environment))
    assert typed == "True"


def test_the_client_snippet_runs_against_the_broker(runner: Runner) -> None:
    # Prepare: the page's snippet, pointed at the local runner instead of API Gateway.
    snippet = doc_block(PAGE, SECTION, "python")
    assert EXAMPLE_URL in snippet
    program = snippet.replace(EXAMPLE_URL, runner.url)

    # Act
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=False
    )

    # Assess
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert re.fullmatch(r"hello until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00", lines[0])
    assert lines[1:3] == ["GET", "refused: invalid_request"]
    assert re.fullmatch(r"404 unknown_bucket [0-9a-f-]{36}", lines[3])
    assert len(lines) == 4


def test_the_deadline_the_readme_states_is_the_clients() -> None:
    # The prose before the snippet: the retry policy and the deadline next to it.
    text = doc_page(PAGE)
    at = text.index(SECTION)
    policy = " ".join(text[at : text.index("```python", at)].split())

    assert f"a **deadline**, {DEFAULT_DEADLINE:g} s by default" in policy
    assert f"`{BROKER_DEADLINE_ENV}` in seconds" in policy
    assert "within gunicorn's 30 s worker timeout" in policy
