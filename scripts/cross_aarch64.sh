#!/usr/bin/env bash
# Cross-build run-llm and its tests for aarch64 with Debian's g++-aarch64-linux-gnu
# and run them under qemu-aarch64 (-cpu max: NEON with dotprod and fp16); the
# target's loader and libraries are Debian's arm64 packages (multiarch).
#   bash scripts/cross_aarch64.sh            # configure, build, the whole ctest suite
#   bash scripts/cross_aarch64.sh -R kernels # extra arguments go to ctest
#   bash scripts/cross_aarch64.sh --ci       # the .ci/run stage: the same, 600 s per test at most
# Libraries for the target come from Debian multiarch (arm64); the header-only
# ones are the host's (cmake/toolchain-aarch64.cmake). Python references run on
# the host; run-llm, started from scripts, goes through the emulator (tests/CMakeLists.txt).
# RLLM_EMULATED=1 (the default here; 0 turns it off) sizes the model tests for qemu (tests/emulated.h):
# encoder texts cut to 32 tokens instead of 128, SmolLM2 parity over 8 greedy steps instead of 64,
# Gemma-3 over 8 instead of 32, INT8 similarity over 100 sentence pairs instead of 300 and for
# run-llm's own INT8 form only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build_dir=${RLLM_AARCH64_BUILD_DIR:-build-aarch64}
ci=0
if [ "${1:-}" = --ci ]; then
  ci=1
  shift
fi
export RLLM_EMULATED=${RLLM_EMULATED:-1}

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
start=$(date +%s)
if ((${#missing[@]})); then
  echo "cross_aarch64: installing ${missing[*]}"
  dpkg --print-foreign-architectures | grep -qx arm64 || $sudo_cmd dpkg --add-architecture arm64
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

installed=$(date +%s)
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-aarch64.cmake" -DRLLM_BUILD_BENCH=OFF >/dev/null
cmake --build "$build_dir" -j2
built=$(date +%s)
# The stories260K folders, written by the host's Python (scripts/convert).
bash scripts/convert/make_test_models.sh "$build_dir/models"

status=0
timeout=()
# CI: a test without a TIMEOUT of its own gets 600 s, so a hang fails the stage instead of stalling it.
((ci)) && timeout=(--timeout 600)
ctest --test-dir "$build_dir" -j2 --output-on-failure "${timeout[@]}" "$@" || status=1
end=$(date +%s)
echo "cross_aarch64: packages $((installed - start)) s, configure + build $((built - installed)) s, models + tests $((end - built)) s"
exit $status
