// MatMulNBits, accuracy_level 0 on NEON (base ARMv8-A): f32 activations. A
// panel's weights (8 columns) are dequantized, 256 K values at a time, into an
// f32 tile [256][8] on the stack (each quad transposed to K-major with one
// table lookup); then MR = 8 rows of A run over it, 4 K values per step with
// lane-indexed FMAs. The NEON twin of x86/gemm_f32a_qnb_f32_avx2.cpp.
#include <arm_neon.h>

#include "kernels/nbits/nbits_kernel.h"

namespace rllm::kernels::nbits {
namespace {

constexpr int64_t kKc = 256;  // K values per dequantized tile (a multiple of 32 and of bs)
constexpr int64_t kMr = 8;    // activation rows per register tile

// Zero points of the 8 columns at parameter index i (panel, block), the ONNX values.
template <int kBits, ZeroPoints kZp>
inline float32x4x2_t load_zp(const PackedNBits& w, int64_t i) {
  if constexpr (kZp == ZeroPoints::none) {
    float32x4_t z = vdupq_n_f32(float(1 << (kBits - 1)));
    return {z, z};
  } else if constexpr (kZp == ZeroPoints::packed_u8) {
    uint16x8_t z = vmovl_u8(vld1_u8(w.zp_u8() + i));
    return {vcvtq_f32_u32(vmovl_u16(vget_low_u16(z))), vcvtq_f32_u32(vmovl_u16(vget_high_u16(z)))};
  } else {
    return {vld1q_f32(w.zp_f32() + i), vld1q_f32(w.zp_f32() + i + 4)};
  }
}

// 16 bytes, K-major (4 K values x 4 columns), as 4 f32 vectors (one per K
// value): u8 for 4-bit weights; 8-bit values are stored as q - 128, so s8 + 128.
template <int kBits>
inline void widen16(uint8x16_t q, float32x4_t out[4]) {
  if constexpr (kBits == 8) {
    int8x16_t s = vreinterpretq_s8_u8(q);
    int16x8_t lo = vmovl_s8(vget_low_s8(s)), hi = vmovl_s8(vget_high_s8(s));
    const float32x4_t k128 = vdupq_n_f32(128.0f);
    out[0] = vaddq_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo))), k128);
    out[1] = vaddq_f32(vcvtq_f32_s32(vmovl_s16(vget_high_s16(lo))), k128);
    out[2] = vaddq_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi))), k128);
    out[3] = vaddq_f32(vcvtq_f32_s32(vmovl_s16(vget_high_s16(hi))), k128);
  } else {
    uint16x8_t lo = vmovl_u8(vget_low_u8(q)), hi = vmovl_u8(vget_high_u8(q));
    out[0] = vcvtq_f32_u32(vmovl_u16(vget_low_u16(lo)));
    out[1] = vcvtq_f32_u32(vmovl_u16(vget_high_u16(lo)));
    out[2] = vcvtq_f32_u32(vmovl_u16(vget_low_u16(hi)));
    out[3] = vcvtq_f32_u32(vmovl_u16(vget_high_u16(hi)));
  }
}

// tile[k - k0][c] = W[8p + c][k] for k in [k0, k0 + kc).
template <int kBits, int kBs, ZeroPoints kZp>
void dequant_tile(const PackedNBits& w, int64_t p, int64_t k0, int64_t kc, float* tile) {
  // Column-major quad (byte 4c + i = column c, K value i) -> K-major.
  const uint8x16_t kT = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};
  const uint8x16_t m4 = vdupq_n_u8(0x0F);
  const int64_t nbp = w.n_blocks_padded();
  const float* scales = w.scales() + p * nbp * 8;
  for (int64_t j = k0 / 32; j < (k0 + kc) / 32; ++j) {
    const uint8_t* cw = w.panel(p) + j * w.chunk_bytes();
    for (int t = 0; t < 4; ++t) {
      uint8x16_t v[2][2];  // [quad t / t + 4][columns 0-3 / 4-7]
      for (int g = 0; g < 2; ++g) {
        if constexpr (kBits == 4) {
          uint8x16_t x = vld1q_u8(cw + t * 32 + 16 * g);
          v[0][g] = vandq_u8(x, m4);
          v[1][g] = vshrq_n_u8(x, 4);
        } else {
          v[0][g] = vld1q_u8(cw + t * 64 + 16 * g);
          v[1][g] = vld1q_u8(cw + t * 64 + 32 + 16 * g);
        }
      }
      for (int h = 0; h < 2; ++h) {
        const int64_t k = j * 32 + h * 16 + 4 * t, b = k / kBs;
        const float32x4x2_t zp = load_zp<kBits, kZp>(w, (p * nbp + b) * 8);
        for (int g = 0; g < 2; ++g) {
          const float32x4_t s = vld1q_f32(scales + b * 8 + 4 * g);
          const float32x4_t zs = vmulq_f32(zp.val[g], s);
          float32x4_t q[4];
          widen16<kBits>(vqtbl1q_u8(v[h][g], kT), q);
          for (int i = 0; i < 4; ++i) vst1q_f32(tile + (k - k0 + i) * 8 + 4 * g, vsubq_f32(vmulq_f32(q[i], s), zs));
        }
      }
    }
  }
}

