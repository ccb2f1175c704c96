#!/usr/bin/env bash
# Installs what the "deployed" tests need to run the synthesized Lambda bundles in Lambda-like
# Node.js 24 containers (issue [3.2]): Docker, the tools that build the images' base file systems
# without any container registry, and the AWS Lambda Runtime Interface Emulator (RIE).
# `npm run pretest:deployed` runs it. Idempotent: a few seconds when everything is present.
# The images themselves are built (and cached by a hash of their inputs) by
# scripts/lambda-runtime/build-images.sh, which the tests run.
set -euo pipefail

say() { printf '[install-deployed-services] %s\n' "$*"; }

CACHE_DIR="${FBB_LAMBDA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fence-bucket-broker/lambda-runtime}"
mkdir -p "$CACHE_DIR"

# --- Debian packages ----------------------------------------------------------------------------
# docker.io: Debian's Docker 20.10 (no Docker Hub or other registry is reachable, so no upstream
#   packages); the tests start `dockerd` themselves when it is not running (no systemd).
# debootstrap: builds the images' base (a minbase bookworm rootfs, `docker import`ed) from the
#   same Debian mirror apt uses, since no base image can be pulled.
# busybox-static: its static /bin/busybox becomes the local `busybox:latest` image that moto's
#   Lambda backend runs (`docker run busybox sleep …`) and would otherwise pull.
# ca-certificates, xz-utils: debootstrap's https mirrors and the packed Node archive.
PACKAGES=(docker.io debootstrap busybox-static ca-certificates xz-utils)
missing=()
for package in "${PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  say "Debian packages: present (${PACKAGES[*]})"
else
  say "Debian packages: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=""; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- AWS Lambda Runtime Interface Emulator ------------------------------------------------------
# The RIE fronts the runtime interface client in the image, as in AWS's own base images. It is
# built from source through the Go module proxy (no release download, no registry): a static
# binary (CGO_ENABLED=0) so it runs in any base. Pinned to the newest commit the proxy serves
# that has `--runtime-interface-emulator-address` and `--runtime-api-address` (each container
# shares the host network and needs ports of its own).
RIE_MODULE="github.com/aws/aws-lambda-runtime-interface-emulator"
RIE_VERSION="${RIE_VERSION:-v0.0.0-20261030222936-bef5c4ba774d}"
RIE_BIN="$CACHE_DIR/bin/aws-lambda-rie"
installed=""
if [ -x "$RIE_BIN" ]; then
  installed=$(go version -m "$RIE_BIN" 2>/dev/null | awk '$1 == "mod" && $2 == "'"$RIE_MODULE"'" { print $3 }')
fi
if [ "$installed" = "$RIE_VERSION" ]; then
  say "Lambda RIE: present ($RIE_VERSION)"
else
  command -v go >/dev/null || { say "Go is required to build the Lambda RIE (go install)"; exit 1; }
  say "Lambda RIE: building $RIE_MODULE/cmd/aws-lambda-rie@$RIE_VERSION into $CACHE_DIR/bin (~15 s)"
  CGO_ENABLED=0 GOBIN="$CACHE_DIR/bin" GOFLAGS=-mod=mod go install "$RIE_MODULE/cmd/aws-lambda-rie@$RIE_VERSION"
fi

# --- Docker daemon ------------------------------------------------------------------------------
# Not started here: the test harness (test/deployed/services/docker.ts) starts dockerd when it
# is not running and stops it afterwards. Only say whether one answers.
if docker info >/dev/null 2>&1; then
  say "Docker: daemon running"
else
  say "Docker: installed, daemon not running (the tests start it)"
fi
