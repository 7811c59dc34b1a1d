// Row kernels over xsimd's NEON64 backend (base ARMv8-A); vec/rows.cpp
// dispatches here or to the scalar twins in ref/rows_ref.cpp. The xsimd code
// is vec/rows_xsimd.inc, shared with AVX2; fp16 conversion and int8 rounding
// use NEON intrinsics (fcvtl/fcvtn, fcvtns), as the AVX2 file uses F16C.
#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <xsimd/xsimd.hpp>

#include "kernels/vec/rows_isa.h"

namespace rllm::kernels::neon {
namespace {

using arch = xsimd::neon64;
#include "kernels/vec/rows_xsimd.inc"

void f16_to_f32(const uint16_t* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(x + i))));
  if (i < n) {
    uint16_t t[4] = {};
    float r[4];
    for (int64_t j = i; j < n; ++j) t[j - i] = x[j];
    vst1q_f32(r, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(t))));
    for (int64_t j = i; j < n; ++j) y[j] = r[j - i];
  }
}

// fcvtn rounds with the FPCR mode: to nearest even unless a caller changed it,
// as the scalar twin assumes too.
void f32_to_f16(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1_u16(y + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
  if (i < n) {
    float t[4] = {};
    uint16_t r[4];
    for (int64_t j = i; j < n; ++j) t[j - i] = x[j];
    vst1_u16(r, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(t))));
    for (int64_t j = i; j < n; ++j) y[j] = r[j - i];
  }
}

void quantize_row_i8(const float* x, int64_t n, int64_t block, int8_t* q, float* scales) {
  for (int64_t b0 = 0, bi = 0; b0 < n; b0 += block, ++bi) {
    const int64_t len = b0 + block < n ? block : n - b0;
    const float d = absmax(x + b0, len) / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    scales[bi] = d;
    int64_t i = 0;
    for (; i + 8 <= len; i += 8) {
      // fcvtns rounds to nearest even, as nearbyint in the scalar twin; |x * id| <= 127.
      int32x4_t v0 = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + b0 + i), id));
      int32x4_t v1 = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + b0 + i + 4), id));
      vst1_s8(q + b0 + i, vqmovn_s16(vcombine_s16(vqmovn_s32(v0), vqmovn_s32(v1))));
    }
    for (; i < len; ++i) q[b0 + i] = int8_t(std::nearbyint(x[b0 + i] * id));
  }
}

}  // namespace rllm::kernels::neon
