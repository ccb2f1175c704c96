#!/usr/bin/env bash
# The Python client's virtual environment for one Python, clients/python/.venv-py<version>
# (`venv.sh 3.9`; without an argument the newest Python the client is checked on): created from
# that Python's hashed lock, requirements-py<version>.lock, the first time and again whenever the
# lock, pyproject.toml or the interpreter changes, with the package itself installed editable.
# Prints the venv's python on stdout; everything else goes to stderr. Used by run-checks.sh and by
# the deployed suite's Fence driver (test/deployed/support/fence_client.py).
set -euo pipefail
cd "$(dirname "$0")"

NEWEST=3.13
version=${1:-$NEWEST}
LOCK=requirements-py$version.lock
VENV=.venv-py$version
STAMP="$VENV/.lock-sha256"
say() { printf '[python client] %s\n' "$*" >&2; }

if [ ! -f "$LOCK" ]; then
  say "no $LOCK: the client is checked on $(ls requirements-py*.lock | sed 's/requirements-py\(.*\)\.lock/\1/' | sort -V | xargs)"
  exit 2
fi
python=$(./find-python.sh "$version")
lock_sum=$( (sha256sum "$LOCK" pyproject.toml; echo "$python"; "$python" --version) | sha256sum | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$lock_sum" ]; then
  say "creating $VENV with $("$python" --version) ($python) from $LOCK"
  rm -rf "$VENV"
  "$python" -m venv "$VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --require-hashes --no-deps -r "$LOCK" >&2
  # The package itself, editable, built by the setuptools pinned in the lock.
  "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e . >&2
  echo "$lock_sum" >"$STAMP"
fi
echo "$PWD/$VENV/bin/python"
