// Dense fp32 / fp16 weights: packing into 16-column panels and the GEMM
// drivers. Threads split N in whole panels.
#include <cassert>
#include <cstdlib>
#include <cstring>

#include "kernels/dense/dense_kernel.h"
#include "kernels/ref/half.h"

namespace rllm::kernels {
namespace {

template <typename Load>
PackedF32 make_packed(int64_t K, int64_t N, Load load) {
  constexpr int64_t P = PackedF32::kPanel;
  int64_t panels = (N + P - 1) / P;
  size_t bytes = size_t(panels * K * P) * sizeof(float);
  std::unique_ptr<float[], AlignedFree> data(static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)));
  std::memset(data.get(), 0, bytes);
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < P && p * P + j < N; ++j) data[(p * K + k) * P + j] = load(k * N + p * P + j);
  return PackedF32(K, N, bytes, std::move(data));
}

}  // namespace

namespace dense {
const DenseKernel& dense_kernel() {
  Isa isa = active_isa();
  const DenseKernel* chosen = &dense_kernel_list()[0];
  for (const DenseKernel& k : dense_kernel_list())
    if (k.isa == isa) chosen = &k;
  return *chosen;
}
}  // namespace dense

PackedF32 pack_f32(const float* B, int64_t K, int64_t N) {
  return make_packed(K, N, [B](int64_t i) { return B[i]; });
}

PackedF32 pack_f16(const uint16_t* B, int64_t K, int64_t N) {
  return make_packed(K, N, [B](int64_t i) { return half_to_float(B[i]); });
}

void matmul_packed(const PackedF32& w, const float* A, int64_t M, float* Y, ThreadPool& pool) {
  const dense::DenseKernel& k = dense::dense_kernel();
  constexpr int64_t P = PackedF32::kPanel;
  int64_t panels = (w.N() + P - 1) / P;
  pool.parallel_for(panels, 1, [&](int64_t p0, int64_t p1) {
    k.packed(w.panels(), w.K(), w.N(), p0, p1, A, w.K(), M, Y, w.N());
  });
}

void gemm_f32(const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
              int64_t M, int64_t N, int64_t K, ThreadPool& pool) {
  const dense::DenseKernel& k = dense::dense_kernel();
  constexpr int64_t P = PackedF32::kPanel;
  pool.parallel_for(N, P, [&](int64_t n0, int64_t n1) {
    k.strided(A, lda, B, ldb, C, ldc, M, n0, n1, K);
  });
}

}  // namespace rllm::kernels
