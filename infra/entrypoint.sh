#!/bin/sh
# The worker image's entry point: the queue worker, as ECS runs it (no arguments); `gpu-check` to
# prove the GPU once by hand (`docker run --rm --gpus all <image> gpu-check`); anything else runs as given.
set -eu
case "${1:-}" in
  '') exec node dist/functions/worker/main.js ;;
  gpu-check) shift; exec node dist/cli/main.js gpu-check "$@" ;;
  *) exec "$@" ;;
esac
