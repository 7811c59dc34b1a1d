#!/usr/bin/env bash
# The test suite built and run under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRLLM_SANITIZE=ON -DRLLM_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j2
bash scripts/convert/make_test_models.sh build-asan/models
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -j2 --output-on-failure -LE "convert|models"
