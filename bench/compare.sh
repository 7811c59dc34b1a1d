#!/usr/bin/env bash
# bench/compare.sh [compare.py options]: run-llm vs onnxruntime-genai vs
# llama.cpp on the same weights, in one session. See bench/README.md.
# Takes /tmp/build.lock itself (install, build, benchmark): do not wrap it in flock.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY="$ROOT/.venv/bin/python"
LOCK=${RLLM_BUILD_LOCK:-/tmp/build.lock}
LLAMA_CPP_PYTHON=0.3.36
MATPLOTLIB=3.10.8

[ -x "$PY" ] || { echo "compare: no venv at $ROOT/.venv; run scripts/setup.sh first" >&2; exit 1; }

# llama.cpp: llama-cpp-python built from source for this CPU, on first use.
# --no-cache-dir: never reuse a wheel compiled natively on another machine.
# -U__AMX_INT8__: on CPUs with AMX (Sapphire Rapids Xeons) -march=native turns on ggml's AMX
# backend, whose mul_mat segfaults on the first decode (llama.cpp issue 20824, open upstream);
# without the macro ggml runs its AVX-512 VNNI kernels.
have=$("$PY" -c 'import llama_cpp; print(llama_cpp.__version__)' 2>/dev/null || true)
if [ "$have" != "$LLAMA_CPP_PYTHON" ]; then
  echo "compare: building llama-cpp-python $LLAMA_CPP_PYTHON from source (GGML_NATIVE=ON); ~20 min on 2 cores" >&2
  flock "$LOCK" env CMAKE_ARGS="-DGGML_NATIVE=ON -DCMAKE_C_FLAGS=-U__AMX_INT8__ -DCMAKE_CXX_FLAGS=-U__AMX_INT8__" \
    CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    "$PY" -m pip install --no-binary llama-cpp-python --no-cache-dir "llama-cpp-python==$LLAMA_CPP_PYTHON"
fi
"$PY" -c 'import matplotlib' 2>/dev/null || "$PY" -m pip install "matplotlib==$MATPLOTLIB"

# Gemma-3 for onnxruntime-genai: the cache's ortgenai-int4 carries Q4_K with float zero points,
# which sends onnxruntime to a slow MatMulNBits path (4.9 vs 16.4 tok/s), so both engines also
# run a folder requantized as the GenAI builder writes it (symmetric int4, block 32).
models=${RUNLLM_MODELS:-$HOME/.cache/run-llm}
gemma=$models/gemma-3-270m/gemma-3-270m-q4_k_m.gguf
requant=$models/gemma-3-270m/ortgenai-int4-requant
if [ -f "$gemma" ] && [ ! -f "$requant/.converted" ]; then
  echo "compare: converting $gemma to $requant" >&2
  "$PY" "$ROOT/scripts/convert/gguf_to_ortgenai.py" "$gemma" "$requant" --precision int4 --requantize
  touch "$requant/.converted"
fi

[ -f "$ROOT/build/build.ninja" ] || flock "$LOCK" cmake -S "$ROOT" -B "$ROOT/build" -G Ninja
flock "$LOCK" cmake --build "$ROOT/build" -j2 --target run-llm

flock "$LOCK" "$PY" "$ROOT/bench/compare/compare.py" --command "bench/compare.sh${*:+ $*}" "$@"
