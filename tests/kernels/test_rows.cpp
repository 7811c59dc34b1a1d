// Row kernels: scalar twins against hand-computed values, the dispatched
// versions against the twins.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <iterator>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/kernels.h"
#include "nbits_fixture.h"

using namespace rllm::kernels;
using rllm::kernels::test::random_floats;

TEST_CASE("row kernel twins match hand-computed values") {
  float x[2] = {3.0f, 4.0f}, w[2] = {1.0f, 2.0f}, y[2], s[2];
  ref::rmsnorm(x, w, 0.0f, 2, y);
  float r = std::sqrt(12.5f);
  CHECK(y[0] == doctest::Approx(3.0f / r));
  CHECK(y[1] == doctest::Approx(8.0f / r));
  float skip[2] = {-1.0f, 1.0f}, bias[2] = {1.0f, -1.0f};
  ref::skip_rmsnorm(x, skip, bias, w, 0.0f, 2, y, s);
  CHECK(s[0] == 3.0f);
  CHECK(s[1] == 4.0f);
  CHECK(y[1] == doctest::Approx(8.0f / r));
  ref::layernorm(x, w, bias, 0.0f, 2, y);  // mean 3.5, var 0.25
  CHECK(y[0] == doctest::Approx(-1.0f + 1.0f));
  CHECK(y[1] == doctest::Approx(2.0f - 1.0f));

  float sm[3] = {0.0f, std::log(2.0f), 1000.0f};
  ref::softmax(sm, 2);
  CHECK(sm[0] == doctest::Approx(1.0f / 3));
  CHECK(sm[1] == doctest::Approx(2.0f / 3));

  // Two heads of 4, rotary_dim 4, angle pi/2 for pair 0 and 0 for pair 1.
  float cs[2] = {0.0f, 1.0f}, sn[2] = {1.0f, 0.0f};
  float q[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  ref::rope(q, 2, 4, 4, cs, sn, true);  // pairs (0,1) (2,3)
  CHECK(q[0] == -2.0f);
  CHECK(q[1] == 1.0f);
  CHECK(q[2] == 3.0f);
  CHECK(q[4] == -6.0f);
  float h[4] = {1, 2, 3, 4};
  ref::rope(h, 1, 4, 4, cs, sn, false);  // pairs (0,2) (1,3)
  CHECK(h[0] == -3.0f);
  CHECK(h[2] == 1.0f);
  CHECK(h[1] == 2.0f);

  float one = 1.0f, o;
  ref::silu(&one, &o, 1);
  CHECK(o == doctest::Approx(0.7310586f));
  ref::sigmoid(&one, &o, 1);
  CHECK(o == doctest::Approx(0.7310586f));
  ref::gelu_erf(&one, &o, 1);
  CHECK(o == doctest::Approx(0.8413447f));
  ref::gelu_tanh(&one, &o, 1);
  CHECK(o == doctest::Approx(0.8411920f));
  float two = 2.0f;
  ref::silu_mul(&one, &two, &o, 1);
  CHECK(o == doctest::Approx(2 * 0.7310586f));

  uint16_t hv[5];
  float fv[5] = {1.0f, 65504.0f, 0x1p-24f, 1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f};
  ref::f32_to_f16(fv, hv, 5);
  CHECK(hv[0] == 0x3C00);
  CHECK(hv[1] == 0x7BFF);
  CHECK(hv[2] == 0x0001);
  CHECK(hv[3] == 0x3C00);  // tie rounds to even
  CHECK(hv[4] == 0x3C02);
  float back[5];
  ref::f16_to_f32(hv, back, 3);
  CHECK(back[0] == 1.0f);
  CHECK(back[1] == 65504.0f);
  CHECK(back[2] == 0x1p-24f);

  float qx[5] = {1.0f, -0.5f, 0.25f, 2.0f, -1.0f};
  int8_t qq[5];
  float qs[3];
  ref::quantize_row_i8(qx, 5, 2, qq, qs);
  CHECK(qs[0] == 1.0f / 127);
  CHECK(qq[0] == 127);
  CHECK(qq[1] == -64);  // -63.5 ties to even
  CHECK(qq[2] == 16);   // 0.25 / (2/127) = 15.875
  CHECK(qq[3] == 127);
  CHECK(qq[4] == -127);
  CHECK(qs[2] == 1.0f / 127);
}

TEST_CASE("rows: gelu_erf's rational erf stays within 1e-6 of std::erf's GELU, in the tails too") {
  // The clamp at |x / sqrt(2)| = 4 and the saturated tails, x in [-12, 12].
  std::vector<float> x, y, yr;
  for (int i = -24000; i <= 24000; ++i) x.push_back(float(i) * 5e-4f);
  y.resize(x.size());
  yr.resize(x.size());
  gelu_erf(x.data(), y.data(), int64_t(x.size()));
  ref::gelu_erf(x.data(), yr.data(), int64_t(x.size()));
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::fabs(double(y[i]) - double(yr[i])) / (1.0 + std::fabs(yr[i])));
  CHECK(worst < 1e-6);
}

