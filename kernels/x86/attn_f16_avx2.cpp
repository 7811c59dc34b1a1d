// Decode attention over an f16 KV cache, AVX2+FMA+F16C (this file only): the
// cached rows are widened in registers (vcvtph2ps) as they are read, so the
// cache is read once at half the bytes of f32 and never copied.
#include <immintrin.h>

#include <algorithm>

#include "kernels/attn_f16.h"

namespace rllm::kernels::avx2 {
namespace {

constexpr int64_t W = 8;

__m256 load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// GN query heads against two keys at once: 2·GN independent fma chains, each
// key chunk widened once for all heads.
template <int GN>
void scores_tile(const float* q, const uint16_t* k, int64_t n, int64_t hd, float scale, float* scores, int64_t lds) {
  const int64_t full = hd / W * W;
  auto finish = [&](__m256 acc, int g, const uint16_t* kj) {
    float s = hsum(acc);
    for (int64_t i = full; i < hd; ++i) s += q[g * hd + i] * _cvtsh_ss(kj[i]);
    return s * scale;
  };
  int64_t j = 0;
  for (; j + 2 <= n; j += 2) {
    const uint16_t* k0 = k + j * hd;
    const uint16_t* k1 = k0 + hd;
    __m256 a0[GN], a1[GN];
    for (int g = 0; g < GN; ++g) a0[g] = a1[g] = _mm256_setzero_ps();
    for (int64_t i = 0; i < full; i += W) {
      const __m256 x0 = load_f16(k0 + i), x1 = load_f16(k1 + i);
      for (int g = 0; g < GN; ++g) {
        const __m256 qv = _mm256_loadu_ps(q + g * hd + i);
        a0[g] = _mm256_fmadd_ps(qv, x0, a0[g]);
        a1[g] = _mm256_fmadd_ps(qv, x1, a1[g]);
      }
    }
    for (int g = 0; g < GN; ++g) {
      scores[g * lds + j] = finish(a0[g], g, k0);
      scores[g * lds + j + 1] = finish(a1[g], g, k1);
    }
  }
  for (; j < n; ++j) {
    const uint16_t* kj = k + j * hd;
    __m256 a[GN];
    for (int g = 0; g < GN; ++g) a[g] = _mm256_setzero_ps();
    for (int64_t i = 0; i < full; i += W) {
      const __m256 x = load_f16(kj + i);
      for (int g = 0; g < GN; ++g) a[g] = _mm256_fmadd_ps(_mm256_loadu_ps(q + g * hd + i), x, a[g]);
    }
    for (int g = 0; g < GN; ++g) scores[g * lds + j] = finish(a[g], g, kj);
  }
}

// GN heads over CT chunks of W columns: GN·CT accumulators held across the
// n rows, each value chunk widened once for all heads.
template <int GN, int CT>
int64_t accumulate_cols(const float* p, int64_t ldp, const uint16_t* v, int64_t n, int64_t hd, float* y, int64_t i) {
  for (; i + CT * W <= hd; i += CT * W) {
    __m256 acc[GN][CT];
    for (int g = 0; g < GN; ++g)
      for (int c = 0; c < CT; ++c) acc[g][c] = _mm256_loadu_ps(y + g * hd + i + c * W);
    for (int64_t j = 0; j < n; ++j) {
      __m256 x[CT];
      for (int c = 0; c < CT; ++c) x[c] = load_f16(v + j * hd + i + c * W);
      for (int g = 0; g < GN; ++g) {
        const __m256 pg = _mm256_set1_ps(p[g * ldp + j]);
        for (int c = 0; c < CT; ++c) acc[g][c] = _mm256_fmadd_ps(pg, x[c], acc[g][c]);
      }
    }
    for (int g = 0; g < GN; ++g)
      for (int c = 0; c < CT; ++c) _mm256_storeu_ps(y + g * hd + i + c * W, acc[g][c]);
  }
  return i;
}

template <int GN>
void accumulate_tile(const float* p, int64_t ldp, const uint16_t* v, int64_t n, int64_t hd, float* y) {
  // GN·CT + CT <= 16 ymm registers.
  constexpr int CT = GN == 1 ? 6 : GN == 2 ? 4 : 2;
  int64_t i = accumulate_cols<GN, CT>(p, ldp, v, n, hd, y, 0);
  i = accumulate_cols<GN, 1>(p, ldp, v, n, hd, y, i);
  for (; i < hd; ++i)
    for (int g = 0; g < GN; ++g)
      for (int64_t j = 0; j < n; ++j) y[g * hd + i] += p[g * ldp + j] * _cvtsh_ss(v[j * hd + i]);
}

}  // namespace

void attn_scores_f16(const float* q, int64_t ng, const uint16_t* k, int64_t n, int64_t hd, float scale, float* scores,
                     int64_t lds) {
  for (int64_t g = 0; g < ng; g += 4) {
    const float* qg = q + g * hd;
    float* sg = scores + g * lds;
    switch (std::min<int64_t>(4, ng - g)) {
      case 4: scores_tile<4>(qg, k, n, hd, scale, sg, lds); break;
      case 3: scores_tile<3>(qg, k, n, hd, scale, sg, lds); break;
      case 2: scores_tile<2>(qg, k, n, hd, scale, sg, lds); break;
      default: scores_tile<1>(qg, k, n, hd, scale, sg, lds); break;
    }
  }
}

void attn_accumulate_f16(const float* p, int64_t ldp, int64_t ng, const uint16_t* v, int64_t n, int64_t hd, float* y) {
  for (int64_t g = 0; g < ng; g += 4) {
    const float* pg = p + g * ldp;
    float* yg = y + g * hd;
    switch (std::min<int64_t>(4, ng - g)) {
      case 4: accumulate_tile<4>(pg, ldp, v, n, hd, yg); break;
      case 3: accumulate_tile<3>(pg, ldp, v, n, hd, yg); break;
      case 2: accumulate_tile<2>(pg, ldp, v, n, hd, yg); break;
      default: accumulate_tile<1>(pg, ldp, v, n, hd, yg); break;
    }
  }
}

}  // namespace rllm::kernels::avx2
