#!/usr/bin/env bash
# Fresh-machine set-up: Debian packages, the Python venv with the reference
# packages, and a Release build. Idempotent: a second run only rebuilds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

apt_packages=(
  build-essential cmake ninja-build ccache pkg-config python3-venv
  libxsimd-dev xtl-dev libdnnl-dev libcpuinfo-dev doctest-dev nlohmann-json3-dev libpcre2-dev
  libicu-dev libonnx-testdata clang libclang-rt-14-dev bible-kjv
)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! cmp -s scripts/requirements.txt .venv/.requirements.installed; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r scripts/requirements.txt
  cp scripts/requirements.txt .venv/.requirements.installed
fi
bash scripts/convert/make_test_models.sh "${RLLM_BUILD_DIR:-build}/models"
bash scripts/fetch_models.sh || echo "setup: continuing without the models listed above (offline?); tests that need them skip"

build_dir=${RLLM_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j2
