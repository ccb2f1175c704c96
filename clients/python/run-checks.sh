#!/usr/bin/env bash
# The Python client's checks on every Python it is checked on: the lowest it claims
# (pyproject.toml's requires-python) and the newest, one hashed lock each (requirements-py<version>.lock).
# On each: mypy --strict for that Python, and pytest against `npm start`'s local runner with a real
# MinIO, which also builds the wheel and sdist, runs `twine check` on them and installs the wheel
# into a fresh venv (tests/test_distribution.py). ruff once, on the first: its checks do not depend
# on the interpreter (target-version in pyproject.toml). Each venv is installed from its lock the
# first time (venv.sh); about a second of set-up after that.
# Under CI=true a missing interpreter fails naming it; elsewhere that Python is skipped with a warning.
# Extra arguments go to pytest (e.g. `-k retry`).
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '[python client] %s\n' "$*"; }

mapfile -t versions < <(ls requirements-py*.lock | sed 's/^requirements-py\(.*\)\.lock$/\1/' | sort -V)
checked=()
for version in "${versions[@]}"; do
  if ! ./find-python.sh "$version" >/dev/null; then
    if [ "${CI:-}" = true ]; then
      say "Python $version is required under CI=true (see above)"
      exit 1
    fi
    say "skipping Python $version: not installed (CI=true requires it)"
    continue
  fi
  python=$(./venv.sh "$version")
  bin=$(dirname "$python")
  say "Python $version"
  "$python" --version
  if [ ${#checked[@]} -eq 0 ]; then
    say "ruff"
    "$bin/ruff" check .
    "$bin/ruff" format --check .
  fi
  say "mypy --strict --python-version $version"
  "$bin/mypy" --python-version "$version"
  say "pytest (Python $version)"
  "$bin/pytest" "$@"
  checked+=("$version")
done
if [ ${#checked[@]} -eq 0 ]; then
  say "no Python to check the client on: install one of ${versions[*]}"
  exit 1
fi
say "checked on Python ${checked[*]}"
