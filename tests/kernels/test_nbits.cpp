// MatMulNBits: ONNX-layout dequantization by hand, pack round trip, scalar
// twins against a float64 reference, every ISA's kernels against the twins.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "kernels/nbits/nbits_kernel.h"
#include "nbits_fixture.h"

using namespace rllm;
using namespace rllm::kernels;
using rllm::kernels::test::OnnxNBits;
using rllm::kernels::test::random_floats;

namespace {

const ZeroPoints kZps[] = {ZeroPoints::none, ZeroPoints::packed_u8, ZeroPoints::typed};

// Y_ref [M, N] in float64 from dequantized W and (possibly int8-rounded) A,
// plus the sum of |terms| per output for a condition-aware tolerance.
void reference(const std::vector<float>& W, const std::vector<float>& A, int64_t M, int64_t N,
               int64_t K, const float* bias, std::vector<double>& y, std::vector<double>& mag) {
  y.assign(size_t(M * N), 0.0);
  mag.assign(size_t(M * N), 0.0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = bias ? bias[n] : 0.0, a = 0.0;
      for (int64_t k = 0; k < K; ++k) {
        double t = double(A[size_t(m * K + k)]) * W[size_t(n * K + k)];
        s += t;
        a += std::fabs(t);
      }
      y[size_t(m * N + n)] = s;
      mag[size_t(m * N + n)] = a;
    }
}

// A with each row quantized per block as the q8a kernels do, then dequantized.
std::vector<float> int8_rounded(const std::vector<float>& A, int64_t M, int64_t K, int64_t bs) {
  std::vector<float> out(A.size());
  std::vector<int8_t> q(static_cast<size_t>(K));
  std::vector<float> d(static_cast<size_t>((K + bs - 1) / bs));
  for (int64_t m = 0; m < M; ++m) {
    ref::quantize_row_i8(A.data() + m * K, K, bs, q.data(), d.data());
    for (int64_t k = 0; k < K; ++k) out[size_t(m * K + k)] = float(q[size_t(k)]) * d[size_t(k / bs)];
  }
  return out;
}

const nbits::NBitsKernel& twin(bool int8_act) {
  for (const auto& k : nbits::nbits_kernel_list())
    if (k.isa == Isa::scalar && k.int8_activations == int8_act) return k;
  return nbits::nbits_kernel_list()[0];
}

}  // namespace

TEST_CASE("dequantize_nbits matches hand-computed values") {
  // N = 1, K = 20, bs = 16: two blocks, the second holds 4 real values.
  std::vector<uint8_t> b(16);  // [1, 2, 8]
  b[0] = 0x21;                 // k0 = 1, k1 = 2
  b[7] = 0xF0;                 // k14 = 0, k15 = 15
  b[8] = 0x93;                 // k16 = 3 (block 1, i = 0), k17 = 9
  float scales[2] = {0.5f, 2.0f};
  uint8_t zp[1] = {0x4A};  // block 0: 10, block 1: 4
  NBitsWeights w;
  w.N = 1;
  w.K = 20;
  w.block_size = 16;
  w.b = b.data();
  w.scales = scales;
  std::vector<float> out(20);
  dequantize_nbits(w, out.data());
  CHECK(out[0] == (1 - 8) * 0.5f);
  CHECK(out[1] == (2 - 8) * 0.5f);
  CHECK(out[15] == (15 - 8) * 0.5f);
  CHECK(out[16] == (3 - 8) * 2.0f);
  CHECK(out[17] == (9 - 8) * 2.0f);
  CHECK(out[19] == (0 - 8) * 2.0f);
  w.zero_points = zp;
  w.zp = ZeroPoints::packed_u8;
  dequantize_nbits(w, out.data());
  CHECK(out[0] == (1 - 10) * 0.5f);
  CHECK(out[16] == (3 - 4) * 2.0f);
}

TEST_CASE("dequantize(pack(w)) == dequantize(w) exactly") {
  for (int bits : {4, 8})
    for (int bs : {16, 32, 64, 128, 256})
      for (ZeroPoints zp : kZps)
        for (bool f16 : {false, true}) {
          int64_t N = 5, K = 3 * bs + 7;
          OnnxNBits o(N, K, bits, bs, zp, f16, uint32_t(bits * 1000 + bs + int(zp) * 7 + f16));
          std::vector<float> ref(static_cast<size_t>(N * K)), got(static_cast<size_t>(N * K));
          dequantize_nbits(o.w, ref.data());
          PackedNBits p = pack_nbits(o.w, 4);
          CHECK(p.N() == N);
          CHECK(p.K() == K);
          dequantize_packed(p, got.data());
          INFO("bits=" << bits << " bs=" << bs << " zp=" << int(zp) << " f16=" << f16);
          CHECK(got == ref);
        }
}

