// Integer GEMM: every int8 kernel this CPU runs against the plain-loop
// reference on awkward shapes, bit-exact (the reference saturates pairs of
// products where the kernel is a vpmaddubsw one, as onnxruntime's AVX2 path).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/int8/int8_kernel.h"

using namespace rllm;
using namespace rllm::kernels;

namespace {

struct Case {
  int64_t M, K, N;
  bool b_signed, per_column;
  int lo, hi;  // range of A's values (full range saturates vpmaddubsw pairs)
  bool no_zp = false;  // symmetric weights: no zero point (the driver then reads A in place when 4 | K)
};

std::vector<uint8_t> random_bytes(size_t n, int lo, int hi, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<uint8_t> v(n);
  for (auto& x : v) x = static_cast<uint8_t>(d(g));
  return v;
}

void run_case(const int8::Int8Kernel& k, const Case& c, ThreadPool& pool) {
  INFO(k.name << " M=" << c.M << " K=" << c.K << " N=" << c.N << " signed=" << c.b_signed
               << " per_column=" << c.per_column << " A in [" << c.lo << ", " << c.hi << "] no_zp=" << c.no_zp);
  const int64_t lda = c.K + 3;  // rows of A are strided
  auto A = random_bytes(size_t(c.M * lda), c.lo, c.hi, 7);
  auto B = random_bytes(size_t(c.K * c.N), 0, 255, 8);  // as int8 when signed: -128..127
  auto zp = random_bytes(size_t(c.N), c.b_signed ? 0 : 100, c.b_signed ? 255 : 160, 9);
  const uint8_t a_zp = 131;
  Int8Weights w{c.K, c.N, B.data(), c.b_signed, c.no_zp ? nullptr : zp.data(), c.per_column};
  PackedInt8 packed = pack_int8(w, k.layout);
  bool saturates = k.saturates && c.b_signed;
  std::vector<int32_t> want(size_t(c.M * c.N)), got(size_t(c.M * c.N), -1);
  ref::gemm_u8x8_i32(A.data(), lda, a_zp, w, c.M, want.data(), c.N, saturates);
  Int8Output out;
  out.c = got.data();
  out.ld = c.N;
  int8::gemm_u8x8_with(k, packed, A.data(), lda, a_zp, c.M, out, pool);
  CHECK(got == want);

  // Float epilogue: float(C) · scale[n] + bias[n], each rounded in f32.
  std::vector<float> scale(size_t(c.N)), bias(size_t(c.N)), y(size_t(c.M * c.N));
  for (int64_t n = 0; n < c.N; ++n) {
    scale[size_t(n)] = 0.001f * float(n + 1);
    bias[size_t(n)] = 0.25f * float(n % 7) - 1.0f;
  }
  Int8Output fo;
  fo.y = y.data();
  fo.ld = c.N;
  fo.scale = scale.data();
  fo.bias = bias.data();
  int8::gemm_u8x8_with(k, packed, A.data(), lda, a_zp, c.M, fo, pool);
  int bad = 0;
  for (int64_t m = 0; m < c.M; ++m)
    for (int64_t n = 0; n < c.N; ++n) {
      volatile float t = static_cast<float>(want[size_t(m * c.N + n)]) * scale[size_t(n)];
      t = t + bias[size_t(n)];
      if (y[size_t(m * c.N + n)] != t) ++bad;
    }
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("int8 GEMM kernels match the reference bit for bit") {
  ThreadPool pool(2);
  std::vector<Case> cases;
  for (int64_t M : {1, 3, 17, 33})
    for (auto [K, N] : {std::pair<int64_t, int64_t>{1, 1}, {7, 5}, {33, 37}, {64, 48}, {390, 70}})
      for (bool s : {true, false}) {
        cases.push_back({M, K, N, s, false, 0, 255});
        cases.push_back({M, K, N, s, true, 90, 170});
        cases.push_back({M, K, N, s, false, 90, 170, true});
      }
  for (const auto& k : int8::int8_kernel_list()) {
    if (!isa_supported(k.isa)) {
      MESSAGE("skip " << std::string(k.name) << ": this CPU lacks " << std::string(isa_name(k.isa)));
      continue;
    }
    for (const auto& c : cases) {
      if (k.saturates && !c.b_signed) continue;  // never chosen for uint8 weights
      run_case(k, c, pool);
    }
  }
}

TEST_CASE("int8 GEMM: vpmaddubsw kernels saturate pairs as onnxruntime's AVX2 path") {
  // A = 255, B = 127 everywhere, K = 8: exact sum 8·255·127 = 259080; each
  // pair (255·127)·2 = 64770 saturates to 32767, so 4·32767 = 131068, the
  // value onnxruntime 1.32 returns for this MatMulInteger on an AVX2 CPU.
  std::vector<uint8_t> A(8, 255);
  std::vector<uint8_t> B(16, 127);
  Int8Weights w{8, 2, B.data(), true, nullptr, false};
  std::vector<int32_t> C(2);
  ref::gemm_u8x8_i32(A.data(), 8, 0, w, 1, C.data(), 2, false);
  CHECK(C[0] == 259080);
  ref::gemm_u8x8_i32(A.data(), 8, 0, w, 1, C.data(), 2, true);
  CHECK(C[0] == 131068);
  ThreadPool pool(1);
  for (const auto& k : int8::int8_kernel_list()) {
    if (!isa_supported(k.isa) || k.layout != PackedInt8::Layout::quad_s8) continue;
    PackedInt8 p = pack_int8(w, k.layout);
    Int8Output out;
    out.c = C.data();
    out.ld = 2;
    int8::gemm_u8x8_with(k, p, A.data(), 8, 0, 1, out, pool);
    INFO(k.name);
    CHECK(C[0] == (k.saturates ? 131068 : 259080));
  }
}

TEST_CASE("int8 GEMM: dispatch picks the saturating kernel only for int8 weights on AVX2") {
  std::vector<uint8_t> B(4 * 3, 1);
  Int8Weights s{4, 3, B.data(), true, nullptr, false}, u{4, 3, B.data(), false, nullptr, false};
  CHECK_FALSE(int8_saturates(pack_int8(s, PackedInt8::Layout::quad_s8), Isa::scalar));
  CHECK_FALSE(int8_saturates(pack_int8(u, PackedInt8::Layout::quad_s8), Isa::avx2));
  if (isa_supported(Isa::avx2)) CHECK(int8_saturates(pack_int8(s, PackedInt8::Layout::quad_s8), Isa::avx2));
  if (isa_supported(Isa::avx512vnni))
    CHECK_FALSE(int8_saturates(pack_int8(s, PackedInt8::Layout::quad_s8), Isa::avx512vnni));
  else
    MESSAGE("skip VNNI dispatch check: this CPU lacks avx512vnni");
}

TEST_CASE("int8: dynamic uint8 quantization of every ISA equals the scalar twin") {
  // Values on exact .5 ties (round half to even), out of range, NaN and inf.
  std::vector<float> x;
  std::mt19937 g(3);
  std::uniform_real_distribution<float> d(-7.0f, 11.0f);
  for (int i = 0; i < 203; ++i) x.push_back(d(g));
  for (float v : {0.25f, 0.75f, -0.25f, 2.25f, 150.0f, -100.0f, NAN, INFINITY, -INFINITY}) x.push_back(v);
  float mn0, mx0;
  ref::minmax_with_zero(x.data(), int64_t(x.size()), &mn0, &mx0);
  CHECK(mn0 == -INFINITY);
  CHECK(mx0 == INFINITY);
  const float scale = 0.5f;  // x / 0.5 puts 0.25, 0.75, 2.25 on ties
  const uint8_t zp = 7;
  std::vector<uint8_t> want(x.size()), got(x.size());
  ref::quantize_u8(x.data(), int64_t(x.size()), scale, zp, want.data());
  // x / 0.5: 0.5 -> 0, 1.5 -> 2, -0.5 -> 0, 4.5 -> 4 (ties to even), then + 7;
  // 300 and -200 clamp to 248 and -7 (255 and 0); NaN -> 0, inf -> 255, -inf -> 0.
  const std::vector<uint8_t> hand = {7, 9, 7, 11, 255, 0, 0, 255, 0};
  CHECK(std::vector<uint8_t>(want.begin() + 203, want.end()) == hand);
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512vnni, Isa::avx512amx}) {
    if (!isa_supported(isa)) {
      MESSAGE("skip " << std::string(isa_name(isa)) << ": this CPU lacks it");
      continue;
    }
    Isa prev = set_active_isa(isa);
    for (int64_t n : {int64_t(x.size()), int64_t(7), int64_t(16)}) {
      INFO(std::string(isa_name(isa)) << " n=" << n);
      float mn, mx;
      minmax_with_zero(x.data(), n, &mn, &mx);
      float rmn, rmx;
      ref::minmax_with_zero(x.data(), n, &rmn, &rmx);
      CHECK(mn == rmn);
      CHECK(mx == rmx);
      std::fill(got.begin(), got.end(), 0);
      quantize_u8(x.data(), n, scale, zp, got.data());
      CHECK(std::equal(got.begin(), got.begin() + n, want.begin()));
    }
    set_active_isa(prev);
  }
}

