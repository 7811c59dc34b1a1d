#!/usr/bin/env bash
# Fuzzes, with libFuzzer, for SECONDS in all (default 60), in these shares:
#   1/3   the ONNX reader (tests/fuzz/fuzz_onnx_reader.cpp), its corpus
#         (build-fuzz/corpus) seeded from the ONNX backend test models and tensors
#         and the tiny ORT GenAI model;
#   1/5   the Jinja chat-template engine (fuzz_chat_template.cpp, seeded with the
#         templates of tests/engine/tokenizer/chat_templates and SmolLM2's, with
#         tests/fuzz/jinja.dict);
#   2/15  each: the tokenizer's JSON reader (fuzz_json_reader.cpp, tests/fuzz/json_seeds)
#         and the pack cache reader (fuzz_pack_cache.cpp, tests/fuzz/pack_cache_seeds);
#   1/10  each: the SentencePiece .model reader (fuzz_sentencepiece.cpp, seeded with
#         stories260K's tok512.model) and encoding arbitrary bytes with SmolLM2's
#         byte-level BPE, the Llama-2 .model and all-MiniLM-L6's WordPiece (those of
#         them present; fuzz_tokenizer_encode.cpp, tests/fuzz/text_seeds).
# Builds build-fuzz with clang; the corpora grow from run to run.
# Exits non-zero on a crash, leaving the reproducer in build-fuzz/artifacts/
# (copy it to tests/fuzz/regressions/ once fixed).
set -euo pipefail
seconds=${1:-60}
[ "$seconds" -ge 15 ] || { echo "fuzz.sh: give at least 15 seconds (each target gets a share)" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-fuzz"
corpus="$build/corpus"
artifacts="$build/artifacts"

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRLLM_FUZZ=ON >/dev/null
cmake --build "$build" -j2 --target fuzz_onnx_reader fuzz_pack_cache fuzz_json_reader fuzz_chat_template \
  fuzz_sentencepiece fuzz_tokenizer_encode

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

pack_corpus="$build/corpus-pack-cache" json_corpus="$build/corpus-json" jinja_corpus="$build/corpus-jinja"
spm_corpus="$build/corpus-sentencepiece" text_corpus="$build/corpus-text"
mkdir -p "$pack_corpus" "$json_corpus" "$jinja_corpus" "$spm_corpus" "$text_corpus"
cp "$root"/tests/fuzz/pack_cache_seeds/* "$pack_corpus"/
cp "$root"/tests/fuzz/json_seeds/* "$json_corpus"/
cp "$root"/tests/engine/tokenizer/chat_templates/*.jinja "$jinja_corpus"/
cp "$root"/tests/fuzz/text_seeds/* "$text_corpus"/
models="$root/../shared/models"
[ ! -f "$models/smollm2-135m-instruct-int4-ortgenai/chat_template.jinja" ] ||
  cp "$models/smollm2-135m-instruct-int4-ortgenai/chat_template.jinja" "$jinja_corpus/smollm2.jinja"
[ ! -f "$models/stories260K/tok512.model" ] || cp "$models/stories260K/tok512.model" "$spm_corpus"/
# Tokenizers for fuzz_tokenizer_encode: those present of the three.
lossless="" lossy=""
for f in "$models/smollm2-135m-instruct-int4-ortgenai/tokenizer.json" "$models/tokenizers/llama2-tokenizer.model"; do
  [ ! -f "$f" ] || lossless="$lossless:$f"
done
f="$HOME/.cache/run-llm/all-minilm-l6-v2/tokenizer.json"
[ ! -f "$f" ] || lossy="$f"
export RLLM_FUZZ_LOSSLESS_TOKENIZERS="$lossless" RLLM_FUZZ_TOKENIZERS="$lossy"

run() {  # target corpus seconds max_len [libFuzzer flags]
  "$build/tests/fuzz/$1" "$2" -max_total_time="$3" -max_len="$4" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "${@:5}"
}
# -max_len covers the largest seed (the tiny llama graph, 36 KB; the pack cache seed,
# 8 KB; tok512.model, 8 KB; the Gemma-3 template, 2 KB).
set +e
rc=0
run_all() {
  run fuzz_onnx_reader "$corpus" $((seconds / 3)) 40000 || return
  run fuzz_chat_template "$jinja_corpus" $((seconds / 5)) 4096 -dict="$root/tests/fuzz/jinja.dict" || return
  run fuzz_json_reader "$json_corpus" $((seconds * 2 / 15)) 4096 || return
  run fuzz_pack_cache "$pack_corpus" $((seconds * 2 / 15)) 16384 || return
  run fuzz_sentencepiece "$spm_corpus" $((seconds / 10)) 16384 || return
  if [ -n "$lossless$lossy" ]; then
    run fuzz_tokenizer_encode "$text_corpus" $((seconds - seconds / 3 - seconds / 5 - seconds * 4 / 15 - seconds / 10)) 1024
  else
    echo "fuzz.sh: no tokenizer files found; fuzz_tokenizer_encode skipped" >&2
  fi
}
run_all
rc=$?
set -e
if [ $rc -ne 0 ]; then
  echo "fuzz.sh: the fuzzer failed (exit $rc); reproducer in $artifacts/:" >&2
  ls -t "$artifacts" | head -3 >&2
fi
exit $rc
