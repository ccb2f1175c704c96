#!/usr/bin/env bash
# The Python client's checks: ruff (lint and format), mypy --strict, and pytest against `npm start`'s
# local runner with a real MinIO. Installs everything into clients/python/.venv from the hashed lock
# the first time (and again whenever the lock changes); about a second of set-up after that.
# Extra arguments go to pytest (e.g. `-k retry`).
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
VENV=.venv
STAMP="$VENV/.lock-sha256"
say() { printf '[python client] %s\n' "$*"; }

lock_sum=$(sha256sum requirements-dev.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$lock_sum" ]; then
  say "creating $VENV with $("$PYTHON" --version) from requirements-dev.lock"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
  # The package itself, editable, built by the setuptools pinned in the lock.
  "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e .
  echo "$lock_sum" >"$STAMP"
fi

say "ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
say "mypy --strict"
"$VENV/bin/mypy"
say "pytest"
"$VENV/bin/pytest" "$@"
