#!/usr/bin/env bash
# The Python client's checks: ruff (lint and format), mypy --strict, and pytest against `npm start`'s
# local runner with a real MinIO. Installs everything into clients/python/.venv from the hashed lock
# the first time (and again whenever the lock changes); about a second of set-up after that.
# Extra arguments go to pytest (e.g. `-k retry`).
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
say() { printf '[python client] %s\n' "$*"; }

# Creates (or refreshes) the venv from the hashed lock; its creation messages go to stderr.
./venv.sh >/dev/null

say "ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
say "mypy --strict"
"$VENV/bin/mypy"
say "pytest"
"$VENV/bin/pytest" "$@"