namespace {
// fp16 edge cases: overflow to inf and the largest value below it, ties to
// even (normal and subnormal), underflow to 0, signed zero, inf, a quiet NaN.
const float kHalfEdges[] = {65520.0f, 65519.0f, 1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 0x1p-25f, 3 * 0x1p-26f, 1e-8f,
                            -0.0f, INFINITY, -INFINITY, std::nanf("")};

std::vector<uint32_t> bits_of(const std::vector<float>& v) {
  std::vector<uint32_t> b(v.size());
  for (size_t i = 0; i < v.size(); ++i) b[i] = std::bit_cast<uint32_t>(v[i]);
  return b;
}

// The public (dispatched) row kernels against the twins, for the active ISA,
// per function, on sizes around the widths 4, 8 and 16 (every tail length).
void check_dispatched_rows() {
  std::string fn;
  int64_t n = 0;
  INFO("function " << fn << ", n=" << n);
  for (int64_t size : {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1001}) {
    n = size;
    auto x = random_floats(size_t(n), 1, -4, 4), w = random_floats(size_t(n), 2), b = random_floats(size_t(n), 3);
    std::vector<float> y(static_cast<size_t>(n)), yr(static_cast<size_t>(n)), s(static_cast<size_t>(n)), sr(static_cast<size_t>(n));
    auto close = [&](float tol) {
      for (int64_t i = 0; i < n; ++i) CHECK(y[size_t(i)] == doctest::Approx(yr[size_t(i)]).epsilon(tol).scale(1.0));
    };
    fn = "rmsnorm";
    rmsnorm(x.data(), w.data(), 1e-5f, n, y.data());
    ref::rmsnorm(x.data(), w.data(), 1e-5f, n, yr.data());
    close(1e-5f);
    fn = "skip_rmsnorm";
    skip_rmsnorm(x.data(), w.data(), b.data(), w.data(), 1e-5f, n, y.data(), s.data());
    ref::skip_rmsnorm(x.data(), w.data(), b.data(), w.data(), 1e-5f, n, yr.data(), sr.data());
    close(1e-5f);
    CHECK(s == sr);
    fn = "layernorm";
    layernorm(x.data(), w.data(), b.data(), 1e-5f, n, y.data());
    ref::layernorm(x.data(), w.data(), b.data(), 1e-5f, n, yr.data());
    close(1e-4f);
    fn = "softmax";
    y = x;
    yr = x;
    softmax(y.data(), n);
    ref::softmax(yr.data(), n);
    close(1e-5f);
    for (auto [name, f, g] : {std::tuple{"silu", &silu, &ref::silu}, {"sigmoid", &sigmoid, &ref::sigmoid},
                              {"gelu_erf", &gelu_erf, &ref::gelu_erf}, {"gelu_tanh", &gelu_tanh, &ref::gelu_tanh}}) {
      fn = name;
      f(x.data(), y.data(), n);
      g(x.data(), yr.data(), n);
      close(1e-5f);
    }
    fn = "silu_mul";
    silu_mul(x.data(), w.data(), y.data(), n);
    ref::silu_mul(x.data(), w.data(), yr.data(), n);
    close(1e-5f);
    fn = "add";
    add(x.data(), w.data(), y.data(), n);
    ref::add(x.data(), w.data(), yr.data(), n);
    CHECK(y == yr);
    fn = "mul";
    mul(x.data(), w.data(), y.data(), n);
    ref::mul(x.data(), w.data(), yr.data(), n);
    CHECK(y == yr);
    fn = "dot";
    CHECK(dot(x.data(), w.data(), n) == doctest::Approx(ref::dot(x.data(), w.data(), n)).epsilon(1e-5).scale(1.0));
    fn = "axpy";
    y = w;
    yr = w;
    axpy(0.5f, x.data(), y.data(), n);
    ref::axpy(0.5f, x.data(), yr.data(), n);
    close(1e-6f);
    fn = "f32_to_f16";
    auto hx = x;
    for (size_t i = 0; i < hx.size(); i += 3) hx[i] = kHalfEdges[(i / 3) % std::size(kHalfEdges)];
    std::vector<uint16_t> h(static_cast<size_t>(n)), hr(static_cast<size_t>(n));
    f32_to_f16(hx.data(), h.data(), n);
    ref::f32_to_f16(hx.data(), hr.data(), n);
    CHECK(h == hr);
    fn = "f16_to_f32";
    f16_to_f32(h.data(), y.data(), n);
    ref::f16_to_f32(h.data(), yr.data(), n);
    CHECK(bits_of(y) == bits_of(yr));
    fn = "quantize_row_i8";
    for (int64_t block : {32, 24}) {
      std::vector<int8_t> q(static_cast<size_t>(n)), qr(static_cast<size_t>(n));
      std::vector<float> qs(static_cast<size_t>(n)), qsr(static_cast<size_t>(n));
      quantize_row_i8(x.data(), n, block, q.data(), qs.data());
      ref::quantize_row_i8(x.data(), n, block, qr.data(), qsr.data());
      CHECK(q == qr);
      CHECK(qs == qsr);
    }
  }
  fn = "rope";
  for (int64_t rot : {8, 34, 64}) {
    n = rot;
    for (bool inter : {false, true}) {
      const int64_t hd = rot + 4;
      auto x = random_floats(size_t(3 * hd), 5), c = random_floats(size_t(rot / 2), 6), s = random_floats(size_t(rot / 2), 7);
      auto xr = x;
      rope(x.data(), 3, hd, rot, c.data(), s.data(), inter);
      ref::rope(xr.data(), 3, hd, rot, c.data(), s.data(), inter);
      for (size_t i = 0; i < x.size(); ++i) CHECK(x[i] == doctest::Approx(xr[i]).epsilon(1e-6));
    }
  }
}
}  // namespace

