// Public row kernels: forward to the implementation for the active ISA.
#include "kernels/kernels.h"

namespace rllm::kernels {

void rmsnorm(const float* x, const float* w, float eps, int64_t n, float* y) { ref::rmsnorm(x, w, eps, n, y); }
void skip_rmsnorm(const float* x, const float* skip, const float* bias, const float* w, float eps,
                  int64_t n, float* y, float* sum_out) {
  ref::skip_rmsnorm(x, skip, bias, w, eps, n, y, sum_out);
}
void layernorm(const float* x, const float* gamma, const float* beta, float eps, int64_t n, float* y) {
  ref::layernorm(x, gamma, beta, eps, n, y);
}
void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t rotary_dim, const float* cos,
          const float* sin, bool interleaved) {
  ref::rope(x, n_heads, head_dim, rotary_dim, cos, sin, interleaved);
}
void softmax(float* x, int64_t n) { ref::softmax(x, n); }
void silu_mul(const float* gate, const float* up, float* out, int64_t n) { ref::silu_mul(gate, up, out, n); }
void silu(const float* x, float* y, int64_t n) { ref::silu(x, y, n); }
void sigmoid(const float* x, float* y, int64_t n) { ref::sigmoid(x, y, n); }
void gelu_erf(const float* x, float* y, int64_t n) { ref::gelu_erf(x, y, n); }
void gelu_tanh(const float* x, float* y, int64_t n) { ref::gelu_tanh(x, y, n); }
void add(const float* a, const float* b, float* y, int64_t n) { ref::add(a, b, y, n); }
void mul(const float* a, const float* b, float* y, int64_t n) { ref::mul(a, b, y, n); }
float dot(const float* a, const float* b, int64_t n) { return ref::dot(a, b, n); }
void axpy(float alpha, const float* x, float* y, int64_t n) { ref::axpy(alpha, x, y, n); }
void f16_to_f32(const uint16_t* x, float* y, int64_t n) { ref::f16_to_f32(x, y, n); }
void f32_to_f16(const float* x, uint16_t* y, int64_t n) { ref::f32_to_f16(x, y, n); }
void quantize_row_i8(const float* x, int64_t n, int64_t block, int8_t* q, float* scales) {
  ref::quantize_row_i8(x, n, block, q, scales);
}

}  // namespace rllm::kernels
