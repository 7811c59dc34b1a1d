// Dense fp32 GEMM on AVX-512 (fp32, fp16 or bf16 weight panels, fp16 widened by
// vcvtph2ps, bf16 by a shift): 8 rows x 32 columns (two adjacent 16-column B
// panels, 16 zmm accumulators: one broadcast of A feeds two FMAs) on the
// packed path, 8 x 16 on a lone last panel and on the strided path, which
// copies 256 x 16 slices of B into a stack panel first. Partial columns are
// stored with masks.
#include <immintrin.h>

#include "kernels/dense/dense_kernel.h"

namespace rllm::kernels::dense {
namespace {

constexpr int64_t P = PackedDense::kPanel;
constexpr int64_t kKc = 256;

// 16 panel values as fp32. (The all-ones masks: GCC 12's unmasked
// _mm512_cvtph_ps, _mm512_cvtepu16_epi32 and _mm512_slli_epi32 pass an
// undefined vector that -Wuninitialized reports; the masked forms compile to
// the same instructions.)
inline __m512 load16(const float* p) { return _mm512_load_ps(p); }
inline __m512 load16(const uint16_t* p) {
  return _mm512_maskz_cvtph_ps(__mmask16(0xffff), _mm256_load_si256(reinterpret_cast<const __m256i*>(p)));
}
inline __m512 load16(const Bf16* p) {
  const __mmask16 all(0xffff);
  const __m512i w = _mm512_maskz_cvtepu16_epi32(all, _mm256_load_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(all, w, 16));
}

// C[0:MR, 0:nr] (+)= A[0:MR, 0:kc] · [panel j = panel + j * pstride][0:kc, 0:16] for j < NP, nr <= NP * 16.
template <int MR, int NP, typename T>
void tile(const T* panel, int64_t pstride, int64_t kc, const float* A, int64_t lda, float* C, int64_t ldc,
          int64_t nr, bool accumulate) {
  __m512 acc[MR][NP];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    __m512 b[NP];
#pragma GCC unroll 2
    for (int j = 0; j < NP; ++j) b[j] = load16(panel + j * pstride + k * P);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512 a = _mm512_set1_ps(A[i * lda + k]);
#pragma GCC unroll 2
      for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_fmadd_ps(a, b[j], acc[i][j]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int j = 0; j < NP; ++j) {
      const int64_t cols = nr - j * P;
      if (cols <= 0) continue;
      const __mmask16 m = cols >= P ? __mmask16(0xffff) : __mmask16((1u << cols) - 1);
      float* c = C + i * ldc + j * P;
      __m512 v = acc[i][j];
      if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, c));
      _mm512_mask_storeu_ps(c, m, v);
    }
}

template <int NP, typename T>
void rows(const T* panel, int64_t pstride, int64_t kc, const float* A, int64_t lda, int64_t M, float* C,
          int64_t ldc, int64_t nr, bool accumulate) {
  int64_t m = 0;
  for (; m + 8 <= M; m += 8) tile<8, NP, T>(panel, pstride, kc, A + m * lda, lda, C + m * ldc, ldc, nr, accumulate);
  const float* a = A + m * lda;
  float* c = C + m * ldc;
  switch (M - m) {
    case 7: tile<7, NP, T>(panel, pstride, kc, a, lda, c, ldc, nr, accumulate); break;
    case 6: tile<6, NP, T>(panel, pstride, kc, a, lda, c, ldc, nr, accumulate); break;
    case 5: tile<5, NP, T>(panel, pstride, kc, a, lda, c, ldc, nr, accumulate); break;
    case 4: tile<4, NP, T>(panel, pstride, kc, a, lda, c, ldc, nr, accumulate); break;
    case 3: tile<3, NP, T>(panel, pstride, kc, a, lda, c, ldc, nr, accumulate); break;
    case 2: tile<2, NP, T>(panel, pstride, kc, a, lda, c, ldc, nr, accumulate); break;
    case 1: tile<1, NP, T>(panel, pstride, kc, a, lda, c, ldc, nr, accumulate); break;
    default: break;
  }
}

}  // namespace

template <typename T>
void gemm_packed_avx512(const T* panels, int64_t K, int64_t N, int64_t p0, int64_t p1, const float* A, int64_t lda,
                        int64_t M, float* Y, int64_t ldy) {
  for (int64_t p = p0; p < p1;) {
    const int64_t np = p + 1 < p1 ? 2 : 1;
    const int64_t nr = N - p * P < np * P ? N - p * P : np * P;
    // K in slices of kKc keeps the 8 x kKc slice of A in L1 across panels.
    for (int64_t k0 = 0; k0 < K; k0 += kKc) {
      const int64_t kc = K - k0 < kKc ? K - k0 : kKc;
      const T* panel = panels + (p * K + k0) * P;
      if (np == 2) rows<2>(panel, K * P, kc, A + k0, lda, M, Y + p * P, ldy, nr, k0 > 0);
      else rows<1>(panel, K * P, kc, A + k0, lda, M, Y + p * P, ldy, nr, k0 > 0);
    }
    p += np;
  }
}

template void gemm_packed_avx512<float>(const float*, int64_t, int64_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                        float*, int64_t);
template void gemm_packed_avx512<uint16_t>(const uint16_t*, int64_t, int64_t, int64_t, int64_t, const float*, int64_t,
                                           int64_t, float*, int64_t);
template void gemm_packed_avx512<Bf16>(const Bf16*, int64_t, int64_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                     float*, int64_t);

void gemm_strided_f32_avx512(const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                             int64_t M, int64_t n0, int64_t n1, int64_t K) {
  gemm_strided_panels<P, kKc, 64>(A, lda, B, ldb, C, ldc, M, n0, n1, K,
                                  [](const float* panel, int64_t kc, const float* a, int64_t lda_, int64_t m, float* c,
                                     int64_t ldc_, int64_t nr, bool acc) { rows<1, float>(panel, 0, kc, a, lda_, m, c, ldc_, nr, acc); });
}

}  // namespace rllm::kernels::dense
