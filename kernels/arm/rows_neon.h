// Row kernels for NEON (same signatures as kernels.h), in arm/rows_neon.cpp;
// vec/rows.cpp dispatches.
#pragma once

#include <cstdint>

namespace rllm::kernels::neon {
void rmsnorm(const float* x, const float* w, float eps, int64_t n, float* y);
void skip_rmsnorm(const float* x, const float* skip, const float* bias, const float* w, float eps, int64_t n,
                  float* y, float* sum_out);
void layernorm(const float* x, const float* gamma, const float* beta, float eps, int64_t n, float* y);
// rope with halves pairing (i, i + rotary_dim/2); interleaved pairs stay scalar.
void rope_halves(float* x, int64_t n_heads, int64_t head_dim, int64_t rotary_dim, const float* cos,
                 const float* sin);
void softmax(float* x, int64_t n);
void silu_mul(const float* gate, const float* up, float* out, int64_t n);
void silu(const float* x, float* y, int64_t n);
void sigmoid(const float* x, float* y, int64_t n);
void gelu_erf(const float* x, float* y, int64_t n);
void gelu_tanh(const float* x, float* y, int64_t n);
void add(const float* a, const float* b, float* y, int64_t n);
void mul(const float* a, const float* b, float* y, int64_t n);
float dot(const float* a, const float* b, int64_t n);
void axpy(float alpha, const float* x, float* y, int64_t n);
void f16_to_f32(const uint16_t* x, float* y, int64_t n);
void f32_to_f16(const float* x, uint16_t* y, int64_t n);
void quantize_row_i8(const float* x, int64_t n, int64_t block, int8_t* q, float* scales);
}  // namespace rllm::kernels::neon
