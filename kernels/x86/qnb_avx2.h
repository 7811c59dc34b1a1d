// AVX2 building blocks shared by the MatMulNBits kernels (layout in
// nbits/nbits_kernel.h). Include only from files compiled with AVX2/FMA/F16C
// (or a superset). Everything here has internal linkage: files compiled with
// different ISA flags must not share (ODR-merge) one copy of an inline function.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/nbits/nbits_kernel.h"

namespace rllm::kernels::nbits {
namespace {

// 32 weight values of chunk c of a packed row: u8 0..15 (4-bit) or s8 q-128 (8-bit).
template <int kBits>
inline __m256i load_w(const uint8_t* row, int64_t c) {
  if constexpr (kBits == 4) {
    __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + c * 16));
    __m256i v = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
  } else {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + c * 32));
  }
}

// acc + 8 int32 partial sums of w · a over 32 values (lane j sums values
// 4j..4j+3), with vpmaddubsw + vpmaddwd.
struct DotAvx2 {
  template <int kBits>
  static __m256i dot_acc(__m256i acc, __m256i w, const int8_t* a) {
    __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
    __m256i p;
    if constexpr (kBits == 4) {
      p = _mm256_maddubs_epi16(w, av);  // u4 * s8 pairs: |sum| <= 2 * 15 * 128, no saturation
    } else {
      // maddubs needs an unsigned operand: |w| (128 for -128 is right as u8)
      // times a with w's sign; |a| <= 127 keeps pair sums <= 2 * 128 * 127.
      p = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(av, w));
    }
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
  }
};

// Sums within each 128-bit lane of 8 vectors -> [v0..v3 | v4..v7] totals.
inline __m256i reduce8(const __m256i v[8]) {
  __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
  __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
  return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

// Block sums of slot group g (8 slots) for one row of weights and one row of
// int8 activations. GetW(c) returns the weight chunk c as load_w does.
template <int kBits, int kBs, typename Dot, typename GetW>
inline __m256i group_sums(GetW get_w, const int8_t* a, int64_t g, int64_t n_chunks) {
  if constexpr (kBs == 16) {
    // One chunk = two blocks (one per 128-bit lane); 4 chunks per group and
    // the hadd tree leaves them in slot order.
    __m256i c4[4];
    for (int i = 0; i < 4; ++i) {
      int64_t c = g * 4 + i;
      c4[i] = c < n_chunks ? Dot::template dot_acc<kBits>(_mm256_setzero_si256(), get_w(c), a + c * 32)
                            : _mm256_setzero_si256();
    }
    return _mm256_hadd_epi32(_mm256_hadd_epi32(c4[0], c4[1]), _mm256_hadd_epi32(c4[2], c4[3]));
  } else {
    constexpr int kCpb = kBs / 32;  // chunks per block
    __m256i v[8];
    for (int i = 0; i < 8; ++i) {
      int64_t c0 = (g * 8 + i) * kCpb;
      if (c0 >= n_chunks) {
        v[i] = _mm256_setzero_si256();
        continue;
      }
      __m256i s = _mm256_setzero_si256();
      for (int c = 0; c < kCpb; ++c) s = Dot::template dot_acc<kBits>(s, get_w(c0 + c), a + (c0 + c) * 32);
      v[i] = s;
    }
    return reduce8(v);
  }
}

// Effective zero points of slots [s, s+8) in the kernels' value domain.
template <int kBits, ZeroPoints kZp>
inline __m256 load_zp(const PackedNBits& w, int64_t s) {
  const float shift = kBits == 8 ? 128.0f : 0.0f;
  if constexpr (kZp == ZeroPoints::none) {
    return _mm256_set1_ps(float(1 << (kBits - 1)) - shift);
  } else if constexpr (kZp == ZeroPoints::packed_u8) {
    __m128i z = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(w.zp_u8() + s));
    return _mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(z)), _mm256_set1_ps(shift));
  } else {
    return _mm256_sub_ps(_mm256_loadu_ps(w.zp_f32() + s), _mm256_set1_ps(shift));
  }
}

// acc += scale * da * (sums - zp * asum) for the 8 slots at s (row) / slot (act).
template <int kBits, ZeroPoints kZp>
inline __m256 epilogue(const PackedNBits& w, int64_t s, const float* da, const float* asum,
                       __m256 sums, __m256 acc) {
  __m256 t = _mm256_fnmadd_ps(load_zp<kBits, kZp>(w, s), _mm256_loadu_ps(asum), sums);
  __m256 sd = _mm256_mul_ps(_mm256_loadu_ps(w.scales() + s), _mm256_loadu_ps(da));
  return _mm256_fmadd_ps(sd, t, acc);
}

// Weight chunks covered by one group of 8 slots.
template <int kBs>
constexpr int64_t chunks_per_group() {
  return kBs == 16 ? 4 : 8 * kBs / 32;
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace
}  // namespace rllm::kernels::nbits
