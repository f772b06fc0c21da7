#!/bin/sh
# Image build check: ONNX Runtime and every provider library the installer fetched must load in this
# image — every shared library they link against present (ldd), and every symbol they use defined
# (ldd -r: a library present in an older minor version that lacks a symbol, such as a cuDNN 9 older
# than the one ONNX Runtime was built with, passes plain ldd and fails only on the GPU host). The one
# exception is the NVIDIA driver's libcuda.so.1, which the container toolkit mounts from the host
# when the task starts: its absence, and the driver API symbols (cuInit, cuMemAlloc, … — `cu` and a
# capital) it would define, are expected. And the image's cuDNN must be at least the minimum given.
# Anything else fails the build here, naming it, rather than crash-looping the task on a GPU host.
# usage: check-provider-libraries.sh <folder of onnxruntime-node's linux/x64 binaries> [minimum cuDNN, e.g. 9.17]
# CUDNN_LIBRARY_DIRS (default: Ubuntu's and CUDA's library folders) is where libcudnn.so.9.* is looked for.
set -eu
folder=$1
minimum_cudnn=${2:-}
fail() {
  echo "check-provider-libraries: $*" >&2
  exit 1
}
[ -e "$folder/libonnxruntime_providers_cuda.so" ] || fail "$folder/libonnxruntime_providers_cuda.so is missing: the CUDA provider was not installed"

for library in "$folder"/libonnxruntime.so.* "$folder"/libonnxruntime_providers_*.so; do
  [ -e "$library" ] || continue
  report=$(ldd -r "$library" 2>&1 || true)
  missing=$(echo "$report" | awk '/=> not found/ { print $1 }' | grep -v '^libcuda\.so\.1$' || true)
  [ -z "$missing" ] || fail "$(basename "$library") cannot load in this image; not found: $(echo $missing)"
  undefined=$(echo "$report" | awk '/^undefined symbol: / { print $3 }' | sort -u)
  if echo "$report" | grep -q 'libcuda\.so\.1 => not found'; then undefined=$(echo "$undefined" | grep -v '^cu[A-Z]' || true); fi
  [ -z "$undefined" ] || fail "$(basename "$library") cannot load in this image; undefined symbols: $(echo $undefined) (a library older than the one it was built with?)"
  echo "check-provider-libraries: $(basename "$library") finds every library and symbol it needs (libcuda.so.1 comes from the host's driver)"
done

if [ -n "$minimum_cudnn" ]; then
  found=$(for dir in ${CUDNN_LIBRARY_DIRS:-/usr/lib/x86_64-linux-gnu /usr/local/cuda/lib64}; do ls "$dir" 2>/dev/null; done | sed -n 's/^libcudnn\.so\.\(9\.[0-9][0-9]*\.[0-9][0-9]*\)$/\1/p' | sort -V | tail -n 1)
  [ -n "$found" ] || fail "no cuDNN 9 library (libcudnn.so.9.x.y) in this image; the CUDA provider needs cuDNN $minimum_cudnn or later"
  lowest=$(printf '%s\n%s\n' "$minimum_cudnn" "$found" | sort -V | head -n 1)
  [ "$lowest" = "$minimum_cudnn" ] || fail "the image has cuDNN $found, older than the $minimum_cudnn ONNX Runtime's CUDA provider was built with: pick a newer base image (pipeline/gpu-runtime.ts)"
  echo "check-provider-libraries: cuDNN $found (at least $minimum_cudnn)"
fi
