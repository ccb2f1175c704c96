#!/usr/bin/env bash
# Schema fuzzing of the API reference: schemathesis reads the openapi.json the local runner serves
# and sends it requests the document allows and requests it forbids, on every presign and admin
# route. It fails on a forbidden request the handlers accept, an allowed one they refuse (beyond
# the refusals the document lists), a 5xx, or an answer the document does not describe.
#
# Deterministic and bounded (scripts/fuzz-openapi/schemathesis.toml): the same requests every run.
# The runner and the fuzzer run in a network namespace of their own with only loopback, so no
# endpoint the fuzzer writes into a registration is ever reached outside this machine (and one
# that is not loopback answers as unreachable, as the document says it may). Needs root (or
# unprivileged user namespaces) for `unshare`, and iproute2's `ip`.
#
# The fuzzer lives in a venv under the cache directory, created from the hashed lock on first use
# (and again when the lock changes). Extra arguments go to `st run` (e.g. `--max-examples 200`).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
HERE="$ROOT/scripts/fuzz-openapi"
say() { printf '[fuzz-openapi] %s\n' "$*" >&2; }

if [ "${FBB_FUZZ_INSIDE:-}" != "1" ]; then
  # --- outside: the venv (needs the package registry), then the namespace ----------------------
  PYTHON="${PYTHON:-python3}"
  VENV="${FUZZ_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/fence-bucket-broker/schemathesis-venv}"
  lock_sum=$(sha256sum "$HERE/requirements.lock" | cut -d' ' -f1)
  if [ ! -x "$VENV/bin/st" ] || [ "$(cat "$VENV/.lock-sha256" 2>/dev/null)" != "$lock_sum" ]; then
    say "creating $VENV with $("$PYTHON" --version) from scripts/fuzz-openapi/requirements.lock"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --require-hashes --no-deps -r "$HERE/requirements.lock" >&2
    echo "$lock_sum" >"$VENV/.lock-sha256"
  fi
  command -v unshare >/dev/null || { say "unshare (util-linux) is required: the fuzz run gets a network namespace of its own"; exit 2; }
  command -v ip >/dev/null || { say "ip (iproute2) is required to bring up loopback in the fuzz run's namespace"; exit 2; }
  unshare_flags=(--net)
  [ "$(id -u)" -eq 0 ] || unshare_flags=(--net --map-root-user)
  exec env FBB_FUZZ_INSIDE=1 FUZZ_VENV="$VENV" unshare "${unshare_flags[@]}" bash "$0" "$@"
fi

# --- inside the namespace: loopback, the runner on demo fixtures, the fuzzer -------------------
ip link set lo up
DATA="$(mktemp -d "${TMPDIR:-/tmp}/fbb-fuzz-XXXXXX")"
LOG="$DATA/runner.log"
cleanup() {
  [ -n "${RUNNER_PID:-}" ] && kill "$RUNNER_PID" 2>/dev/null && wait "$RUNNER_PID" 2>/dev/null
  rm -rf "$DATA"
}
trap cleanup EXIT
cd "$ROOT"
# The embedded demo store (no MinIO needed), any free port for the runner and the store.
FENCE_LOCAL_DIR="$DATA/local" FENCE_DEMO_STORE=embedded FENCE_DEMO_STORE_PORT=0 PORT=0 \
  "$ROOT/node_modules/.bin/tsx" bin/local.ts >"$LOG" 2>&1 &
RUNNER_PID=$!
url=""
for _ in $(seq 1 600); do
  url=$(grep -o 'presign API on http://[0-9.:]*' "$LOG" | head -1 | sed 's/presign API on //') || true
  [ -n "$url" ] && break
  kill -0 "$RUNNER_PID" 2>/dev/null || { say "the local runner stopped:"; cat "$LOG" >&2; exit 2; }
  sleep 0.1
done
[ -n "$url" ] || { say "the local runner did not start within 60 s:"; cat "$LOG" >&2; exit 2; }
say "fuzzing $url/openapi.json"
# In the temporary directory: schemathesis keeps caches in its working directory.
cd "$DATA"
FBB_FUZZ_HOOKS="$HERE/state_refusals.py" \
  "$FUZZ_VENV/bin/st" --config-file "$HERE/schemathesis.toml" run "$url/openapi.json" --no-color "$@"
