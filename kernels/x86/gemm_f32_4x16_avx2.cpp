// Dense fp32 GEMM on AVX2/FMA: a 6x16 register tile (12 ymm accumulators)
// over 16-column B panels [k][16]. The packed path reads PackedDense panels
// (fp32, fp16 widened in registers by F16C, or bf16 widened by a shift); the strided path copies
// 256 x 16 slices of B into a stack panel first.
#include <immintrin.h>

#include "kernels/dense/dense_kernel.h"

namespace rllm::kernels::dense {
namespace {

constexpr int64_t P = PackedDense::kPanel;
constexpr int64_t kKc = 256;
// Rows per tile: 6 x 16 columns = 12 accumulators + 2 weight vectors + 1
// broadcast of the 16 ymm.
constexpr int kMr = 6;

// 8 panel values as fp32.
inline __m256 load8(const float* p) { return _mm256_load_ps(p); }
inline __m256 load8(const uint16_t* p) { return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(p))); }
inline __m256 load8(const Bf16* p) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

// C[0:MR, 0:nr] (+)= A[0:MR, 0:kc] · panel[0:kc, 0:16]
template <int MR, typename T>
void tile(const T* panel, int64_t kc, const float* A, int64_t lda, float* C, int64_t ldc, int64_t nr,
          bool accumulate) {
  __m256 acc[MR][2];
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    __m256 b0 = load8(panel + k * P), b1 = load8(panel + k * P + 8);
    for (int i = 0; i < MR; ++i) {
      __m256 a = _mm256_broadcast_ss(A + i * lda + k);
      acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
    }
  }
  // Through a stack tile: GCC 12 keeps acc in registers only when the loop
  // after the k loop indexes it with constants (else it stores all 8
  // accumulators on every k step).
  alignas(32) float t[MR][P];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    _mm256_store_ps(t[i], acc[i][0]);
    _mm256_store_ps(t[i] + 8, acc[i][1]);
  }
  for (int i = 0; i < MR; ++i) {
    float* c = C + i * ldc;
    if (nr == P) {
      __m256 c0 = _mm256_load_ps(t[i]), c1 = _mm256_load_ps(t[i] + 8);
      if (accumulate) {
        c0 = _mm256_add_ps(c0, _mm256_loadu_ps(c));
        c1 = _mm256_add_ps(c1, _mm256_loadu_ps(c + 8));
      }
      _mm256_storeu_ps(c, c0);
      _mm256_storeu_ps(c + 8, c1);
    } else {
      for (int64_t j = 0; j < nr; ++j) c[j] = accumulate ? c[j] + t[i][j] : t[i][j];
    }
  }
}

template <typename T>
void rows(const T* panel, int64_t kc, const float* A, int64_t lda, int64_t M, float* C, int64_t ldc,
          int64_t nr, bool accumulate) {
  int64_t m = 0;
  for (; m + kMr <= M; m += kMr) tile<kMr, T>(panel, kc, A + m * lda, lda, C + m * ldc, ldc, nr, accumulate);
  switch (M - m) {
    case 5: tile<5, T>(panel, kc, A + m * lda, lda, C + m * ldc, ldc, nr, accumulate); break;
    case 4: tile<4, T>(panel, kc, A + m * lda, lda, C + m * ldc, ldc, nr, accumulate); break;
    case 3: tile<3, T>(panel, kc, A + m * lda, lda, C + m * ldc, ldc, nr, accumulate); break;
    case 2: tile<2, T>(panel, kc, A + m * lda, lda, C + m * ldc, ldc, nr, accumulate); break;
    case 1: tile<1, T>(panel, kc, A + m * lda, lda, C + m * ldc, ldc, nr, accumulate); break;
    default: break;
  }
}

}  // namespace

template <typename T>
void gemm_packed_avx2(const T* panels, int64_t K, int64_t N, int64_t p0, int64_t p1, const float* A, int64_t lda,
                      int64_t M, float* Y, int64_t ldy) {
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t nr = N - p * P < P ? N - p * P : P;
    // K in slices of kKc keeps the 6 x kKc slice of A in L1 across panels.
    for (int64_t k0 = 0; k0 < K; k0 += kKc) {
      const int64_t kc = K - k0 < kKc ? K - k0 : kKc;
      rows(panels + (p * K + k0) * P, kc, A + k0, lda, M, Y + p * P, ldy, nr, k0 > 0);
    }
  }
}

template void gemm_packed_avx2<float>(const float*, int64_t, int64_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                      float*, int64_t);
template void gemm_packed_avx2<uint16_t>(const uint16_t*, int64_t, int64_t, int64_t, int64_t, const float*, int64_t,
                                         int64_t, float*, int64_t);
template void gemm_packed_avx2<Bf16>(const Bf16*, int64_t, int64_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                     float*, int64_t);

void gemm_strided_f32_avx2(const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                           int64_t M, int64_t n0, int64_t n1, int64_t K) {
  gemm_strided_panels<P, kKc, 32>(A, lda, B, ldb, C, ldc, M, n0, n1, K, rows<float>);
}

}  // namespace rllm::kernels::dense
