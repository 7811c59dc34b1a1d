// Row kernels over xsimd's NEON64 backend (base ARMv8-A); vec/rows.cpp
// dispatches here or to the scalar twins in ref/rows_ref.cpp. The xsimd code
// is that of vec/rows_avx2.cpp with 4-lane batches; fp16 conversion and int8
// rounding use NEON intrinsics (fcvtl/fcvtn, fcvtns), as the AVX2 file uses F16C.
#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <xsimd/xsimd.hpp>

#include "kernels/arm/rows_neon.h"

namespace rllm::kernels::neon {
namespace {

using arch = xsimd::neon64;
using V = xsimd::batch<float, arch>;
constexpr int64_t W = int64_t(V::size);

V load(const float* p) { return V::load_unaligned(p); }

float hmax(V v) {  // xsimd 8 has no horizontal max
  alignas(16) float t[W];
  v.store_aligned(t);
  float m = t[0];
  for (int64_t i = 1; i < W; ++i) m = std::fmax(m, t[i]);
  return m;
}

// y[i] = f(x[i]) with f over batches; the tail runs through a padded batch.
template <typename F>
void map(const float* x, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + W <= n; i += W) f(load(x + i)).store_unaligned(y + i);
  if (i < n) {
    alignas(16) float t[W] = {};
    for (int64_t j = i; j < n; ++j) t[j - i] = x[j];
    f(V::load_aligned(t)).store_aligned(t);
    for (int64_t j = i; j < n; ++j) y[j] = t[j - i];
  }
}

template <typename F>
void map2(const float* a, const float* b, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + W <= n; i += W) f(load(a + i), load(b + i)).store_unaligned(y + i);
  for (; i < n; ++i) {
    alignas(16) float ta[W] = {}, tb[W] = {};
    ta[0] = a[i];
    tb[0] = b[i];
    y[i] = f(V::load_aligned(ta), V::load_aligned(tb)).get(0);
  }
}

float sum_squares(const float* x, int64_t n) {
  V s0(0.0f), s1(0.0f);
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    V a = load(x + i), b = load(x + i + W);
    s0 = xsimd::fma(a, a, s0);
    s1 = xsimd::fma(b, b, s1);
  }
  float s = xsimd::hadd(s0 + s1);
  for (; i < n; ++i) s += x[i] * x[i];
  return s;
}

void scale_mul(const float* x, float r, const float* w, float* y, int64_t n) {
  map2(x, w, y, n, [r](V a, V b) { return a * V(r) * b; });
}

V sigmoid_v(V x) { return V(1.0f) / (V(1.0f) + xsimd::exp(-x)); }

}  // namespace

void rmsnorm(const float* x, const float* w, float eps, int64_t n, float* y) {
  float r = 1.0f / std::sqrt(sum_squares(x, n) / float(n) + eps);
  scale_mul(x, r, w, y, n);
}

void skip_rmsnorm(const float* x, const float* skip, const float* bias, const float* w, float eps, int64_t n,
                  float* y, float* sum_out) {
  add(x, skip, y, n);
  if (bias) add(y, bias, y, n);
  if (sum_out) std::copy(y, y + n, sum_out);
  float r = 1.0f / std::sqrt(sum_squares(y, n) / float(n) + eps);
  scale_mul(y, r, w, y, n);
}

