#!/usr/bin/env bash
# Fuzzes the ONNX reader (tests/fuzz/fuzz_onnx_reader.cpp) with libFuzzer for
# SECONDS (default 60), in one process. Builds build-fuzz with clang; the
# corpus (build-fuzz/corpus) is seeded from the ONNX backend test models and
# tensors and the tiny ORT GenAI model, and grows from run to run.
# Exits non-zero on a crash, leaving the reproducer in build-fuzz/artifacts/
# (copy it to tests/fuzz/regressions/ once fixed).
set -euo pipefail
seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-fuzz"
corpus="$build/corpus"
artifacts="$build/artifacts"

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRLLM_FUZZ=ON >/dev/null
cmake --build "$build" -j2 --target fuzz_onnx_reader

mkdir -p "$corpus" "$artifacts"
seed() {  # name each seed by its content, so re-seeding adds nothing twice
  for f in "$@"; do
    [ -f "$f" ] && cp "$f" "$corpus/seed-$(sha1sum "$f" | cut -c1-16)"
  done
  return 0
}
testdata=/usr/share/libonnx-testdata/data
if [ -d "$testdata" ]; then
  mapfile -t models < <(find "$testdata" -name model.onnx)
  mapfile -t tensors < <(find "$testdata" -name '*.pb' -size -4k)
  seed "${models[@]}" "${tensors[@]}"
fi
seed "$root/../shared/models/ortgenai-tiny-random-llama-fp16/model.onnx"
seed "$root"/tests/fuzz/regressions/*

# -max_len covers the largest seed (the tiny llama graph, 36 KB).
set +e
"$build/tests/fuzz/fuzz_onnx_reader" "$corpus" \
  -max_total_time="$seconds" -max_len=40000 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$artifacts/" -print_final_stats=1
rc=$?
set -e
if [ $rc -ne 0 ]; then
  echo "fuzz.sh: the fuzzer failed (exit $rc); reproducer in $artifacts/:" >&2
  ls -t "$artifacts" | head -3 >&2
fi
exit $rc
