// Dense fp32 micro-kernels (internal to kernels/ and its tests).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/kernels.h"

namespace rllm::kernels::dense {

// A bfloat16 panel value (the upper half of an fp32), a type of its own so the
// kernels' templates tell it from IEEE half (uint16_t).
struct Bf16 {
  uint16_t bits;
};

// Y[m, n] = A[m, :] · B[:, n] for m < M and panels [p0, p1) of a PackedDense
// ([panels, K, 16], fp32, IEEE half or bfloat16); Y row stride ldy.
template <typename T>
using PackedFnOf = void (*)(const T* panels, int64_t K, int64_t N, int64_t p0, int64_t p1, const float* A,
                            int64_t lda, int64_t M, float* Y, int64_t ldy);
using PackedFn = PackedFnOf<float>;
using PackedF16Fn = PackedFnOf<uint16_t>;
using PackedBf16Fn = PackedFnOf<Bf16>;
// C[m, n] = A[m, :] · B[:, n] for m < M, n in [n0, n1); B row-major [K, ldb].
using StridedFn = void (*)(const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                           int64_t ldc, int64_t M, int64_t n0, int64_t n1, int64_t K);

struct DenseKernel {
  const char* name;
  Isa isa;
  PackedFn packed;
  PackedF16Fn packed_f16;
  PackedBf16Fn packed_bf16;
  StridedFn strided;
};

std::span<const DenseKernel> dense_kernel_list();  // scalar twin first
const DenseKernel& dense_kernel();                 // the one for active_isa()

// T: float, uint16_t (IEEE half) or Bf16, instantiated for each in the ISA's file.
template <typename T>
void gemm_packed_ref(const T* panels, int64_t K, int64_t N, int64_t p0, int64_t p1, const float* A, int64_t lda,
                    int64_t M, float* Y, int64_t ldy);
void gemm_strided_f32_ref(const float*, int64_t, const float*, int64_t, float*, int64_t, int64_t,
                          int64_t, int64_t, int64_t);
// The strided kernels' driver: each P-column, up-to-Kc-deep slice of B is copied
// into an aligned panel (columns past n1 zero) and handed to the ISA's row
// kernel, rows(panel [kc, P], kc, A, lda, M, C, ldc, nr, accumulate), which
// adds into C when accumulate (every K slice after the first). Internal linkage:
// each ISA's file compiles its own copy under its own target flags.
template <int64_t P, int64_t Kc, size_t Align, typename Rows>
static void gemm_strided_panels(const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                                int64_t M, int64_t n0, int64_t n1, int64_t K, Rows rows) {
  alignas(Align) float panel[Kc * P];
  for (int64_t n = n0; n < n1; n += P) {
    const int64_t nr = n1 - n < P ? n1 - n : P;
    for (int64_t k0 = 0; k0 < K; k0 += Kc) {
      const int64_t kc = K - k0 < Kc ? K - k0 : Kc;
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t j = 0; j < P; ++j) panel[k * P + j] = j < nr ? B[(k0 + k) * ldb + n + j] : 0.0f;
      rows(panel, kc, A + k0, lda, M, C + n, ldc, nr, k0 > 0);
    }
  }
}

#if defined(__x86_64__)
// T: float, uint16_t (IEEE half) or Bf16, instantiated for each in the ISA's file.
template <typename T>
void gemm_packed_avx2(const T* panels, int64_t K, int64_t N, int64_t p0, int64_t p1, const float* A, int64_t lda,
                    int64_t M, float* Y, int64_t ldy);
void gemm_strided_f32_avx2(const float*, int64_t, const float*, int64_t, float*, int64_t, int64_t,
                           int64_t, int64_t, int64_t);
// T: float, uint16_t (IEEE half) or Bf16, instantiated for each in the ISA's file.
template <typename T>
void gemm_packed_avx512(const T* panels, int64_t K, int64_t N, int64_t p0, int64_t p1, const float* A, int64_t lda,
                    int64_t M, float* Y, int64_t ldy);
void gemm_strided_f32_avx512(const float*, int64_t, const float*, int64_t, float*, int64_t, int64_t,
                             int64_t, int64_t, int64_t);
#elif defined(__aarch64__)
// T: float, uint16_t (IEEE half) or Bf16, instantiated for each in the ISA's file.
template <typename T>
void gemm_packed_neon(const T* panels, int64_t K, int64_t N, int64_t p0, int64_t p1, const float* A, int64_t lda,
                    int64_t M, float* Y, int64_t ldy);
void gemm_strided_f32_neon(const float*, int64_t, const float*, int64_t, float*, int64_t, int64_t,
                           int64_t, int64_t, int64_t);
#endif

}  // namespace rllm::kernels::dense
