// Parity with onnxruntime's MatMulNBits (PyPI onnxruntime, CPU EP) on the same
// inputs, accuracy_level 0 and 4. ort_matmulnbits_golden.py writes the cases.
//
// Tolerances, per output y = sum_k a_k w_k with mag = sum_k |a_k w_k|:
//  level 0: both sides dequantize exactly and accumulate in fp32 in different
//           orders; the worst case is K * eps * mag (K <= 280: 1.7e-5 * mag),
//           so 2e-5 * mag.
//  level 4: both quantize A to int8 per block (scale d = max|a| / 127); if the
//           two roundings of a_k differ they differ by one step d, so
//           |dy| <= sum_k |w_k| * d_k, plus the level-0 float term.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "kernels/kernels.h"

using namespace rllm;
using namespace rllm::kernels;
namespace fs = std::filesystem;

namespace {

template <typename T>
std::vector<T> read_raw(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<T> v(bytes.size() / sizeof(T));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(T));
  return v;
}

}  // namespace

TEST_CASE("MatMulNBits matches onnxruntime at accuracy_level 0 and 4") {
  if (!fs::exists(RLLM_PYTHON)) {
    MESSAGE("skip: no python at " RLLM_PYTHON " (run scripts/setup.sh)");
    return;
  }
  fs::path dir = fs::temp_directory_path() / ("rllm_ort_nbits_" + std::to_string(::getpid()));
  std::string cmd = std::string(RLLM_PYTHON) + " " + RLLM_SOURCE_DIR + "/tests/kernels/ort_matmulnbits_golden.py " +
                    dir.string();
  if (std::system(cmd.c_str()) != 0) {
    MESSAGE("skip: " << cmd << " failed (onnxruntime/onnx/numpy missing?)");
    fs::remove_all(dir);
    return;
  }
  ThreadPool pool(2);
  std::ifstream cases(dir / "cases.txt");
  std::string line;
  int n_cases = 0;
  while (std::getline(cases, line)) {
    std::istringstream in(line);
    std::string name, zp;
    int64_t M, K, N;
    int bits, bs, has_bias;
    in >> name >> M >> K >> N >> bits >> bs >> zp >> has_bias;
    auto file = [&](const char* ext) { return dir / (name + "." + ext); };
    auto A = read_raw<float>(file("A")), scales = read_raw<float>(file("scales")), bias = read_raw<float>(file("bias"));
    auto B = read_raw<uint8_t>(file("B"));
    auto zp_u8 = zp == "packed" ? read_raw<uint8_t>(file("zp")) : std::vector<uint8_t>();
    auto zp_f = zp == "typed" ? read_raw<float>(file("zp")) : std::vector<float>();
    NBitsWeights w;
    w.N = N;
    w.K = K;
    w.bits = bits;
    w.block_size = bs;
    w.b = B.data();
    w.scales = scales.data();
    w.zp = zp == "packed" ? ZeroPoints::packed_u8 : zp == "typed" ? ZeroPoints::typed : ZeroPoints::none;
    w.zero_points = zp == "packed" ? static_cast<const void*>(zp_u8.data()) : zp == "typed" ? zp_f.data() : nullptr;
    std::vector<float> W(static_cast<size_t>(N * K));
    dequantize_nbits(w, W.data());
    for (int level : {0, 4}) {
      auto Yort = read_raw<float>(file(level == 0 ? "Y0" : "Y4"));
      REQUIRE(Yort.size() == size_t(M * N));
      std::vector<float> Y(static_cast<size_t>(M * N));
      PackedNBits p = pack_nbits(w, level);
      matmul_nbits(p, A.data(), M, has_bias ? bias.data() : nullptr, Y.data(), pool);
      double worst = 0;
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          double mag = 0, step = 0;
          for (int64_t k = 0; k < K; ++k) mag += std::fabs(double(A[size_t(m * K + k)]) * W[size_t(n * K + k)]);
          if (level == 4)
            for (int64_t b0 = 0; b0 < K; b0 += bs) {
              double amax = 0, wsum = 0;
              for (int64_t k = b0; k < std::min(K, b0 + bs); ++k) {
                amax = std::max(amax, double(std::fabs(A[size_t(m * K + k)])));
                wsum += std::fabs(W[size_t(n * K + k)]);
              }
              step += wsum * amax / 127;
            }
          double tol = 2e-5 * mag + step + 1e-5;
          double err = std::fabs(double(Y[size_t(m * N + n)]) - Yort[size_t(m * N + n)]);
          worst = std::max(worst, err / tol);
          INFO(name << " level " << level << " m=" << m << " n=" << n);
          CHECK(err <= tol);
        }
      MESSAGE(name << " level " << level << " (" << std::string(isa_name(active_isa())) << "): max |ours - ort| / tolerance = " << worst);
    }
    ++n_cases;
  }
  CHECK(n_cases == 30);
  fs::remove_all(dir);
}