TEST_CASE("pack_nbits on a pool writes the same bytes as on one thread") {
  ThreadPool pool(3);
  for (int bits : {4, 8})
    for (int bs : {16, 64}) {
      // 203 rows: 26 panels, the last one 3 columns short.
      OnnxNBits o(203, 3 * bs + 9, bits, bs, ZeroPoints::packed_u8, false, uint32_t(bits + bs));
      PackedNBits a = pack_nbits(o.w, 4), b = pack_nbits(o.w, 4, &pool);
      REQUIRE(a.bytes() == b.bytes());
      INFO("bits=" << bits << " bs=" << bs);
      CHECK(std::memcmp(a.panel(0), b.panel(0), a.bytes()) == 0);
    }
}

TEST_CASE("scalar MatMulNBits twins match a float64 reference") {
  ThreadPool pool(1);
  for (int bits : {4, 8})
    for (int bs : {16, 32, 128})
      for (ZeroPoints zp : kZps)
        for (int64_t M : {1, 3}) {
          int64_t N = 7, K = 2 * bs + 5;
          OnnxNBits o(N, K, bits, bs, zp, false, uint32_t(bits + bs + int(zp)));
          std::vector<float> W(static_cast<size_t>(N * K));
          dequantize_nbits(o.w, W.data());
          std::vector<float> A = random_floats(size_t(M * K), 7), bias = random_floats(size_t(N), 8);
          for (bool int8_act : {false, true}) {
            PackedNBits p = pack_nbits(o.w, int8_act ? 4 : 0);
            std::vector<float> Y(static_cast<size_t>(M * N));
            nbits::matmul_nbits_with(twin(int8_act), p, A.data(), M, bias.data(), Y.data(), pool);
            std::vector<double> yr, mag;
            reference(W, int8_act ? int8_rounded(A, M, K, bs) : A, M, N, K, bias.data(), yr, mag);
            for (size_t i = 0; i < Y.size(); ++i) {
              INFO("bits=" << bits << " bs=" << bs << " zp=" << int(zp) << " M=" << M << " int8=" << int8_act);
              CHECK(std::fabs(Y[i] - yr[i]) <= 1e-5 * mag[i] + 1e-6);
            }
          }
        }
}

TEST_CASE("every MatMulNBits kernel this CPU runs matches its scalar twin") {
  ThreadPool pool(2);
  for (const auto& k : nbits::nbits_kernel_list()) {
    if (k.isa == Isa::scalar) continue;
    if (!isa_supported(k.isa)) {
      MESSAGE("skip " << std::string(k.name) << ": this CPU lacks " << std::string(isa_name(k.isa)));
      continue;
    }
    for (int bits : {4, 8})
      for (int bs : {16, 32, 64, 128, 256})
        for (ZeroPoints zp : kZps)
          for (int64_t M : {1, 3, 17, 33, 200}) {
            // M = 200 (bs 32 only, to stay quick): more than one row block of
            // the AVX2 GEMM (~128 KB of activations each) and a tail tile.
            // M = 17, 33: AMX tiles of 16 rows and a short one.
            if (M == 200 && bs != 32) continue;
            // N = 37: not a multiple of any tile; K not a multiple of the block.
            int64_t N = 37, K = 2 * bs + 24 + (bs == 16 ? 0 : 5);
            OnnxNBits o(N, K, bits, bs, zp, bs == 64, uint32_t(bits * 3 + bs + int(zp) + M));
            PackedNBits p = pack_nbits(o.w, k.int8_activations ? 4 : 0);
            std::vector<float> A = random_floats(size_t(M * K), uint32_t(M + bs));
            std::vector<float> bias = random_floats(size_t(N), 3);
            std::vector<float> Y(static_cast<size_t>(M * N)), Yt(static_cast<size_t>(M * N));
            const float* bp = M == 3 ? nullptr : bias.data();
            nbits::matmul_nbits_with(k, p, A.data(), M, bp, Y.data(), pool);
            nbits::matmul_nbits_with(twin(k.int8_activations), p, A.data(), M, bp, Yt.data(), pool);
            std::vector<float> W(static_cast<size_t>(N * K));
            dequantize_nbits(o.w, W.data());
            std::vector<double> yr, mag;
            reference(W, A, M, N, K, bp, yr, mag);
            for (size_t i = 0; i < Y.size(); ++i) {
              INFO(k.name << " bits=" << bits << " bs=" << bs << " zp=" << int(zp) << " M=" << M << " i=" << i);
              // Integer block sums are exact in both; only the order of the
              // float accumulation over blocks differs.
              CHECK(std::fabs(Y[i] - Yt[i]) <= 1e-5 * mag[i] + 1e-6);
            }
          }
  }
}

