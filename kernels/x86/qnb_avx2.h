// AVX2 building blocks shared by the MatMulNBits kernels (layout in
// nbits/nbits_kernel.h). Include only from files compiled with AVX2/FMA/F16C
// (or a superset). Everything here has internal linkage: files compiled with
// different ISA flags must not share (ODR-merge) one copy of an inline function.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/nbits/nbits_kernel.h"

namespace rllm::kernels::nbits {
namespace {

// 4 bytes at p broadcast to the 8 lanes. vbroadcastss is a pure load on AMD
// Zen (vpbroadcastd from memory also takes a shuffle-port slot there).
inline __m256i bcast4(const int8_t* p) {
  float v;
  std::memcpy(&v, p, 4);
  return _mm256_castps_si256(_mm256_set1_ps(v));
}

// Weights of quad t (h = 0) or quad t + 4 (h = 1) of a 32-value chunk, for the
// panel's 8 columns, as 32 unsigned bytes: 4-bit chunks are 128 bytes of nibble
// pairs (low nibble = first half), 8-bit chunks 256 bytes.
template <int kBits>
inline __m256i load_quads(const uint8_t* cw, int t, int h) {
  if constexpr (kBits == 4) {
    __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(cw + t * 32));
    if (h == 1) v = _mm256_srli_epi16(v, 4);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
  } else {
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(cw + t * 64 + h * 32));
  }
}

// Zero points of the 8 columns at parameter index i (panel, block), as the
// kernels use them: minus 128 for 8-bit values read as stored (q - 128);
// kUnsigned8: 8-bit values turned back into q by the kernel, zp as given.
template <int kBits, ZeroPoints kZp, bool kUnsigned8 = false>
inline __m256 load_zp(const PackedNBits& w, int64_t i) {
  constexpr float kShift = kBits == 8 && !kUnsigned8 ? 128.0f : 0.0f;
  if constexpr (kZp == ZeroPoints::none) {
    return _mm256_set1_ps(float(1 << (kBits - 1)) - kShift);
  } else if constexpr (kZp == ZeroPoints::packed_u8) {
    __m128i z = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(w.zp_u8() + i));
    return _mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(z)), _mm256_set1_ps(kShift));
  } else {
    return _mm256_sub_ps(_mm256_loadu_ps(w.zp_f32() + i), _mm256_set1_ps(kShift));
  }
}

// y[0 .. nr) = v (+ bias[0 .. nr)); nr <= 8, nothing read or written past nr.
inline void store_cols(float* y, __m256 v, const float* bias, int nr) {
  if (nr == 8) {
    if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias));
    _mm256_storeu_ps(y, v);
    return;
  }
  alignas(32) float t[8];
  _mm256_store_ps(t, v);
  for (int j = 0; j < nr; ++j) y[j] = t[j] + (bias ? bias[j] : 0.0f);
}

}  // namespace
}  // namespace rllm::kernels::nbits
