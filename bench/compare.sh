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

# llama.cpp, the reference: llama-cpp-python built from source for the CPU it is measured on
# (GGML_NATIVE=ON, as issue 8 asks), into .venv only. run-llm itself is built for the
# baseline ISA, each kernel file with its own ISA flags, chosen at run time. The stamp records the version, the flags
# and this CPU's feature list, so a venv carried to another machine (or built with other
# flags) is rebuilt rather than run with instructions that CPU may lack; --no-cache-dir:
# never reuse a wheel compiled on another machine.
# -U__AMX_INT8__: on CPUs with AMX (Sapphire Rapids Xeons) the native flags turn on ggml's AMX
# backend, whose mul_mat segfaults on the first decode (llama.cpp issue 20824, open upstream);
# without the macro ggml runs its AVX-512 VNNI kernels.
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=ON -DCMAKE_C_FLAGS=-U__AMX_INT8__ -DCMAKE_CXX_FLAGS=-U__AMX_INT8__"
stamp="$ROOT/.venv/.llama-cpp-python.build"
want="$LLAMA_CPP_PYTHON $LLAMA_CMAKE_ARGS $(grep -m1 '^flags' /proc/cpuinfo | md5sum | cut -d' ' -f1)"
have=$("$PY" -c 'import llama_cpp; print(llama_cpp.__version__)' 2>/dev/null || true)
if [ "$have" != "$LLAMA_CPP_PYTHON" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "compare: building llama-cpp-python $LLAMA_CPP_PYTHON from source for this CPU (GGML_NATIVE=ON); ~20 min on 2 cores" >&2
  flock "$LOCK" env CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    "$PY" -m pip install --force-reinstall --no-deps --no-binary llama-cpp-python --no-cache-dir \
    "llama-cpp-python==$LLAMA_CPP_PYTHON"
  "$PY" -m pip install -q "llama-cpp-python==$LLAMA_CPP_PYTHON"  # its dependencies, from PyPI
  echo "$want" > "$stamp"
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
