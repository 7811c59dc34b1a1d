#!/usr/bin/env bash
# cmake --install into a temporary prefix, build examples/ against it through
# find_package (static librunllm.a) and pkg-config (librunllm.so), and run both on
# stories260K: the known continuation of "Once upon a time" (../shared/models/README.md).
# usage: check_install.sh BUILD_DIR SOURCE_DIR MODEL_DIR   (RLLM_EXAMPLE_FLAGS: extra C/link flags;
# cross builds: RLLM_EXAMPLE_TOOLCHAIN, RLLM_EXAMPLE_RUN = the qemu-user command, NM)
set -euo pipefail
build=$1 source=$2 model=$3
flags=${RLLM_EXAMPLE_FLAGS:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
pcdir=$(dirname "$(find "$tmp/prefix" -name runllm.pc)")
so=$(find "$tmp/prefix" -name 'librunllm.so.*.*')

# The shared library exports the C API and nothing else.
others=$("${NM:-nm}" -D --defined-only "$so" | awk '{print $3}' | grep -v '^rllm_' || true)
if [ -n "$others" ]; then
  echo "librunllm.so exports more than rllm_*:"; echo "$others" | head; exit 1
fi

expect=", there was a little girl named Lily. She loved to play outside in the park."
for mode in find_package pkgconfig; do
  args=(-DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="$flags"
        -DCMAKE_EXE_LINKER_FLAGS="$flags")
  [ "$mode" = pkgconfig ] && args+=(-DRUNLLM_PKGCONFIG=ON)
  [ -n "${RLLM_EXAMPLE_TOOLCHAIN:-}" ] && args+=(-DCMAKE_TOOLCHAIN_FILE="$RLLM_EXAMPLE_TOOLCHAIN")
  PKG_CONFIG_PATH="$pcdir" cmake -S "$source/examples" -B "$tmp/$mode" -G Ninja "${args[@]}" >/dev/null
  cmake --build "$tmp/$mode" >/dev/null
  exe="$tmp/$mode/generate"
  run=(${RLLM_EXAMPLE_RUN:-})  # empty, or the emulator and its options
  # not piped into grep -q: an early exit would fail the pipeline
  if ((${#run[@]})); then
    libs=$("${run[@]}" -E LD_TRACE_LOADED_OBJECTS=1 "$exe")  # ldd, by the target's loader (qemu -E: guest env)
  else
    libs=$(ldd "$exe")
  fi
  if [ "$mode" = find_package ] && [[ "$libs" == *librunllm* ]]; then
    echo "find_package: generate should link librunllm.a, not the .so"; exit 1
  fi
  if [ "$mode" = pkgconfig ] && [[ "$libs" != *"$tmp/prefix/"*librunllm.so* ]]; then
    echo "pkgconfig: generate should load the installed librunllm.so:"; echo "$libs"; exit 1
  fi
  out=$("${run[@]}" "$exe" "$model" "Once upon a time" 32)
  if [[ "$out" != "$expect"* ]]; then
    echo "$mode: expected the continuation to start with '$expect', got '$out'"; exit 1
  fi
  echo "$mode: ok"
done
