#!/usr/bin/env bash
# Convert stories260K (../shared/models) into ONNX Runtime GenAI folders
# OUT/stories260K-{fp32,fp16,bf16,int8,int4}. Idempotent: a folder is rebuilt only when it is
# missing or older than the checkpoint, the tokenizer or a converter source.
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$1
python=${RLLM_PYTHON:-$root/.venv/bin/python}
src=$root/../shared/models/stories260K
for f in "$src/stories260K.bin" "$src/tok512.model"; do
  [ -f "$f" ] || { echo "make_test_models: missing $f" >&2; exit 1; }
done
mkdir -p "$out"
deps=("$src/stories260K.bin" "$src/tok512.model" "$root"/scripts/convert/*.py)
for p in fp32 fp16 bf16 int8 int4; do
  dir=$out/stories260K-$p
  stamp=$dir/.converted
  fresh=1
  if [ -f "$stamp" ]; then
    for d in "${deps[@]}"; do
      [ "$d" -nt "$stamp" ] && fresh=0
    done
  else
    fresh=0
  fi
  if ((fresh)); then
    continue
  fi
  echo "make_test_models: writing $dir"
  "$python" "$root/scripts/convert/llama2c_to_ortgenai.py" "$src/stories260K.bin" "$src/tok512.model" "$dir" --precision "$p"
  touch "$stamp"
done
