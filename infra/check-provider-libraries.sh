#!/bin/sh
# Image build check: every ONNX Runtime provider library the installer fetched must find the
# shared libraries it links against inside the image. The one exception is the NVIDIA driver's
# libcuda.so.1, which the container toolkit mounts from the host when the task starts. A missing
# library (a CUDA or cuDNN major the base image does not have) fails the build here, naming it,
# rather than crash-looping the task on a GPU host.
# usage: check-provider-libraries.sh <folder of onnxruntime-node's linux/x64 binaries>
set -eu
folder=$1
if [ ! -e "$folder/libonnxruntime_providers_cuda.so" ]; then
  echo "check-provider-libraries: $folder/libonnxruntime_providers_cuda.so is missing: the CUDA provider was not installed" >&2
  exit 1
fi
for library in "$folder"/libonnxruntime_providers_*.so; do
  missing=$(ldd "$library" | awk '/=> not found/ { print $1 }' | grep -v '^libcuda\.so\.1$' || true)
  if [ -n "$missing" ]; then
    echo "check-provider-libraries: $(basename "$library") cannot load in this image; not found: $(echo $missing)" >&2
    exit 1
  fi
  echo "check-provider-libraries: $(basename "$library") finds every library it needs (libcuda.so.1 comes from the host's driver)"
done
