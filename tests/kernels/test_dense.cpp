// Dense fp32/fp16/bf16 GEMM: every kernel this CPU runs against a float64 reference.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <vector>

#include "kernels/dense/dense_kernel.h"
#include "nbits_fixture.h"

using namespace rllm;
using namespace rllm::kernels;
using rllm::kernels::test::random_floats;

namespace {

void check_close(const std::vector<float>& Y, const float* A, const std::vector<float>& B, int64_t M,
                 int64_t N, int64_t K, int64_t ldy) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0, mag = 0;
      for (int64_t k = 0; k < K; ++k) {
        s += double(A[m * K + k]) * B[size_t(k * N + n)];
        mag += std::fabs(double(A[m * K + k]) * B[size_t(k * N + n)]);
      }
      INFO("m=" << m << " n=" << n);
      CHECK(std::fabs(Y[size_t(m * ldy + n)] - s) <= 1e-5 * mag + 1e-6);
    }
}

}  // namespace

TEST_CASE("dense fp32 / fp16 / bf16 GEMM kernels match a float64 reference") {
  ThreadPool pool(2);
  for (const auto& k : dense::dense_kernel_list()) {
    if (!isa_supported(k.isa)) {
      MESSAGE("skip " << std::string(k.name) << ": this CPU lacks " << std::string(isa_name(k.isa)));
      continue;
    }
    Isa prev = set_active_isa(k.isa);
    // M = 10, 17: 6-row tiles and 4- and 5-row tails (AVX2); K = 300: two K slices of 256.
    for (int64_t M : {1, 3, 10, 17})
      for (auto [K, N] : {std::pair<int64_t, int64_t>{1, 1}, {33, 37}, {64, 48}, {100, 5}, {300, 40}}) {
        INFO(k.name << " M=" << M << " K=" << K << " N=" << N);
        auto A = random_floats(size_t(M * K), 1), B = random_floats(size_t(K * N), 2);
        std::vector<float> Y(static_cast<size_t>(M * N));
        matmul_packed(pack_f32(B.data(), K, N), A.data(), M, Y.data(), pool);
        check_close(Y, A.data(), B, M, N, K, N);
        // Strided: C has a wider leading dimension than N.
        std::vector<float> C(size_t(M * (N + 3)), -7.0f);
        gemm_f32(A.data(), K, B.data(), N, C.data(), N + 3, M, N, K, pool);
        check_close(C, A.data(), B, M, N, K, N + 3);
        CHECK(C[size_t(N)] == -7.0f);
        // fp16 weights: the reference uses the same fp16-rounded values.
        std::vector<uint16_t> Bh(B.size());
        ref::f32_to_f16(B.data(), Bh.data(), int64_t(B.size()));
        std::vector<float> Bf(B.size());
        ref::f16_to_f32(Bh.data(), Bf.data(), int64_t(B.size()));
        matmul_packed(pack_f16(Bh.data(), K, N), A.data(), M, Y.data(), pool);
        check_close(Y, A.data(), Bf, M, N, K, N);
        // bf16 weights (round to nearest even), the reference on the same rounded values.
        std::vector<uint16_t> Bb(B.size());
        for (size_t i = 0; i < B.size(); ++i) {
          uint32_t x = std::bit_cast<uint32_t>(B[i]);
          Bb[i] = uint16_t((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
          Bf[i] = std::bit_cast<float>(uint32_t{Bb[i]} << 16);
        }
        matmul_packed(pack_bf16(Bb.data(), K, N), A.data(), M, Y.data(), pool);
        check_close(Y, A.data(), Bf, M, N, K, N);
      }
    set_active_isa(prev);
  }
}
