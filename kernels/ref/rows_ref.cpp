// Scalar twins of the row kernels (kernels.h documents each).
#include <cassert>
#include <cmath>

#include "kernels/kernels.h"
#include "kernels/ref/half.h"

namespace rllm::kernels::ref {

void rmsnorm(const float* x, const float* w, float eps, int64_t n, float* y) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += double(x[i]) * x[i];
  float r = 1.0f / std::sqrt(float(ss / double(n)) + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * r * w[i];
}

void skip_rmsnorm(const float* x, const float* skip, const float* bias, const float* w, float eps,
                  int64_t n, float* y, float* sum_out) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    float s = x[i] + skip[i] + (bias ? bias[i] : 0.0f);
    if (sum_out) sum_out[i] = s;
    y[i] = s;
    ss += double(s) * s;
  }
  float r = 1.0f / std::sqrt(float(ss / double(n)) + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = y[i] * r * w[i];
}

void layernorm(const float* x, const float* gamma, const float* beta, float eps, int64_t n,
               float* y) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  float mean = float(sum / double(n));
  double var = 0.0;
  for (int64_t i = 0; i < n; ++i) var += double(x[i] - mean) * (x[i] - mean);
  float r = 1.0f / std::sqrt(float(var / double(n)) + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * r * gamma[i] + (beta ? beta[i] : 0.0f);
}

void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t rotary_dim, const float* cos,
          const float* sin, bool interleaved) {
  assert(rotary_dim % 2 == 0 && rotary_dim <= head_dim);
  int64_t half = rotary_dim / 2;
  for (int64_t h = 0; h < n_heads; ++h) {
    float* v = x + h * head_dim;
    for (int64_t i = 0; i < half; ++i) {
      int64_t i0 = interleaved ? 2 * i : i, i1 = interleaved ? 2 * i + 1 : i + half;
      float a = v[i0], b = v[i1];
      v[i0] = a * cos[i] - b * sin[i];
      v[i1] = a * sin[i] + b * cos[i];
    }
  }
}

void softmax(float* x, int64_t n) {
  float mx = -INFINITY;
  for (int64_t i = 0; i < n; ++i) mx = std::fmax(mx, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  float inv = float(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void sigmoid(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
}

void silu(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] / (1.0f + std::exp(-x[i]));
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void gelu_erf(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * float(M_SQRT1_2)));
}

void gelu_tanh(const float* x, float* y, int64_t n) {
  const float c = 0.7978845608028654f;  // sqrt(2 / pi)
  for (int64_t i = 0; i < n; ++i)
    y[i] = 0.5f * x[i] * (1.0f + std::tanh(c * (x[i] + 0.044715f * x[i] * x[i] * x[i])));
}

void add(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void mul(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

float dot(const float* a, const float* b, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += double(a[i]) * b[i];
  return float(s);
}

void axpy(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void attn_scores(const float* q, int64_t ng, const float* k, int64_t n, int64_t hd, float scale, float* scores,
                 int64_t lds) {
  for (int64_t g = 0; g < ng; ++g)
    for (int64_t j = 0; j < n; ++j) scores[g * lds + j] = dot(q + g * hd, k + j * hd, hd) * scale;
}

void attn_accumulate(const float* p, int64_t ldp, int64_t ng, const float* v, int64_t n, int64_t hd, float* y) {
  for (int64_t g = 0; g < ng; ++g)
    for (int64_t j = 0; j < n; ++j) axpy(p[g * ldp + j], v + j * hd, y + g * hd, hd);
}

void f16_to_f32(const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = half_to_float(x[i]);
}

void f32_to_f16(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = float_to_half(x[i]);
}

void quantize_row_i8(const float* x, int64_t n, int64_t block, int8_t* q, float* scales) {
  for (int64_t b0 = 0, bi = 0; b0 < n; b0 += block, ++bi) {
    int64_t b1 = b0 + block < n ? b0 + block : n;
    float amax = 0.0f;
    for (int64_t i = b0; i < b1; ++i) amax = std::fmax(amax, std::fabs(x[i]));
    float d = amax / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    scales[bi] = d;
    for (int64_t i = b0; i < b1; ++i) q[i] = int8_t(std::nearbyint(x[i] * id));
  }
}

}  // namespace rllm::kernels::ref