TEST_CASE("MatMulNBits kernels over several row blocks match their scalar twin") {
  // K = 4096: the VNNI kernel's row blocks (~512 KB of activations) hold 80
  // rows, so M = 200 is three blocks, the last with a 8-row group; the AVX2
  // kernel's (~128 KB) hold 24 rows. N = 37: panel pairs and an odd panel.
  ThreadPool pool(1);
  const int64_t M = 200, N = 37, K = 4096;
  std::vector<float> A = random_floats(size_t(M * K), 11);
  for (int bits : {4, 8})
    for (ZeroPoints zp : {ZeroPoints::none, ZeroPoints::packed_u8}) {
      OnnxNBits o(N, K, bits, 32, zp, false, uint32_t(bits + int(zp)));
      PackedNBits p = pack_nbits(o.w, 4);
      std::vector<float> Yt(static_cast<size_t>(M * N)), W(static_cast<size_t>(N * K));
      nbits::matmul_nbits_with(twin(true), p, A.data(), M, nullptr, Yt.data(), pool);
      dequantize_nbits(o.w, W.data());
      std::vector<double> yr, mag;
      reference(W, A, M, N, K, nullptr, yr, mag);
      for (const auto& k : nbits::nbits_kernel_list()) {
        if (k.isa == Isa::scalar || !k.int8_activations || !isa_supported(k.isa)) continue;
        std::vector<float> Y(static_cast<size_t>(M * N));
        nbits::matmul_nbits_with(k, p, A.data(), M, nullptr, Y.data(), pool);
        for (size_t i = 0; i < Y.size(); ++i) {
          INFO(std::string(k.name) << " bits=" << bits << " zp=" << int(zp) << " i=" << i);
          // Integer block sums are exact in both; the float sum over blocks
          // differs in order only.
          CHECK(std::fabs(Y[i] - Yt[i]) <= 1e-5 * mag[i] + 1e-6);
        }
      }
    }
}

TEST_CASE("the AMX MatMulNBits kernel equals the VNNI one bit for bit with integer zero points") {
  // Both compute each block's integer sum exactly (AMX folds integer zero
  // points into the weights, VNNI subtracts zp * asum in f32, exact for these
  // magnitudes) and scale it with the same f32 operations in the same order.
  if (!isa_supported(Isa::avx512amx)) {
    MESSAGE("skip gemm_q8a_qnb_f32_avx512amx: this CPU lacks avx512amx");
    return;
  }
  const nbits::NBitsKernel *amx = nullptr, *vnni = nullptr;
  for (const auto& k : nbits::nbits_kernel_list())
    if (k.int8_activations) {
      if (k.isa == Isa::avx512amx) amx = &k;
      if (k.isa == Isa::avx512vnni) vnni = &k;
    }
  REQUIRE(amx != nullptr);
  REQUIRE(vnni != nullptr);
  ThreadPool pool(2);
  for (int bits : {4, 8})
    for (ZeroPoints zp : {ZeroPoints::none, ZeroPoints::packed_u8})
      // K = 93: 3 blocks, the last short; 2100: 66 blocks, more than one K
      // slice of the unpacked weights (64 blocks). M = 150: more than one row
      // block (128 rows) and a 6-row tile.
      for (int64_t K : {93, 2100})
        for (int64_t M : {16, 17, 33, 150}) {
          const int64_t N = 37;
          OnnxNBits o(N, K, bits, 32, zp, false, uint32_t(bits + int(zp) * 5 + K + M));
          PackedNBits p = pack_nbits(o.w, 4);
          std::vector<float> A = random_floats(size_t(M * K), uint32_t(M + K));
          std::vector<float> bias = random_floats(size_t(N), 5);
          std::vector<float> Y(size_t(M * N)), Yv(size_t(M * N));
          nbits::matmul_nbits_with(*amx, p, A.data(), M, bias.data(), Y.data(), pool);
          nbits::matmul_nbits_with(*vnni, p, A.data(), M, bias.data(), Yv.data(), pool);
          INFO("bits=" << bits << " zp=" << int(zp) << " K=" << K << " M=" << M);
          CHECK(std::memcmp(Y.data(), Yv.data(), Y.size() * sizeof(float)) == 0);
        }
}

TEST_CASE("matmul_nbits dispatches and splits N over threads") {
  ThreadPool pool2(2), pool1(1);
  // N = 1003: ~190 KB of weight traffic for 3 rows, enough to be split.
  OnnxNBits o(1003, 96, 4, 32, ZeroPoints::packed_u8, true, 99);
  std::vector<float> A = random_floats(3 * 96, 1), bias = random_floats(1003, 2);
  for (int level : {0, 4}) {
    PackedNBits p = pack_nbits(o.w, level);
    std::vector<float> Y(3 * 1003), Yt(3 * 1003);
    matmul_nbits(p, A.data(), 3, bias.data(), Y.data(), pool2);
    nbits::matmul_nbits_with(twin(level == 4), p, A.data(), 3, bias.data(), Yt.data(), pool1);
    for (size_t i = 0; i < Y.size(); ++i) CHECK(Y[i] == doctest::Approx(Yt[i]).epsilon(1e-4));
  }
}
