// f16-cache attention kernels: the scalar twins against hand-computed values,
// the dispatched kernels of every ISA the CPU has against the twins.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "kernels/attn_f16.h"
#include "kernels/kernels.h"
#include "nbits_fixture.h"

using namespace rllm::kernels;
using rllm::kernels::test::random_floats;

TEST_CASE("f16-cache attention twins match hand-computed values") {
  // Two heads of 2; keys 0.5, 0.25 / -2, 1 and values 1, 2 / 0.5, -4 in binary16.
  const float q[4] = {1.0f, 2.0f, -1.0f, 4.0f};
  const uint16_t k[4] = {0x3800, 0x3400, 0xC000, 0x3C00};
  const uint16_t v[4] = {0x3C00, 0x4000, 0x3800, 0xC400};
  float s[6] = {-7, -7, -7, -7, -7, -7};
  ref::attn_scores_f16(q, 2, k, 2, 2, 0.5f, s, 3);
  CHECK(s[0] == 0.5f * (0.5f + 0.5f));
  CHECK(s[1] == 0.5f * (-2.0f + 2.0f));
  CHECK(s[2] == -7.0f);  // lds 3: column 2 is not written
  CHECK(s[3] == 0.5f * (-0.5f + 1.0f));
  CHECK(s[4] == 0.5f * (2.0f + 4.0f));
  const float p[6] = {0.25f, 0.75f, 0, 1.0f, 0.5f, 0};
  float y[4] = {1.0f, 0.0f, 0.0f, 0.0f};
  ref::attn_accumulate_f16(p, 3, 2, v, 2, 2, y);
  CHECK(y[0] == 1.0f + 0.25f + 0.75f * 0.5f);
  CHECK(y[1] == 0.25f * 2.0f + 0.75f * -4.0f);
  CHECK(y[2] == 1.0f + 0.5f * 0.5f);
  CHECK(y[3] == 2.0f + 0.5f * -4.0f);
}

// Awkward shapes: head sizes off the 8/16-lane widths, odd key counts, groups
// past the 4-head tile; lds and ldp wider than n.
TEST_CASE("f16-cache attention kernels match the scalar twins on every ISA") {
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512vnni, Isa::avx512amx, Isa::neon}) {
    if (!isa_supported(isa)) continue;
    Isa prev = set_active_isa(isa);
    for (int64_t hd : {96, 64, 72, 20, 5})
      for (int64_t ng : {1, 2, 3, 4, 7})
        for (int64_t n : {1, 16, 7}) {
          INFO("isa=" << std::string(isa_name(isa)) << " hd=" << hd << " ng=" << ng << " n=" << n);
          const int64_t lds = n + 3;
          auto q = random_floats(static_cast<size_t>(ng * hd), 21);
          std::vector<uint16_t> k(static_cast<size_t>(n * hd)), v(k.size());
          ref::f32_to_f16(random_floats(k.size(), 22, -4.0f, 4.0f).data(), k.data(), n * hd);
          ref::f32_to_f16(random_floats(v.size(), 23, -4.0f, 4.0f).data(), v.data(), n * hd);
          auto p = random_floats(static_cast<size_t>(ng * lds), 24, 0.0f, 1.0f);
          std::vector<float> s(static_cast<size_t>(ng * lds), -7.0f), sr = s;
          attn_scores_f16(q.data(), ng, k.data(), n, hd, 0.125f, s.data(), lds);
          ref::attn_scores_f16(q.data(), ng, k.data(), n, hd, 0.125f, sr.data(), lds);
          for (size_t i = 0; i < s.size(); ++i) CHECK(s[i] == doctest::Approx(sr[i]).epsilon(1e-5).scale(1.0));
          auto y0 = random_floats(static_cast<size_t>(ng * hd), 25);
          std::vector<float> y = y0, yr = y0;
          attn_accumulate_f16(p.data(), lds, ng, v.data(), n, hd, y.data());
          ref::attn_accumulate_f16(p.data(), lds, ng, v.data(), n, hd, yr.data());
          for (size_t i = 0; i < y.size(); ++i) CHECK(y[i] == doctest::Approx(yr[i]).epsilon(1e-5).scale(1.0));
        }
    set_active_isa(prev);
  }
}
