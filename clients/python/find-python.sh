#!/usr/bin/env bash
# Prints the path of a CPython of one minor version (e.g. `find-python.sh 3.9`): `python3.9` on
# PATH, else the newest pyenv build of it ($PYENV_ROOT/versions/3.9.*). A candidate counts only if
# it runs and says it is that version, since a pyenv shim on PATH answers for versions it lacks.
# Without one it fails (exit 3) naming the version and the command that installs it.
set -euo pipefail

version=${1:?usage: find-python.sh <major.minor, e.g. 3.9>}
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}

is_version() {
  [ -x "$1" ] && [ "$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$version" ]
}

candidates=()
on_path=$(command -v "python$version" || true)
[ -n "$on_path" ] && candidates+=("$on_path")
# Newest patch release first; free-threaded builds (3.13.0t) are a different ABI, not the claim.
while IFS= read -r dir; do
  candidates+=("$dir/bin/python$version")
done < <(find "$pyenv_root/versions" -mindepth 1 -maxdepth 1 -name "$version.*" ! -name '*t' 2>/dev/null | sort -rV)

for python in "${candidates[@]}"; do
  if is_version "$python"; then
    echo "$python"
    exit 0
  fi
done
echo "Python $version not found (no python$version on PATH, none in $pyenv_root/versions): install it with \`pyenv install $version\`" >&2
exit 3
