#!/usr/bin/env bash
# Cross-build run-llm and its tests for aarch64 with Debian's g++-aarch64-linux-gnu
# and run them under qemu-aarch64 (-cpu max: NEON with dotprod and fp16); the
# target's loader and libraries are Debian's arm64 packages (multiarch).
#   bash scripts/cross_aarch64.sh            # configure, build, the whole ctest suite
#   bash scripts/cross_aarch64.sh -R kernels # extra arguments go to ctest
# Libraries for the target come from Debian multiarch (arm64); the header-only
# ones are the host's (cmake/toolchain-aarch64.cmake). Python references run on
# the host; run-llm, started from scripts, goes through the emulator (tests/CMakeLists.txt).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build_dir=${RLLM_AARCH64_BUILD_DIR:-build-aarch64}

sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
host_packages=(g++-aarch64-linux-gnu qemu-user)
# libcpuinfo-dev:arm64 is left out: it cannot be co-installed with the host's
# (both ship /usr/lib/cmake/cpuinfo), and aarch64 detects features with getauxval.
target_packages=(libc6:arm64 libstdc++6:arm64 libpcre2-dev:arm64 libicu-dev:arm64)
missing=()
for p in "${host_packages[@]}" "${target_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "cross_aarch64: installing ${missing[*]}"
  dpkg --print-foreign-architectures | grep -qx arm64 || $sudo_cmd dpkg --add-architecture arm64
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

start=$(date +%s)
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-aarch64.cmake" -DRLLM_BUILD_BENCH=OFF >/dev/null
cmake --build "$build_dir" -j2
built=$(date +%s)
# The stories260K folders, written by the host's Python (scripts/convert).
bash scripts/convert/make_test_models.sh "$build_dir/models"
ctest --test-dir "$build_dir" -j2 --output-on-failure "$@"
end=$(date +%s)
echo "cross_aarch64: build $((built - start)) s, models + tests $((end - built)) s"
