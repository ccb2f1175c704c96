#!/usr/bin/env bash
# `npm run test:fence`: Gen3 Fence itself, at the pinned release, with our patch and our client.
#
# 1. Gets Fence at FENCE_COMMIT (uc-cdis/fence 13.3.0): from FENCE_GIT_DIR (a git directory that
#    holds the commit, e.g. a mirror) when set, else by cloning https://github.com/uc-cdis/fence
#    into the cache. Fence's code is only ever exported into the cache, never into this repository.
# 2. Builds a Python 3.13 venv from Fence's own poetry.lock (every file pinned by its hash; see
#    lock_requirements.py), once per lock, and installs clients/python into it on every run.
# 3. Exports a fresh copy of Fence's source (one per run) and applies fence-bucket-broker.patch (it must apply
#    cleanly: a conflict fails the run).
# 4. Runs jest -c jest.fence.config.js (test/fence/): Fence's own data-endpoint tests, the
#    adapter's signature comparison with Fence's source, and Fence started on configs written by
#    `fence-buckets migrate` serving /data/download, /data/upload and the multipart routes
#    through `npm start`'s local runner. The integration harness starts the real services they
#    need (PostgreSQL, moto, MinIO).
#
# Cache: FENCE_CACHE_DIR, default ~/.cache/fence-bucket-broker/fence-<commit> (outside git).
# PYTHON313: the interpreter (default: python3.13 on the PATH, else pyenv's 3.13.0).
# Extra arguments go to jest (e.g. `-t download`).
set -euo pipefail
cd "$(dirname "$0")"
PATCH_DIR=$PWD
REPO=$(cd ../../.. && pwd)

FENCE_COMMIT=d03fe03604538dd9b76556c149fe2cfd99caf732
FENCE_URL=https://github.com/uc-cdis/fence
CACHE="${FENCE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fence-bucket-broker/fence-${FENCE_COMMIT:0:8}}"
say() { printf '[test:fence] %s\n' "$*" >&2; }

# The first that runs as 3.13 (a pyenv shim for a version not selected exists but fails).
for candidate in "${PYTHON313:-}" python3.13 "$HOME/.pyenv/versions/3.13.0/bin/python3.13"; do
  if [ -n "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
    PYTHON313=$candidate
    break
  fi
done
[ -n "${PYTHON313:-}" ] || { say "Python 3.13 is required (Fence 13.3.0 asks >=3.13): set PYTHON313"; exit 1; }
mkdir -p "$CACHE"

# --- 1. Fence at the pinned commit ---------------------------------------------------------------
GIT_DIR_OF_FENCE="${FENCE_GIT_DIR:-$CACHE/fence.git}"
if ! git -C "$GIT_DIR_OF_FENCE" cat-file -e "$FENCE_COMMIT^{commit}" 2>/dev/null; then
  [ -z "${FENCE_GIT_DIR:-}" ] || { say "FENCE_GIT_DIR=$FENCE_GIT_DIR does not hold $FENCE_COMMIT"; exit 1; }
  say "cloning $FENCE_URL into $GIT_DIR_OF_FENCE"
  rm -rf "$GIT_DIR_OF_FENCE"
  git clone --quiet --bare --filter=blob:none "$FENCE_URL" "$GIT_DIR_OF_FENCE"
fi
# One source copy per run (removed when it ends), so a second run at the same time patches and
# tests its own copy instead of deleting the one the first is testing.
SRC=$(mktemp -d "$CACHE/src.XXXXXX")
trap 'rm -rf "$SRC"' EXIT
git -C "$GIT_DIR_OF_FENCE" archive "$FENCE_COMMIT" | tar -x -C "$SRC"

# --- 2. The venv, from Fence's lock --------------------------------------------------------------
VENV="$CACHE/venv"
lock_sum=$(cat "$SRC/poetry.lock" lock_requirements.py | sha256sum | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.lock-sha256" 2>/dev/null)" != "$lock_sum" ]; then
  say "building $VENV from Fence's poetry.lock with $("$PYTHON313" --version) (a few minutes the first time)"
  rm -rf "$VENV"
  "$PYTHON313" -m venv "$VENV"
  "$PYTHON313" lock_requirements.py "$SRC/poetry.lock" >"$CACHE/requirements.txt"
  "$VENV/bin/python" -m pip install --quiet --require-hashes --no-deps -r "$CACHE/requirements.txt"
  echo "$lock_sum" >"$VENV/.lock-sha256"
fi
# Our client, as a Fence image would install it; its dependencies (botocore, requests) are Fence's.
"$VENV/bin/python" -m pip install --quiet --no-deps --force-reinstall "$REPO/clients/python" >&2

# --- 3. The patch --------------------------------------------------------------------------------
git -C "$SRC" apply --verbose "$PATCH_DIR/fence-bucket-broker.patch" 2>&1 | sed 's/^/[test:fence] /' >&2
say "Fence $FENCE_COMMIT patched in $SRC"

# --- 4. The tests --------------------------------------------------------------------------------
cd "$REPO"
export FENCE_SOURCE="$SRC" FENCE_PYTHON="$VENV/bin/python"
# Not exec: the trap above removes this run's source copy once jest is done.
npx jest -c jest.fence.config.js "$@"