TEST_CASE("dispatched row kernels match the scalar twins on every ISA this CPU runs") {
  for (Isa isa : {Isa::avx2, Isa::avx512vnni, Isa::avx512amx, Isa::neon}) {
    if (!isa_supported(isa)) {
      MESSAGE("skip row kernels for " << std::string(isa_name(isa)) << ": this CPU/build lacks it");
      continue;
    }
    Isa prev = set_active_isa(isa);
    INFO("isa=" << std::string(isa_name(isa)));
    check_dispatched_rows();
    set_active_isa(prev);
  }
}

#if defined(__x86_64__)
// Which build serves each ISA: the 512-bit rows under avx512vnni and
// avx512amx, the 256-bit ones under avx2 (RLLM_ISA=avx2 must run AVX2 code).
// dot's lanes tell the builds apart: with a[0] = 2^24, a[16] = 1,
// a[32] = -2^24 (the rest 0) and b = 1, the 1 lands in the lane of 2^24 at
// width 8 (2^24 + 1 rounds to 2^24: the sum is 0) and in another at width 16
// (the sum is 1).
TEST_CASE("row kernels dispatch to the AVX-512 build under avx512vnni/amx and to the AVX2 build under avx2") {
  std::vector<float> a(64, 0.0f), b(64, 1.0f);
  a[0] = 0x1p24f;
  a[16] = 1.0f;
  a[32] = -0x1p24f;
  for (Isa isa : {Isa::avx2, Isa::avx512vnni, Isa::avx512amx}) {
    if (!isa_supported(isa)) {
      MESSAGE("skip row dispatch for " << std::string(isa_name(isa)) << ": this CPU/build lacks it");
      continue;
    }
    INFO("isa=" << std::string(isa_name(isa)));
    Isa prev = set_active_isa(isa);
    CHECK(dot(a.data(), b.data(), 64) == (isa == Isa::avx2 ? 0.0f : 1.0f));
    set_active_isa(prev);
  }
}
#endif

