#!/usr/bin/env bash
# Cross-build run-llm and its tests for aarch64 with Debian's g++-aarch64-linux-gnu
# and run them under qemu-aarch64 (-cpu max: NEON with dotprod and fp16); the
# target's loader and libraries are Debian's arm64 packages (multiarch).
#   bash scripts/cross_aarch64.sh            # configure, build, the whole ctest suite
#   bash scripts/cross_aarch64.sh -R kernels # extra arguments go to ctest
#   bash scripts/cross_aarch64.sh --ci       # the .ci/run stage: every test outside the
#                                            # convert/models labels plus the stories260K
#                                            # conversions; prints what it leaves out
# Libraries for the target come from Debian multiarch (arm64); the header-only
# ones are the host's (cmake/toolchain-aarch64.cmake). Python references run on
# the host; run-llm, started from scripts, goes through the emulator (tests/CMakeLists.txt).
# RLLM_EMULATED=1 (the default here; 0 turns it off) has the encoder tests cut their
# texts to 32 tokens instead of 128 (tests/engine/encoder/encoder_test_util.h).
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
if ((ci)); then
  # The convert and models labels hold the converters' own checks (host Python, run by the
  # native test stage) and the real-model runs (SmolLM2 and Gemma-3 against onnxruntime(-genai),
  # the INT8 encoders over 200 sentence pairs: minutes each emulated, over 28 min together).
  # The stage keeps those that run aarch64 code within a minute, and names the rest.
  keep='^(convert\.gguf_blocks|convert\.hf_families|int8: run-llm quantize --dynamic of paraphrase-MiniLM-L3-v2|int8: every quantized MatMul)'
  left=$(ctest --test-dir "$build_dir" -N -L 'convert|models' | sed -n 's/^ *Test *#[0-9]*: //p' | grep -Ev "$keep")
  echo "cross_aarch64: left out of the CI stage (labels convert/models: host-only converter checks, real-model runs of minutes each under qemu; bash scripts/cross_aarch64.sh runs them):"
  sed 's/^/  /' <<<"$left"
  exclude=$(printf '%s\n' "$left" | sed 's/[][\.*^$()+?{}|]/\\&/g; s/^/^/; s/$/$/' | paste -sd'|')
  # A test without a TIMEOUT of its own gets 600 s: a hang fails the stage instead of stalling CI.
  ctest --test-dir "$build_dir" -j2 --output-on-failure --timeout 600 -E "$exclude" "$@" || status=1
else
  ctest --test-dir "$build_dir" -j2 --output-on-failure "$@" || status=1
fi
end=$(date +%s)
echo "cross_aarch64: packages $((installed - start)) s, configure + build $((built - installed)) s, models + tests $((end - built)) s"
exit $status
