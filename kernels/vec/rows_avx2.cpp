// Row kernels over xsimd, compiled for AVX2+FMA+F16C (this file only);
// vec/rows.cpp dispatches here or to the scalar twins in ref/rows_ref.cpp.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <xsimd/xsimd.hpp>

#include "kernels/vec/rows_isa.h"

namespace rllm::kernels::avx2 {
namespace {

using arch = xsimd::fma3<xsimd::avx2>;
#include "kernels/vec/rows_xsimd.inc"

void f16_to_f32(const uint16_t* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
  for (; i < n; ++i) y[i] = _cvtsh_ss(x[i]);
}

void f32_to_f16(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

void quantize_row_i8(const float* x, int64_t n, int64_t block, int8_t* q, float* scales) {
  for (int64_t b0 = 0, bi = 0; b0 < n; b0 += block, ++bi) {
    const int64_t len = b0 + block < n ? block : n - b0;
    const float d = absmax(x + b0, len) / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    scales[bi] = d;
    int64_t i = 0;
    for (; i + W <= len; i += W) {
      // cvtps rounds to nearest even, as nearbyint in the scalar twin.
      __m256i v = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + b0 + i), _mm256_set1_ps(id)));
      __m128i p16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(q + b0 + i), _mm_packs_epi16(p16, p16));
    }
    for (; i < len; ++i) q[b0 + i] = int8_t(std::nearbyint(x[b0 + i] * id));
  }
}

}  // namespace rllm::kernels::avx2