// Decode attention's group kernels replace one dot() per (head, key) and one
// axpy() per (head, value): they must give the same bits on every ISA (the
// decode output does not change), and the scalar twin's within rounding.
TEST_CASE("attention group kernels equal dot and axpy per head, and the scalar twins") {
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512vnni, Isa::avx512amx, Isa::neon}) {
    if (!isa_supported(isa)) continue;
    Isa prev = set_active_isa(isa);
    for (int64_t hd : {64, 72, 20, 5})
      for (int64_t ng : {1, 3, 5})
        for (int64_t n : {1, 16, 7}) {
          INFO("isa=" << std::string(isa_name(isa)) << " hd=" << hd << " ng=" << ng << " n=" << n);
          const int64_t lds = n + 3;
          auto q = random_floats(static_cast<size_t>(ng * hd), 11);
          auto k = random_floats(static_cast<size_t>(n * hd), 12);
          auto v = random_floats(static_cast<size_t>(n * hd), 13);
          auto p = random_floats(static_cast<size_t>(ng * lds), 14, 0.0f, 1.0f);
          std::vector<float> s(static_cast<size_t>(ng * lds), -7.0f), sr = s, s1 = s;
          attn_scores(q.data(), ng, k.data(), n, hd, 0.125f, s.data(), lds);
          ref::attn_scores(q.data(), ng, k.data(), n, hd, 0.125f, sr.data(), lds);
          for (int64_t g = 0; g < ng; ++g)
            for (int64_t j = 0; j < n; ++j) s1[g * lds + j] = dot(q.data() + g * hd, k.data() + j * hd, hd) * 0.125f;
          CHECK(s == s1);
          for (size_t i = 0; i < s.size(); ++i) CHECK(s[i] == doctest::Approx(sr[i]).epsilon(1e-5).scale(1.0));
          auto y0 = random_floats(static_cast<size_t>(ng * hd), 15);
          std::vector<float> y = y0, yr = y0, y1 = y0;
          attn_accumulate(p.data(), lds, ng, v.data(), n, hd, y.data());
          ref::attn_accumulate(p.data(), lds, ng, v.data(), n, hd, yr.data());
          for (int64_t g = 0; g < ng; ++g)
            for (int64_t j = 0; j < n; ++j) axpy(p[g * lds + j], v.data() + j * hd, y1.data() + g * hd, hd);
          CHECK(y == y1);
          for (size_t i = 0; i < y.size(); ++i) CHECK(y[i] == doctest::Approx(yr[i]).epsilon(1e-5).scale(1.0));
        }
    set_active_isa(prev);
  }
}
