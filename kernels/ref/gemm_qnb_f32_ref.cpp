// Scalar twins of the MatMulNBits micro-kernels (layout in nbits_kernel.h).
#include "kernels/nbits/nbits_kernel.h"

namespace rllm::kernels::nbits {
namespace {

template <bool kInt8>
void gemm_ref(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0, int64_t n1,
              const float* bias, float* Y, int64_t ldy) {
  const int64_t bs = w.block_size(), nb = w.n_blocks();
  // The q8a kernels' value domain: 8-bit values and zero points shifted by -128.
  const int shift = w.bits() == 8 ? 128 : 0;
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = n0; n < n1; ++n) {
      float y = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        const float scale = packed_scale(w, n, b), zp = packed_zp(w, n, b);
        if constexpr (kInt8) {
          const int8_t* q = static_cast<const int8_t*>(act.data(m));
          int32_t dot = 0;
          for (int64_t k = b * bs; k < (b + 1) * bs; ++k) dot += int32_t(q[k]) * (packed_q(w, n, k) - shift);
          y += act.da(m)[b] * scale * (float(dot) - (zp - float(shift)) * act.asum(m)[b]);
        } else {
          const float* x = static_cast<const float*>(act.data(m));
          for (int64_t k = b * bs; k < (b + 1) * bs; ++k) y += x[k] * ((float(packed_q(w, n, k)) - zp) * scale);
        }
      }
      Y[m * ldy + n] = y + (bias ? bias[n] : 0.0f);
    }
  }
}

}  // namespace

void gemm_q8a_qnb_f32_ref(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0,
                          int64_t n1, const float* bias, float* Y, int64_t ldy) {
  gemm_ref<true>(w, act, M, n0, n1, bias, Y, ldy);
}

void gemm_f32a_qnb_f32_ref(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0,
                           int64_t n1, const float* bias, float* Y, int64_t ldy) {
  gemm_ref<false>(w, act, M, n0, n1, bias, Y, ldy);
}

}  // namespace rllm::kernels::nbits
