#!/usr/bin/env bash
# Fuzzes, with libFuzzer, for SECONDS in all (default 60): the ONNX reader
# (tests/fuzz/fuzz_onnx_reader.cpp) half of it, the tokenizer's JSON reader
# (fuzz_json_reader.cpp, seeded from tests/fuzz/json_seeds) a third, the pack
# cache reader (fuzz_pack_cache.cpp, seeded from tests/fuzz/pack_cache_seeds) the rest. Builds build-fuzz with clang; the
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
cmake --build "$build" -j2 --target fuzz_onnx_reader fuzz_pack_cache fuzz_json_reader

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

pack_corpus="$build/corpus-pack-cache" json_corpus="$build/corpus-json"
mkdir -p "$pack_corpus" "$json_corpus"
cp "$root"/tests/fuzz/pack_cache_seeds/* "$pack_corpus"/
cp "$root"/tests/fuzz/json_seeds/* "$json_corpus"/

run() {  # target corpus seconds max_len
  "$build/tests/fuzz/$1" "$2" -max_total_time="$3" -max_len="$4" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" -print_final_stats=1
}
# -max_len covers the largest seed (the tiny llama graph, 36 KB; the pack cache seed, 8 KB).
set +e
run fuzz_onnx_reader "$corpus" $((seconds / 2)) 40000
rc=$?
[ $rc -ne 0 ] || { run fuzz_json_reader "$json_corpus" $((seconds / 3)) 4096; rc=$?; }
[ $rc -ne 0 ] || { run fuzz_pack_cache "$pack_corpus" $((seconds - seconds / 2 - seconds / 3)) 16384; rc=$?; }
set -e
if [ $rc -ne 0 ]; then
  echo "fuzz.sh: the fuzzer failed (exit $rc); reproducer in $artifacts/:" >&2
  ls -t "$artifacts" | head -3 >&2
fi
exit $rc
