// AVX2 twins of kernels/int8/quantize_u8.cpp: the same IEEE division and
// round-half-even conversion (vcvtps2dq under the default MXCSR), so the codes
// equal the scalar ones and onnxruntime's MLAS QuantizeLinear.
#include <immintrin.h>

#include "kernels/int8/int8_kernel.h"

namespace rllm::kernels::int8 {

void minmax_with_zero_avx2(const float* x, int64_t n, float* mn, float* mx) {
  // Four independent min and max chains: one chain is bound by the latency
  // of vminps (4 cycles per 8 values).
  __m256 lo[4], hi[4];
  for (int c = 0; c < 4; ++c) lo[c] = hi[c] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int c = 0; c < 4; ++c) {
      const __m256 v = _mm256_loadu_ps(x + i + 8 * c);
      lo[c] = _mm256_min_ps(v, lo[c]);  // a NaN in v yields the second operand
      hi[c] = _mm256_max_ps(v, hi[c]);
    }
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    lo[0] = _mm256_min_ps(v, lo[0]);
    hi[0] = _mm256_max_ps(v, hi[0]);
  }
  alignas(32) float l[32], h[32];
  for (int c = 0; c < 4; ++c) {
    _mm256_store_ps(l + 8 * c, lo[c]);
    _mm256_store_ps(h + 8 * c, hi[c]);
  }
  float a = 0.0f, b = 0.0f;
  for (int j = 0; j < 32; ++j) {
    a = l[j] < a ? l[j] : a;
    b = h[j] > b ? h[j] : b;
  }
  for (; i < n; ++i) {
    a = x[i] < a ? x[i] : a;
    b = x[i] > b ? x[i] : b;
  }
  *mn = a;
  *mx = b;
}

void quantize_u8_avx2(const float* x, int64_t n, float scale, uint8_t zp, uint8_t* q) {
  const __m256 s = _mm256_set1_ps(scale);
  const __m256 vlo = _mm256_set1_ps(0.0f - float(zp)), vhi = _mm256_set1_ps(255.0f - float(zp));
  const __m256i z = _mm256_set1_epi32(zp);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i), s);
    v = _mm256_min_ps(_mm256_max_ps(v, vlo), vhi);
    __m256i c = _mm256_add_epi32(_mm256_cvtps_epi32(v), z);  // 0..255
    __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(c), _mm256_extracti128_si256(c, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(q + i), _mm_packus_epi16(w, w));
  }
  if (i < n) ref::quantize_u8(x + i, n - i, scale, zp, q + i);
}

}  // namespace rllm::kernels::int8