void layernorm(const float* x, const float* gamma, const float* beta, float eps, int64_t n, float* y) {
  V s(0.0f);
  int64_t i = 0;
  for (; i + W <= n; i += W) s += load(x + i);
  float sum = xsimd::hadd(s);
  for (; i < n; ++i) sum += x[i];
  const float mean = sum / float(n);
  V v(0.0f);
  for (i = 0; i + W <= n; i += W) {
    V d = load(x + i) - V(mean);
    v = xsimd::fma(d, d, v);
  }
  float var = xsimd::hadd(v);
  for (; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  const float r = 1.0f / std::sqrt(var / float(n) + eps);
  map2(x, gamma, y, n, [mean, r](V a, V g) { return (a - V(mean)) * V(r) * g; });
  if (beta) add(y, beta, y, n);
}

void rope_halves(float* x, int64_t n_heads, int64_t head_dim, int64_t rotary_dim, const float* cos,
                 const float* sin) {
  const int64_t half = rotary_dim / 2;
  for (int64_t h = 0; h < n_heads; ++h) {
    float* v = x + h * head_dim;
    int64_t i = 0;
    for (; i + W <= half; i += W) {
      V a = load(v + i), b = load(v + i + half), c = load(cos + i), s = load(sin + i);
      (a * c - b * s).store_unaligned(v + i);
      (a * s + b * c).store_unaligned(v + i + half);
    }
    for (; i < half; ++i) {
      float a = v[i], b = v[i + half];
      v[i] = a * cos[i] - b * sin[i];
      v[i + half] = a * sin[i] + b * cos[i];
    }
  }
}

void softmax(float* x, int64_t n) {
  V m(-INFINITY);
  int64_t i = 0;
  for (; i + W <= n; i += W) m = xsimd::max(m, load(x + i));
  float mx = hmax(m);
  for (; i < n; ++i) mx = std::fmax(mx, x[i]);
  map(x, x, n, [mx](V a) { return xsimd::exp(a - V(mx)); });
  V s(0.0f);
  for (i = 0; i + W <= n; i += W) s += load(x + i);
  float sum = xsimd::hadd(s);
  for (; i < n; ++i) sum += x[i];
  const float inv = 1.0f / sum;
  map(x, x, n, [inv](V a) { return a * V(inv); });
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
  map2(gate, up, out, n, [](V g, V u) { return g * sigmoid_v(g) * u; });
}
void silu(const float* x, float* y, int64_t n) { map(x, y, n, [](V a) { return a * sigmoid_v(a); }); }
void sigmoid(const float* x, float* y, int64_t n) { map(x, y, n, sigmoid_v); }
void gelu_erf(const float* x, float* y, int64_t n) {
  map(x, y, n, [](V a) { return V(0.5f) * a * (V(1.0f) + xsimd::erf(a * V(float(M_SQRT1_2)))); });
}
void gelu_tanh(const float* x, float* y, int64_t n) {
  map(x, y, n, [](V a) {
    return V(0.5f) * a * (V(1.0f) + xsimd::tanh(V(0.7978845608028654f) * (a + V(0.044715f) * a * a * a)));
  });
}
void add(const float* a, const float* b, float* y, int64_t n) { map2(a, b, y, n, [](V p, V q) { return p + q; }); }
void mul(const float* a, const float* b, float* y, int64_t n) { map2(a, b, y, n, [](V p, V q) { return p * q; }); }

float dot(const float* a, const float* b, int64_t n) {
  V s0(0.0f), s1(0.0f);
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    s0 = xsimd::fma(load(a + i), load(b + i), s0);
    s1 = xsimd::fma(load(a + i + W), load(b + i + W), s1);
  }
  float s = xsimd::hadd(s0 + s1);
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy(float alpha, const float* x, float* y, int64_t n) {
  map2(x, y, y, n, [alpha](V p, V q) { return xsimd::fma(V(alpha), p, q); });
}

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
    V m(0.0f);
    int64_t i = 0;
    for (; i + W <= len; i += W) m = xsimd::max(m, xsimd::abs(load(x + b0 + i)));
    float amax = hmax(m);
    for (; i < len; ++i) amax = std::fmax(amax, std::fabs(x[b0 + i]));
    const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    scales[bi] = d;
    for (i = 0; i + 8 <= len; i += 8) {
      // fcvtns rounds to nearest even, as nearbyint in the scalar twin; |x * id| <= 127.
      int32x4_t v0 = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + b0 + i), id));
      int32x4_t v1 = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + b0 + i + 4), id));
      vst1_s8(q + b0 + i, vqmovn_s16(vcombine_s16(vqmovn_s32(v0), vqmovn_s32(v1))));
    }
    for (; i < len; ++i) q[b0 + i] = int8_t(std::nearbyint(x[b0 + i] * id));
  }
}

}  // namespace rllm::kernels::neon
