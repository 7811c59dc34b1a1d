// Dense fp32 / fp16 / bf16 weights: packing into 16-column panels (of the weights'
// own type) and the GEMM drivers. Threads split N in whole panels.
#include <cassert>
#include <cstdlib>
#include <cstring>

#include "kernels/dense/dense_kernel.h"

namespace rllm::kernels {
namespace {

// Panels [ceil(N/16), K, 16] of T from B row-major [K, N].
template <typename T>
PackedDense make_packed(const T* B, int64_t K, int64_t N, PackedDense::Type type) {
  constexpr int64_t P = PackedDense::kPanel;
  int64_t panels = (N + P - 1) / P;
  size_t bytes = size_t(panels * K * P) * sizeof(T);
  std::unique_ptr<uint8_t[], AlignedFree> data(static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)));
  T* out = reinterpret_cast<T*>(data.get());
  std::memset(out, 0, bytes);
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < P && p * P + j < N; ++j) out[(p * K + k) * P + j] = B[k * N + p * P + j];
  return PackedDense(K, N, type, bytes, std::move(data));
}

}  // namespace

namespace dense {
const DenseKernel& dense_kernel() {
  Isa isa = fallback_isa(active_isa());
  const DenseKernel* chosen = &dense_kernel_list()[0];
  for (const DenseKernel& k : dense_kernel_list())
    if (k.isa == isa) chosen = &k;
  return *chosen;
}
}  // namespace dense

PackedDense pack_f32(const float* B, int64_t K, int64_t N) { return make_packed(B, K, N, PackedDense::Type::f32); }

PackedDense pack_f16(const uint16_t* B, int64_t K, int64_t N) { return make_packed(B, K, N, PackedDense::Type::f16); }

PackedDense pack_bf16(const uint16_t* B, int64_t K, int64_t N) { return make_packed(B, K, N, PackedDense::Type::bf16); }

void matmul_packed(const PackedDense& w, const float* A, int64_t M, float* Y, ThreadPool& pool) {
  const dense::DenseKernel& k = dense::dense_kernel();
  constexpr int64_t P = PackedDense::kPanel;
  int64_t panels = (w.N() + P - 1) / P;
  pool.parallel_for(panels, 1, [&](int64_t p0, int64_t p1) {
    switch (w.type()) {
      case PackedDense::Type::f32: k.packed(w.panels(), w.K(), w.N(), p0, p1, A, w.K(), M, Y, w.N()); break;
      case PackedDense::Type::f16: k.packed_f16(w.panels_16(), w.K(), w.N(), p0, p1, A, w.K(), M, Y, w.N()); break;
      case PackedDense::Type::bf16:
        k.packed_bf16(reinterpret_cast<const dense::Bf16*>(w.panels_16()), w.K(), w.N(), p0, p1, A, w.K(), M, Y, w.N());
        break;
    }
  });
}

void gemm_f32(const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
              int64_t M, int64_t N, int64_t K, ThreadPool& pool) {
  const dense::DenseKernel& k = dense::dense_kernel();
  constexpr int64_t P = PackedDense::kPanel;
  pool.parallel_for(N, P, [&](int64_t n0, int64_t n1) {
    k.strided(A, lda, B, ldb, C, ldc, M, n0, n1, K);
  });
}

}  // namespace rllm::kernels
