#!/usr/bin/env bash
# Set up (idempotent), build, and run every test through ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
ctest --test-dir "${RLLM_BUILD_DIR:-build}" -j2 --output-on-failure