// Y[m0 .. m0+MR, cols] (+)= A[m0 .. m0+MR, k0 .. k0+kc) · tile.
template <int MR>
void tile_dot(const float* tile, int64_t kc, const ActRows& act, int64_t m0, int64_t k0, bool first,
              const float* bias, float* Y, int64_t ldy, int nr) {
  const float* a[MR];
  float32x4_t acc[MR][2];
  for (int m = 0; m < MR; ++m) {
    a[m] = static_cast<const float*>(act.data(m0 + m)) + k0;
    acc[m][0] = acc[m][1] = vdupq_n_f32(0.0f);
  }
  for (int64_t k = 0; k < kc; k += 4) {
    float32x4_t wv[4][2];
    for (int i = 0; i < 4; ++i)
      for (int g = 0; g < 2; ++g) wv[i][g] = vld1q_f32(tile + (k + i) * 8 + 4 * g);
    for (int m = 0; m < MR; ++m) {
      const float32x4_t av = vld1q_f32(a[m] + k);
      for (int g = 0; g < 2; ++g) {
        acc[m][g] = vfmaq_laneq_f32(acc[m][g], wv[0][g], av, 0);
        acc[m][g] = vfmaq_laneq_f32(acc[m][g], wv[1][g], av, 1);
        acc[m][g] = vfmaq_laneq_f32(acc[m][g], wv[2][g], av, 2);
        acc[m][g] = vfmaq_laneq_f32(acc[m][g], wv[3][g], av, 3);
      }
    }
  }
  for (int m = 0; m < MR; ++m) {
    float* y = Y + (m0 + m) * ldy;
    float t[8];
    vst1q_f32(t, acc[m][0]);
    vst1q_f32(t + 4, acc[m][1]);
    for (int c = 0; c < nr; ++c) y[c] = first ? t[c] + (bias ? bias[c] : 0.0f) : y[c] + t[c];
  }
}

template <int kBits, int kBs, ZeroPoints kZp>
void run_f32a(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0, int64_t n1, const float* bias,
              float* Y, int64_t ldy) {
  alignas(16) float tile[kKc * 8];
  for (int64_t n = n0; n < n1; n += 8) {
    const int64_t p = n / 8;
    const int nr = n1 - n < 8 ? int(n1 - n) : 8;
    const float* bp = bias ? bias + n : nullptr;
    for (int64_t k0 = 0; k0 < w.k_padded(); k0 += kKc) {
      const int64_t kc = w.k_padded() - k0 < kKc ? w.k_padded() - k0 : kKc;
      dequant_tile<kBits, kBs, kZp>(w, p, k0, kc, tile);
      const bool first = k0 == 0;
      int64_t m = 0;
      for (; m + kMr <= M; m += kMr) tile_dot<kMr>(tile, kc, act, m, k0, first, bp, Y + n, ldy, nr);
      switch (M - m) {
        case 7: tile_dot<7>(tile, kc, act, m, k0, first, bp, Y + n, ldy, nr); break;
        case 6: tile_dot<6>(tile, kc, act, m, k0, first, bp, Y + n, ldy, nr); break;
        case 5: tile_dot<5>(tile, kc, act, m, k0, first, bp, Y + n, ldy, nr); break;
        case 4: tile_dot<4>(tile, kc, act, m, k0, first, bp, Y + n, ldy, nr); break;
        case 3: tile_dot<3>(tile, kc, act, m, k0, first, bp, Y + n, ldy, nr); break;
        case 2: tile_dot<2>(tile, kc, act, m, k0, first, bp, Y + n, ldy, nr); break;
        case 1: tile_dot<1>(tile, kc, act, m, k0, first, bp, Y + n, ldy, nr); break;
        default: break;
      }
    }
  }
}

template <int kBits, int kBs>
NBitsKernelFn pick_zp(ZeroPoints zp) {
  switch (zp) {
    case ZeroPoints::none: return run_f32a<kBits, kBs, ZeroPoints::none>;
    case ZeroPoints::packed_u8: return run_f32a<kBits, kBs, ZeroPoints::packed_u8>;
    case ZeroPoints::typed: return run_f32a<kBits, kBs, ZeroPoints::typed>;
  }
  return nullptr;
}

template <int kBits>
NBitsKernelFn pick_bs(int bs, ZeroPoints zp) {
  switch (bs) {
    case 16: return pick_zp<kBits, 16>(zp);
    case 32: return pick_zp<kBits, 32>(zp);
    case 64: return pick_zp<kBits, 64>(zp);
    case 128: return pick_zp<kBits, 128>(zp);
    default: return pick_zp<kBits, 256>(zp);
  }
}

}  // namespace

void gemm_f32a_qnb_f32_neon(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0, int64_t n1,
                            const float* bias, float* Y, int64_t ldy) {
  NBitsKernelFn fn = w.bits() == 4 ? pick_bs<4>(w.block_size(), w.zp_mode()) : pick_bs<8>(w.block_size(), w.zp_mode());
  fn(w, act, M, n0, n1, bias, Y, ldy);
}

}  // namespace rllm::kernels::nbits
