// Dense fp32 GEMM on NEON (base ARMv8-A): a 4x16 register tile (16 q
// accumulators of the 32) over 16-column B panels [k][16]. The packed path
// reads PackedDense panels (fp32, fp16 widened by fcvtl, or bf16 by a shift); the strided path copies 256 x 16 slices of B into a
// stack panel first. The NEON twin of x86/gemm_f32_4x16_avx2.cpp.
#include <arm_neon.h>

#include "kernels/dense/dense_kernel.h"

namespace rllm::kernels::dense {
namespace {

constexpr int64_t P = PackedDense::kPanel;
constexpr int64_t kKc = 256;

// 4 panel values as fp32.
inline float32x4_t load4(const float* p) { return vld1q_f32(p); }
inline float32x4_t load4(const uint16_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
inline float32x4_t load4(const Bf16* p) {
  return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p)), 16));
}

// C[0:MR, 0:nr] (+)= A[0:MR, 0:kc] · panel[0:kc, 0:16]
template <int MR, typename T>
void tile(const T* panel, int64_t kc, const float* A, int64_t lda, float* C, int64_t ldc, int64_t nr,
          bool accumulate) {
  float32x4_t acc[MR][4];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < 4; ++j) acc[i][j] = vdupq_n_f32(0.0f);
  for (int64_t k = 0; k < kc; ++k) {
    float32x4_t b[4];
    for (int j = 0; j < 4; ++j) b[j] = load4(panel + k * P + 4 * j);
    for (int i = 0; i < MR; ++i) {
      const float a = A[i * lda + k];
      for (int j = 0; j < 4; ++j) acc[i][j] = vfmaq_n_f32(acc[i][j], b[j], a);
    }
  }
  for (int i = 0; i < MR; ++i) {
    float* c = C + i * ldc;
    if (nr == P) {
      for (int j = 0; j < 4; ++j) {
        if (accumulate) acc[i][j] = vaddq_f32(acc[i][j], vld1q_f32(c + 4 * j));
        vst1q_f32(c + 4 * j, acc[i][j]);
      }
    } else {
      float t[P];
      for (int j = 0; j < 4; ++j) vst1q_f32(t + 4 * j, acc[i][j]);
      for (int64_t j = 0; j < nr; ++j) c[j] = accumulate ? c[j] + t[j] : t[j];
    }
  }
}

template <typename T>
void rows(const T* panel, int64_t kc, const float* A, int64_t lda, int64_t M, float* C, int64_t ldc, int64_t nr,
          bool accumulate) {
  int64_t m = 0;
  for (; m + 4 <= M; m += 4) tile<4, T>(panel, kc, A + m * lda, lda, C + m * ldc, ldc, nr, accumulate);
  switch (M - m) {
    case 3: tile<3, T>(panel, kc, A + m * lda, lda, C + m * ldc, ldc, nr, accumulate); break;
    case 2: tile<2, T>(panel, kc, A + m * lda, lda, C + m * ldc, ldc, nr, accumulate); break;
    case 1: tile<1, T>(panel, kc, A + m * lda, lda, C + m * ldc, ldc, nr, accumulate); break;
    default: break;
  }
}

}  // namespace

template <typename T>
void gemm_packed_neon(const T* panels, int64_t K, int64_t N, int64_t p0, int64_t p1, const float* A, int64_t lda,
                      int64_t M, float* Y, int64_t ldy) {
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t nr = N - p * P < P ? N - p * P : P;
    // K in slices of kKc keeps the 4 x kKc slice of A in L1 across panels.
    for (int64_t k0 = 0; k0 < K; k0 += kKc) {
      const int64_t kc = K - k0 < kKc ? K - k0 : kKc;
      rows(panels + (p * K + k0) * P, kc, A + k0, lda, M, Y + p * P, ldy, nr, k0 > 0);
    }
  }
}

template void gemm_packed_neon<float>(const float*, int64_t, int64_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                      float*, int64_t);
template void gemm_packed_neon<uint16_t>(const uint16_t*, int64_t, int64_t, int64_t, int64_t, const float*, int64_t,
                                         int64_t, float*, int64_t);
template void gemm_packed_neon<Bf16>(const Bf16*, int64_t, int64_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                     float*, int64_t);

void gemm_strided_f32_neon(const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                           int64_t M, int64_t n0, int64_t n1, int64_t K) {
  gemm_strided_panels<P, kKc, 16>(A, lda, B, ldb, C, ldc, M, n0, n1, K, rows<float>);
}

}  // namespace rllm::kernels::dense
