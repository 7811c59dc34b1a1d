#!/usr/bin/env bash
# Stripped sizes of run-llm and librunllm.a, full and minimal (RLLM_MINIMAL=ON),
# printed as Markdown table rows for README.md's "Embedding in firmware" section.
# The minimal run-llm is also run on stories260K to show it still works.
#
#   bash scripts/sizes.sh [--toolchain FILE] [--run WRAPPER] [--out DIR]
#
#   --toolchain FILE  a CMake toolchain file (cross builds, e.g. cmake/toolchain-aarch64.cmake)
#   --run WRAPPER     how to run target binaries, e.g. "qemu-aarch64 -L /usr/aarch64-linux-gnu"
#   --out DIR         where the two builds go (default: build-sizes-<toolchain name> or build-sizes-native)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
toolchain="" run="" out=""
while (($#)); do
  case $1 in
    --toolchain) toolchain=$(realpath "$2"); shift 2 ;;
    --run) run=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: scripts/sizes.sh [--toolchain FILE] [--run WRAPPER] [--out DIR]" >&2; exit 2 ;;
  esac
done

configure_args=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DRLLM_BUILD_TESTS=OFF -DRLLM_BUILD_BENCH=OFF)
[ -n "$toolchain" ] && configure_args+=(-DCMAKE_TOOLCHAIN_FILE="$toolchain")
[ -n "$out" ] || out=build-sizes-$([ -n "$toolchain" ] && basename "$toolchain" .cmake || echo native)
# Builds under the shared build lock, giving it up every 4 minutes so other
# builds on the machine get their turn (ninja resumes where it stopped).
build_in_pieces() {
  local rc=124
  while [ "$rc" -eq 124 ]; do
    rc=0
    flock /tmp/build.lock timeout 240 cmake --build "$1" -j2 --target run-llm runllm >/dev/null || rc=$?
  done
  return "$rc"
}
mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }

for kind in full minimal; do
  args=("${configure_args[@]}")
  [ "$kind" = minimal ] && args+=(-DRLLM_MINIMAL=ON) || args+=(-DRLLM_MINIMAL=OFF)
  dir=$out/$kind
  cmake -S . -B "$dir" "${args[@]}" >/dev/null
  build_in_pieces "$dir"
  strip_tool=$(sed -n 's/^CMAKE_STRIP:FILEPATH=//p' "$dir/CMakeCache.txt")
  arch=$(sed -n 's/^set(CMAKE_SYSTEM_PROCESSOR "\(.*\)")$/\1/p' "$dir"/CMakeFiles/*/CMakeSystem.cmake | head -1)
  cp "$dir/engine/run-llm" "$dir/run-llm.stripped"
  cp "$dir/engine/capi/librunllm.a" "$dir/librunllm.stripped.a"
  "$strip_tool" --strip-all "$dir/run-llm.stripped"
  "$strip_tool" --strip-unneeded "$dir/librunllm.stripped.a"
  exe=$(stat -c %s "$dir/run-llm.stripped")
  lib=$(stat -c %s "$dir/librunllm.stripped.a")
  printf '| %s | %s | %s (%d bytes) | %s (%d bytes) |\n' "$arch" "$kind" "$(mib "$exe")" "$exe" "$(mib "$lib")" "$lib"
done

# The minimal binary still generates the known continuation (../shared/models/README.md).
model=build/models/stories260K-fp32
[ -d "$model" ] || bash scripts/convert/make_test_models.sh build/models >/dev/null
text=$($run "$out/minimal/run-llm.stripped" "$model" --prompt "Once upon a time" -n 16)
expect=", there was a little girl named Lily."
if [[ "$text" != "$expect"* ]]; then
  echo "sizes: the minimal run-llm printed '$text', expected '$expect...'" >&2
  exit 1
fi
echo "minimal run-llm on stories260K: ok" >&2
