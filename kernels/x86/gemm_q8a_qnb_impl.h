// The q8a MatMulNBits kernel body, generic over the integer dot (DotAvx2,
// DotVnni): GEMV (M = 1) streams each weight row once; GEMM unpacks a group
// of weight chunks once and reuses it for up to 32 activation rows.
// Internal linkage, as qnb_avx2.h explains.
#pragma once

#include "kernels/x86/qnb_avx2.h"

namespace rllm::kernels::nbits {
namespace {

constexpr int64_t kRowsPerPass = 32;  // activation rows sharing one unpacked weight group

template <typename Dot, int kBits, int kBs, ZeroPoints kZp>
void run_q8a(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0, int64_t n1,
         const float* bias, float* Y, int64_t ldy) {
  const int64_t n_chunks = w.k_padded() / 32, n_groups = w.n_slots() / 8, ns = w.n_slots();
  if (M == 1) {
    // x [1, K] · Wᵀ [K, n1 - n0] -> Y[0, n0:n1]
    const int8_t* a = static_cast<const int8_t*>(act.data(0));
    for (int64_t n = n0; n < n1; ++n) {
      const uint8_t* row = w.weights() + n * w.row_bytes();
      auto get_w = [row](int64_t c) { return load_w<kBits>(row, c); };
      __m256 acc = _mm256_setzero_ps();
      for (int64_t g = 0; g < n_groups; ++g) {
        __m256 sums = _mm256_cvtepi32_ps(group_sums<kBits, kBs, Dot>(get_w, a, g, n_chunks));
        acc = epilogue<kBits, kZp>(w, n * ns + g * 8, act.da(0) + g * 8, act.asum(0) + g * 8, sums, acc);
      }
      Y[n] = hsum(acc) + (bias ? bias[n] : 0.0f);
    }
    return;
  }
  constexpr int64_t kCpg = chunks_per_group<kBs>();
  alignas(32) uint8_t buf[kCpg * 32] = {};  // one group of unpacked 4-bit chunks
  __m256 acc[kRowsPerPass];
  for (int64_t m0 = 0; m0 < M; m0 += kRowsPerPass) {
    const int64_t mb = M - m0 < kRowsPerPass ? M - m0 : kRowsPerPass;
    for (int64_t n = n0; n < n1; ++n) {
      const uint8_t* row = w.weights() + n * w.row_bytes();
      for (int64_t m = 0; m < mb; ++m) acc[m] = _mm256_setzero_ps();
      for (int64_t g = 0; g < n_groups; ++g) {
        const int64_t cbase = g * kCpg;
        if constexpr (kBits == 4)
          for (int64_t c = cbase; c < cbase + kCpg && c < n_chunks; ++c)
            _mm256_store_si256(reinterpret_cast<__m256i*>(buf + (c - cbase) * 32), load_w<4>(row, c));
        auto get_w = [&](int64_t c) {
          if constexpr (kBits == 4) return _mm256_load_si256(reinterpret_cast<const __m256i*>(buf + (c - cbase) * 32));
          else return load_w<8>(row, c);
        };
        for (int64_t m = 0; m < mb; ++m) {
          const int8_t* a = static_cast<const int8_t*>(act.data(m0 + m));
          __m256 sums = _mm256_cvtepi32_ps(group_sums<kBits, kBs, Dot>(get_w, a, g, n_chunks));
          acc[m] = epilogue<kBits, kZp>(w, n * ns + g * 8, act.da(m0 + m) + g * 8, act.asum(m0 + m) + g * 8,
                                        sums, acc[m]);
        }
      }
      for (int64_t m = 0; m < mb; ++m) Y[(m0 + m) * ldy + n] = hsum(acc[m]) + (bias ? bias[n] : 0.0f);
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
