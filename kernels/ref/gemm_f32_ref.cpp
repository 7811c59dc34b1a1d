// Scalar twins of the dense fp32 / fp16 / bf16-weight GEMM micro-kernels.
#include "kernels/dense/dense_kernel.h"
#include "kernels/ref/half.h"

namespace rllm::kernels::dense {

namespace {
inline float widen(float x) { return x; }
inline float widen(uint16_t h) { return half_to_float(h); }
inline float widen(Bf16 b) { return bf16_to_float(b.bits); }
}  // namespace

template <typename T>
void gemm_packed_ref(const T* panels, int64_t K, int64_t N, int64_t p0, int64_t p1, const float* A, int64_t lda,
                     int64_t M, float* Y, int64_t ldy) {
  constexpr int64_t P = PackedDense::kPanel;
  for (int64_t p = p0; p < p1; ++p)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t j = 0; j < P && p * P + j < N; ++j) {
        float s = 0.0f;
        for (int64_t k = 0; k < K; ++k) s += A[m * lda + k] * widen(panels[(p * K + k) * P + j]);
        Y[m * ldy + p * P + j] = s;
      }
}
template void gemm_packed_ref<float>(const float*, int64_t, int64_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                     float*, int64_t);
template void gemm_packed_ref<uint16_t>(const uint16_t*, int64_t, int64_t, int64_t, int64_t, const float*, int64_t,
                                        int64_t, float*, int64_t);
template void gemm_packed_ref<Bf16>(const Bf16*, int64_t, int64_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                     float*, int64_t);

void gemm_strided_f32_ref(const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                          int64_t ldc, int64_t M, int64_t n0, int64_t n1, int64_t K) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = n0; n < n1; ++n) {
      float s = 0.0f;
      for (int64_t k = 0; k < K; ++k) s += A[m * lda + k] * B[k * ldb + n];
      C[m * ldc + n] = s;
    }
}

}  // namespace rllm::kernels::dense
