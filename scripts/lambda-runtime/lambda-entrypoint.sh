#!/bin/sh
# The image's entrypoint, in two modes.
#
# Server mode, `docker run <image> <handler>`: the RIE in front of the runtime, serving
# POST /2015-03-31/functions/function/invocations on FBB_RIE_HOST:FBB_RIE_PORT (default
# 127.0.0.1:8080), with the Runtime API on FBB_RUNTIME_API_PORT (default 9001). Both are set per
# container, since containers share the host's network.
#
# One-shot mode, `docker run <image> <handler> '<event json>'` (as moto's Lambda backend runs
# it): invoke-once.mjs starts the RIE on free ports with all its output on stderr, posts the event
# once, prints the answer as the last line of stdout and exits non-zero on a function error.
set -e
if [ "$#" -eq 2 ]; then
  exec /var/lang/bin/node /var/runtime/fbb/invoke-once.mjs "$1" "$2"
fi
if [ "$#" -ne 1 ]; then
  echo "usage: <handler> (server mode) | <handler> '<event json>' (one-shot mode)" >&2
  exit 64
fi
exec /usr/local/bin/aws-lambda-rie \
  --runtime-interface-emulator-address "${FBB_RIE_HOST:-127.0.0.1}:${FBB_RIE_PORT:-8080}" \
  --runtime-api-address "127.0.0.1:${FBB_RUNTIME_API_PORT:-9001}" \
  /var/runtime/bootstrap "$1"
