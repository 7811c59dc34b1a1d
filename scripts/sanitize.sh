#!/usr/bin/env bash
# The test suite built and run under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# -O1 -g1 (line tables): sanitizer reports keep file:line, and the build, which
# is most of this stage (the tests run ~35 s), takes about half of -O2 -g's time.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRLLM_SANITIZE=ON -DRLLM_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" >/dev/null
cmake --build build-asan -j2
bash scripts/convert/make_test_models.sh build-asan/models
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -j2 --output-on-failure -LE "convert|models"
