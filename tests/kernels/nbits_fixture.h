// Random MatMulNBits weights in the ONNX layout, owning their buffers.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/ref/half.h"

namespace rllm::kernels::test {

struct OnnxNBits {
  std::vector<uint8_t> b, zp_u8;
  std::vector<float> scales_f32, zp_f32;
  std::vector<uint16_t> scales_f16, zp_f16;
  NBitsWeights w;

  OnnxNBits(int64_t N, int64_t K, int bits, int bs, ZeroPoints zp, bool f16, uint32_t seed) {
    std::mt19937 rng(seed);
    int64_t nb = (K + bs - 1) / bs;
    b.resize(size_t(N * nb * bs * bits / 8));
    for (auto& v : b) v = uint8_t(rng());
    std::uniform_real_distribution<float> sd(0.001f, 0.05f);
    for (int64_t i = 0; i < N * nb; ++i) {
      float s = sd(rng);
      scales_f32.push_back(s);
      scales_f16.push_back(float_to_half(s));
      float z = float(rng() % (1u << bits)) + (rng() % 4) * 0.25f;  // typed: not always integral
      zp_f32.push_back(z);
      zp_f16.push_back(float_to_half(z));
    }
    int64_t zp_row = bits == 8 ? nb : (nb + 1) / 2;
    zp_u8.resize(size_t(N * zp_row));
    for (auto& v : zp_u8) v = uint8_t(rng());
    w.N = N;
    w.K = K;
    w.bits = bits;
    w.block_size = bs;
    w.b = b.data();
    w.scales_f16 = f16;
    w.scales = f16 ? static_cast<const void*>(scales_f16.data()) : scales_f32.data();
    w.zp = zp;
    w.zero_points = zp == ZeroPoints::packed_u8 ? static_cast<const void*>(zp_u8.data())
                    : zp == ZeroPoints::typed   ? (f16 ? static_cast<const void*>(zp_f16.data()) : zp_f32.data())
                                                : nullptr;
  }
};

inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

}  // namespace rllm::kernels::test
