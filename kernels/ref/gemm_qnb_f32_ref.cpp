// Scalar twins of the MatMulNBits micro-kernels (layout in nbits_kernel.h).
#include "kernels/nbits/nbits_kernel.h"

namespace rllm::kernels::nbits {
namespace {

// Value k of a packed row, as the kernels see it: 0..15 (4-bit) or q - 128 (8-bit).
int packed_q(const uint8_t* row, int bits, int64_t k) {
  if (bits == 8) return int8_t(row[k]);
  int64_t chunk = k / 32, j = k % 32;
  return j < 16 ? row[chunk * 16 + j] & 0x0F : row[chunk * 16 + j - 16] >> 4;
}

// Effective zero point in the kernels' value domain.
float zero_point(const PackedNBits& w, int64_t s) {
  float shift = w.bits() == 8 ? 128.0f : 0.0f;
  switch (w.zp_mode()) {
    case ZeroPoints::none: return float(1 << (w.bits() - 1)) - shift;
    case ZeroPoints::packed_u8: return float(w.zp_u8()[s]) - shift;
    case ZeroPoints::typed: return w.zp_f32()[s] - shift;
  }
  return 0.0f;
}

template <bool kInt8>
void gemm_ref(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0, int64_t n1,
              const float* bias, float* Y, int64_t ldy) {
  const int64_t bs = w.block_size(), nb = w.n_blocks();
  for (int64_t m = 0; m < M; ++m) {
    const float* da = act.da(m);
    const float* asum = act.asum(m);
    for (int64_t n = n0; n < n1; ++n) {
      const uint8_t* row = w.weights() + n * w.row_bytes();
      float y = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        int64_t slot = slot_of_block(b, int(bs));
        int64_t s = n * w.n_slots() + slot;
        float dotb;
        if constexpr (kInt8) {
          const int8_t* q = static_cast<const int8_t*>(act.data(m));
          int32_t acc = 0;
          for (int64_t k = b * bs; k < (b + 1) * bs; ++k) acc += int32_t(q[k]) * packed_q(row, w.bits(), k);
          dotb = float(acc);
        } else {
          const float* x = static_cast<const float*>(act.data(m));
          dotb = 0.0f;
          for (int64_t k = b * bs; k < (b + 1) * bs; ++k) dotb += x[k] * float(packed_q(row, w.bits(), k));
        }
        y += w.scales()[s] * da[slot] * (dotb - zero_point(w, s) * asum[slot]);
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
