// The q8a MatMulNBits kernel body, generic over the integer dot (DotAvx2,
// DotVnni). A tile is MR activation rows x one panel of 8 weight columns:
// per quad of 4 K values, one weight vector (unpacked once, shared by the MR
// rows) meets MR broadcasts of 4 activation bytes; the 8 lanes are the 8
// columns, so block sums need no horizontal reduction. Block scales, zero
// points and activation scales are applied per block in fp32.
// Internal linkage, as qnb_avx2.h explains.
#pragma once

#include <algorithm>

#include "kernels/x86/qnb_avx2.h"

namespace rllm::kernels::nbits {
namespace {

// vpmaddubsw (u8 x s8 -> pairwise int16) + vpmaddwd, on ymm0-15.
struct DotAvx2 {
  static constexpr int kRegs = 16;
  // 4-bit: u4 x s8 pair sums are <= 2 * 15 * 127 = 3810 in magnitude, so the
  // 8 quads of a 32-value chunk add up in int16 (<= 30480), widened once.
  static __m256i quad4(__m256i acc, __m256i w, __m256i a) {
    return _mm256_add_epi16(acc, _mm256_maddubs_epi16(w, a));
  }
  static __m256i widen4(__m256i acc) { return _mm256_madd_epi16(acc, _mm256_set1_epi16(1)); }
  // 8-bit: s8 x s8 as |w| x (a with w's sign); a pair sum (<= 2 * 128 * 127)
  // fits int16 once, so it is widened every quad. The values stay q - 128.
  static constexpr bool kUnsigned8 = false;
  struct W8 {
    __m256i abs, sign;
  };
  static W8 prep8(__m256i v) { return {_mm256_abs_epi8(v), v}; }
  static __m256i quad8(__m256i acc, const W8& w, __m256i a) {
    __m256i p = _mm256_maddubs_epi16(w.abs, _mm256_sign_epi8(a, w.sign));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
  }
  // Keeps v in a register at this point of the instruction stream: the integer
  // dot chains must stay sequential, or GCC's reassociation turns each into a
  // tree whose products are all live at once and spills them.
  static void pin(__m256i& v) { __asm__("" : "+x"(v)); }
};

// Rows per tile. The f32 output sums stay in memory (see tile_q8a), so
// registers hold the integer chunk sums: with 16 ymm, 8 rows for blocks of
// 32 (8 chunk sums + weight, broadcast, nibble mask and temporaries), 4 where
// a tile carries a second set (bs 16: two blocks per chunk; bs > 32: int32
// block sums across chunks); with 32 (AVX-512VL), 12 and 8.
template <typename Dot, int kBs>
constexpr int kMr = Dot::kRegs == 32 ? (kBs == 32 ? 12 : 8) : (kBs == 32 ? 8 : 4);

// Chunk sums for bs = 16 go to two accumulators (values 0-15: block 2j,
// values 16-31: block 2j + 1); otherwise to one.
template <typename Dot, int kBits, int kBs, ZeroPoints kZp, int MR>
inline void tile_q8a(const PackedNBits& w, const ActRows& act, int64_t m0, int64_t p, int nr,
                     const float* bias, float* Y, int64_t ldy) {
  const int64_t n_chunks = w.k_padded() / 32, nbp = w.n_blocks_padded();
  const uint8_t* wp = w.panel(p);
  const float* scales = w.scales() + p * nbp * 8;
  const int8_t* a[MR];
  const float* da[MR];
  const float* as[MR];
  // acc [MR][8]: the f32 sums, read and written once per block through a
  // pointer the compiler cannot follow across chunks, so it does not keep
  // them in registers (GCC spilled the integer chains instead).
  alignas(32) float acc_buf[MR * 8];
  float* acc = acc_buf;
  __m256i isum[MR];  // int32 block sums across chunks (bs > 32)
  for (int m = 0; m < MR; ++m) {
    a[m] = static_cast<const int8_t*>(act.data(m0 + m));
    da[m] = act.da(m0 + m);
    as[m] = act.asum(m0 + m);
    _mm256_store_ps(acc + m * 8, _mm256_setzero_ps());
    isum[m] = _mm256_setzero_si256();
  }
  // acc[m] += (scale * da) * (sums[m] - zp * asum) for block b: for integer
  // zero points the bracket is exact, so each block adds what onnxruntime's
  // int8 path adds (its block scale is scale_a * scale_b).
  auto block_done = [&](int64_t b, const __m256i* sums) {
    const __m256 s = _mm256_loadu_ps(scales + b * 8);
    // Signed 8-bit values without zero points: 128 - 128.
    constexpr bool kZeroZp = kBits == 8 && kZp == ZeroPoints::none && !Dot::kUnsigned8;
    [[maybe_unused]] __m256 zp;
    if constexpr (!kZeroZp) zp = load_zp<kBits, kZp, Dot::kUnsigned8>(w, (p * nbp + b) * 8);
    for (int m = 0; m < MR; ++m) {
      __m256 t = _mm256_cvtepi32_ps(sums[m]);
      if constexpr (!kZeroZp) t = _mm256_fnmadd_ps(zp, _mm256_broadcast_ss(as[m] + b), t);
      const __m256 sum = _mm256_fmadd_ps(_mm256_mul_ps(s, _mm256_broadcast_ss(da[m] + b)), t, _mm256_load_ps(acc + m * 8));
      _mm256_store_ps(acc + m * 8, sum);
    }
  };
  for (int64_t j = 0; j < n_chunks; ++j) {
    __asm__ volatile("" : "+r"(acc));
    const uint8_t* cw = wp + j * (kBits == 4 ? 128 : 256);
    __m256i s0[MR], s1[MR];
    for (int m = 0; m < MR; ++m) s0[m] = s1[m] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int t = 0; t < 4; ++t) {
      // Quad t (values 4t..) then quad t + 4 (values 16 + 4t..) of the chunk.
      for (int h = 0; h < 2; ++h) {
        const __m256i v = load_quads<kBits>(cw, t, h);
        [[maybe_unused]] typename Dot::W8 v8;
        if constexpr (kBits == 8) v8 = Dot::prep8(v);
        for (int m = 0; m < MR; ++m) {
          const __m256i x = bcast4(a[m] + j * 32 + h * 16 + 4 * t);
          __m256i& dst = kBs == 16 && h == 1 ? s1[m] : s0[m];
          if constexpr (kBits == 4) dst = Dot::quad4(dst, v, x);
          else dst = Dot::quad8(dst, v8, x);
          Dot::pin(dst);
        }
      }
    }
    if constexpr (kBits == 4)
      for (int m = 0; m < MR; ++m) {
        s0[m] = Dot::widen4(s0[m]);
        if constexpr (kBs == 16) s1[m] = Dot::widen4(s1[m]);
      }
    if constexpr (kBs == 16) {
      block_done(2 * j, s0);
      block_done(2 * j + 1, s1);
    } else if constexpr (kBs == 32) {
      block_done(j, s0);
    } else {
      constexpr int64_t kCpb = kBs / 32;  // chunks per block
      for (int m = 0; m < MR; ++m) isum[m] = _mm256_add_epi32(isum[m], s0[m]);
      if ((j + 1) % kCpb == 0) {
        block_done(j / kCpb, isum);
        for (int m = 0; m < MR; ++m) isum[m] = _mm256_setzero_si256();
      }
    }
  }
  for (int m = 0; m < MR; ++m)
    store_cols(Y + (m0 + m) * ldy + p * 8, _mm256_load_ps(acc + m * 8), bias ? bias + p * 8 : nullptr, nr);
}

// Rows [m0, m1) x one panel, in tiles of MR rows and one tail tile.
template <typename Dot, int kBits, int kBs, ZeroPoints kZp, int MR>
void rows_q8a(const PackedNBits& w, const ActRows& act, int64_t m0, int64_t m1, int64_t p, int nr,
              const float* bias, float* Y, int64_t ldy) {
  int64_t m = m0;
  for (; m + MR <= m1; m += MR) tile_q8a<Dot, kBits, kBs, kZp, MR>(w, act, m, p, nr, bias, Y, ldy);
  if constexpr (MR > 1)
    if (m < m1) {
      if (m1 - m == MR - 1) tile_q8a<Dot, kBits, kBs, kZp, MR - 1>(w, act, m, p, nr, bias, Y, ldy);
      else rows_q8a<Dot, kBits, kBs, kZp, MR - 1>(w, act, m, m1, p, nr, bias, Y, ldy);
    }
}

// Rows go in blocks whose activations (~128 KB) stay in L2 while every panel
// of [n0, n1) passes over them; a panel (8 columns x K) stays in L1 across the
// block's tiles.
template <typename Dot, int kBits, int kBs, ZeroPoints kZp>
void run_q8a(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0, int64_t n1,
             const float* bias, float* Y, int64_t ldy) {
  constexpr int64_t MR = kMr<Dot, kBs>, kActBlockBytes = 128 << 10;
  const int64_t mb = std::max<int64_t>(1, kActBlockBytes / act.stride / MR) * MR;
  for (int64_t mb0 = 0; mb0 < M; mb0 += mb) {
    const int64_t mb1 = std::min(M, mb0 + mb);
    for (int64_t n = n0; n < n1; n += 8) {
      const int nr = n1 - n < 8 ? int(n1 - n) : 8;
      rows_q8a<Dot, kBits, kBs, kZp, MR>(w, act, mb0, mb1, n / 8, nr, bias, Y, ldy);
    }
  }
}

template <typename Dot, int kBits, int kBs>
NBitsKernelFn pick_zp(ZeroPoints zp) {
  switch (zp) {
    case ZeroPoints::none: return run_q8a<Dot, kBits, kBs, ZeroPoints::none>;
    case ZeroPoints::packed_u8: return run_q8a<Dot, kBits, kBs, ZeroPoints::packed_u8>;
    case ZeroPoints::typed: return run_q8a<Dot, kBits, kBs, ZeroPoints::typed>;
  }
  return nullptr;
}

template <typename Dot, int kBits>
NBitsKernelFn pick_bs(int bs, ZeroPoints zp) {
  switch (bs) {
    case 16: return pick_zp<Dot, kBits, 16>(zp);
    case 32: return pick_zp<Dot, kBits, 32>(zp);
    case 64: return pick_zp<Dot, kBits, 64>(zp);
    case 128: return pick_zp<Dot, kBits, 128>(zp);
    default: return pick_zp<Dot, kBits, 256>(zp);
  }
}

// The kernel for w's bits, block size and zero points.
template <typename Dot>
NBitsKernelFn pick_q8a(const PackedNBits& w) {
  return w.bits() == 4 ? pick_bs<Dot, 4>(w.block_size(), w.zp_mode()) : pick_bs<Dot, 8>(w.block_size(), w.zp_mode());
}

}  // namespace
}  // namespace rllm::kernels::nbits
