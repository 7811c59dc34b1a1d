// MatMulNBits, accuracy_level 4 on NEON with the dot product extension
// (compiled with -march=armv8.2-a+dotprod, this file only): int8 activations
// (per weight block) x 4/8-bit weights, sdot integer dots, f32 out. A tile is
// MR activation rows x one panel of 8 weight columns: per quad of 4 K values,
// two weight vectors (columns 0-3 and 4-7, unpacked once and shared by the MR
// rows) meet a broadcast of 4 activation bytes per row; sdot leaves one int32
// per column, so block sums need no horizontal reduction. Block scales, zero
// points and activation scales are applied per block in fp32. Layout in
// nbits/nbits_kernel.h; the NEON twin of x86/gemm_q8a_qnb_impl.h.
#include <arm_neon.h>

#include "kernels/nbits/nbits_kernel.h"

namespace rllm::kernels::nbits {
namespace {

// Two int32x4 halves: columns 0-3 and 4-7 of a panel.
struct Cols8 {
  int32x4_t c[2];
};

// 4 activation bytes at p (4-byte aligned: rows are 64-byte aligned, quads 4)
// replicated to the 4 lanes (ld1r).
inline int8x16_t bcast4(const int8_t* p) {
  return vreinterpretq_s8_s32(vld1q_dup_s32(reinterpret_cast<const int32_t*>(p)));
}

// Zero points of the 8 columns at parameter index i (panel, block), minus 128
// for 8-bit (whose values are stored as q - 128).
template <int kBits, ZeroPoints kZp>
inline float32x4x2_t load_zp(const PackedNBits& w, int64_t i) {
  const float32x4_t shift = vdupq_n_f32(kBits == 8 ? 128.0f : 0.0f);
  if constexpr (kZp == ZeroPoints::none) {
    float32x4_t z = vsubq_f32(vdupq_n_f32(float(1 << (kBits - 1))), shift);
    return {z, z};
  } else if constexpr (kZp == ZeroPoints::packed_u8) {
    uint16x8_t z = vmovl_u8(vld1_u8(w.zp_u8() + i));
    return {vsubq_f32(vcvtq_f32_u32(vmovl_u16(vget_low_u16(z))), shift),
            vsubq_f32(vcvtq_f32_u32(vmovl_u16(vget_high_u16(z))), shift)};
  } else {
    return {vsubq_f32(vld1q_f32(w.zp_f32() + i), shift), vsubq_f32(vld1q_f32(w.zp_f32() + i + 4), shift)};
  }
}

// y[0 .. nr) = v (+ bias[0 .. nr)); nr <= 8, nothing read or written past nr.
inline void store_cols(float* y, float32x4_t v0, float32x4_t v1, const float* bias, int nr) {
  if (nr == 8) {
    if (bias) {
      v0 = vaddq_f32(v0, vld1q_f32(bias));
      v1 = vaddq_f32(v1, vld1q_f32(bias + 4));
    }
    vst1q_f32(y, v0);
    vst1q_f32(y + 4, v1);
    return;
  }
  float t[8];
  vst1q_f32(t, v0);
  vst1q_f32(t + 4, v1);
  for (int j = 0; j < nr; ++j) y[j] = t[j] + (bias ? bias[j] : 0.0f);
}

// Chunk sums for bs = 16 go to two accumulators (values 0-15: block 2j,
// values 16-31: block 2j + 1); otherwise to one.
template <int kBits, int kBs, ZeroPoints kZp, int MR>
inline void tile_q8a(const PackedNBits& w, const ActRows& act, int64_t m0, int64_t p, int nr, const float* bias,
                     float* Y, int64_t ldy) {
  const int64_t n_chunks = w.k_padded() / 32, nbp = w.n_blocks_padded();
  const uint8_t* wp = w.panel(p);
  const float* scales = w.scales() + p * nbp * 8;
  const int32x4_t zero = vdupq_n_s32(0);
  const int8_t* a[MR];
  const float* da[MR];
  const float* as[MR];
  float32x4_t acc[MR][2];
  Cols8 isum[MR];  // int32 block sums across chunks (bs > 32)
  for (int m = 0; m < MR; ++m) {
    a[m] = static_cast<const int8_t*>(act.data(m0 + m));
    da[m] = act.da(m0 + m);
    as[m] = act.asum(m0 + m);
    acc[m][0] = acc[m][1] = vdupq_n_f32(0.0f);
    isum[m].c[0] = isum[m].c[1] = zero;
  }
  // acc[m] += (scale * da) * (sums[m] - zp * asum) for block b; for integer
  // zero points the bracket is exact.
  auto block_done = [&](int64_t b, const Cols8* sums) {
    constexpr bool kZeroZp = kBits == 8 && kZp == ZeroPoints::none;  // 128 - 128
    [[maybe_unused]] float32x4x2_t zp;
    if constexpr (!kZeroZp) zp = load_zp<kBits, kZp>(w, (p * nbp + b) * 8);
    for (int h = 0; h < 2; ++h) {
      const float32x4_t s = vld1q_f32(scales + b * 8 + 4 * h);
      for (int m = 0; m < MR; ++m) {
        float32x4_t t = vcvtq_f32_s32(sums[m].c[h]);
        if constexpr (!kZeroZp) t = vfmsq_n_f32(t, zp.val[h], as[m][b]);
        acc[m][h] = vfmaq_f32(acc[m][h], vmulq_n_f32(s, da[m][b]), t);
      }
    }
  };
  const uint8x16_t m4 = vdupq_n_u8(0x0F);
  for (int64_t j = 0; j < n_chunks; ++j) {
    const uint8_t* cw = wp + j * (kBits == 4 ? 128 : 256);
    Cols8 s0[MR], s1[MR];
    for (int m = 0; m < MR; ++m) s0[m].c[0] = s0[m].c[1] = s1[m].c[0] = s1[m].c[1] = zero;
    for (int t = 0; t < 4; ++t) {
      int8x16_t lo[2], hi[2];  // quads t and t + 4 of the chunk, columns 0-3 and 4-7
      for (int h = 0; h < 2; ++h) {
        if constexpr (kBits == 4) {
          uint8x16_t v = vld1q_u8(cw + t * 32 + 16 * h);
          lo[h] = vreinterpretq_s8_u8(vandq_u8(v, m4));
          hi[h] = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
        } else {
          lo[h] = vld1q_s8(reinterpret_cast<const int8_t*>(cw + t * 64 + 16 * h));
          hi[h] = vld1q_s8(reinterpret_cast<const int8_t*>(cw + t * 64 + 32 + 16 * h));
        }
      }
      for (int m = 0; m < MR; ++m) {
        const int8x16_t alo = bcast4(a[m] + j * 32 + 4 * t), ahi = bcast4(a[m] + j * 32 + 16 + 4 * t);
        Cols8& dst_hi = kBs == 16 ? s1[m] : s0[m];
        for (int h = 0; h < 2; ++h) {
          s0[m].c[h] = vdotq_s32(s0[m].c[h], lo[h], alo);
          dst_hi.c[h] = vdotq_s32(dst_hi.c[h], hi[h], ahi);
        }
      }
    }
    if constexpr (kBs == 16) {
      block_done(2 * j, s0);
      block_done(2 * j + 1, s1);
    } else if constexpr (kBs == 32) {
      block_done(j, s0);
    } else {
      constexpr int64_t kCpb = kBs / 32;  // chunks per block
      for (int m = 0; m < MR; ++m)
        for (int h = 0; h < 2; ++h) isum[m].c[h] = vaddq_s32(isum[m].c[h], s0[m].c[h]);
      if ((j + 1) % kCpb == 0) {
        block_done(j / kCpb, isum);
        for (int m = 0; m < MR; ++m) isum[m].c[0] = isum[m].c[1] = zero;
      }
    }
  }
  for (int m = 0; m < MR; ++m)
    store_cols(Y + (m0 + m) * ldy + p * 8, acc[m][0], acc[m][1], bias ? bias + p * 8 : nullptr, nr);
}

template <int kBits, int kBs, ZeroPoints kZp>
void run_q8a(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0, int64_t n1, const float* bias,
             float* Y, int64_t ldy) {
  constexpr int64_t MR = 4;
  for (int64_t n = n0; n < n1; n += 8) {
    const int64_t p = n / 8;
    const int nr = n1 - n < 8 ? int(n1 - n) : 8;
    int64_t m = 0;
    for (; m + MR <= M; m += MR) tile_q8a<kBits, kBs, kZp, MR>(w, act, m, p, nr, bias, Y, ldy);
    switch (M - m) {
      case 3: tile_q8a<kBits, kBs, kZp, 3>(w, act, m, p, nr, bias, Y, ldy); break;
      case 2: tile_q8a<kBits, kBs, kZp, 2>(w, act, m, p, nr, bias, Y, ldy); break;
      case 1: tile_q8a<kBits, kBs, kZp, 1>(w, act, m, p, nr, bias, Y, ldy); break;
      default: break;
    }
  }
}

template <int kBits, int kBs>
NBitsKernelFn pick_zp(ZeroPoints zp) {
  switch (zp) {
    case ZeroPoints::none: return run_q8a<kBits, kBs, ZeroPoints::none>;
    case ZeroPoints::packed_u8: return run_q8a<kBits, kBs, ZeroPoints::packed_u8>;
    case ZeroPoints::typed: return run_q8a<kBits, kBs, ZeroPoints::typed>;
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

void gemm_q8a_qnb_f32_neon_dot(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0, int64_t n1,
                               const float* bias, float* Y, int64_t ldy) {
  NBitsKernelFn fn = w.bits() == 4 ? pick_bs<4>(w.block_size(), w.zp_mode()) : pick_bs<8>(w.block_size(), w.zp_mode());
  fn(w, act, M, n0, n1, bias, Y, ldy);
}

}  // namespace rllm::kernels::nbits