TEST_CASE("int8: activation quantization of every ISA equals the scalar division's codes next to ties") {
  // Values within a few ulp of (k + 0.5) · scale, where any shortcut for the
  // division (x · (1 / scale)) rounds to the other side, for scales whose reciprocal is inexact.
  std::mt19937 g(5);
  std::uniform_int_distribution<int> k(-140, 140), step(-4, 4);
  for (float scale : {0.0371f, 1.0f / 3.0f, 0.0078125f * 1.1f, 3.7e-3f, 12.9f}) {
    std::vector<float> x;
    for (int i = 0; i < 20000; ++i) {
      float v = (float(k(g)) + 0.5f) * scale;
      for (int s = step(g); s != 0; s += s > 0 ? -1 : 1) v = std::nextafter(v, s > 0 ? INFINITY : -INFINITY);
      x.push_back(v);
    }
    for (uint8_t zp : {uint8_t(0), uint8_t(128), uint8_t(201)}) {
      std::vector<uint8_t> want(x.size()), got(x.size());
      ref::quantize_u8(x.data(), int64_t(x.size()), scale, zp, want.data());
      for (Isa isa : {Isa::avx2, Isa::avx512vnni, Isa::avx512amx}) {
        if (!isa_supported(isa)) continue;
        Isa prev = set_active_isa(isa);
        quantize_u8(x.data(), int64_t(x.size()), scale, zp, got.data());
        set_active_isa(prev);
        INFO(std::string(isa_name(isa)) << " scale " << scale << " zp " << int(zp));
        CHECK(got == want);
      }
    }
  }
}
