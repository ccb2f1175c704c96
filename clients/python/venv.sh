#!/usr/bin/env bash
# The Python client's virtual environment, clients/python/.venv: created from the hashed lock
# (requirements-dev.lock) the first time and again whenever the lock or pyproject.toml changes,
# with the package itself installed editable. Prints the venv's python on stdout; everything else
# goes to stderr. Used by run-checks.sh and by the deployed suite's Fence driver
# (test/deployed/support/fence_client.py).
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
VENV=.venv
STAMP="$VENV/.lock-sha256"
say() { printf '[python client] %s\n' "$*" >&2; }

lock_sum=$(sha256sum requirements-dev.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$lock_sum" ]; then
  say "creating $VENV with $("$PYTHON" --version) from requirements-dev.lock"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --require-hashes --no-deps -r requirements-dev.lock >&2
  # The package itself, editable, built by the setuptools pinned in the lock.
  "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e . >&2
  echo "$lock_sum" >"$STAMP"
fi
echo "$PWD/$VENV/bin/python"
