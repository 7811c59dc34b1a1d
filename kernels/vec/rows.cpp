// Public row kernels: on x86, the xsimd build at 512-bit width
// (vec/rows_avx512.cpp) when the active ISA is avx512vnni or avx512amx, at
// 256-bit width (vec/rows_avx2.cpp) under avx2, so RLLM_ISA=avx2 runs the
// AVX2 rows; the xsimd/NEON build (arm/rows_neon.cpp) on aarch64; the scalar
// twins otherwise (and under RLLM_ISA=scalar).
#include "kernels/kernels.h"
#include "kernels/vec/rows_isa.h"

namespace rllm::kernels {
namespace {

#if defined(__x86_64__)
bool use_avx512() { return fallback_isa(active_isa()) == Isa::avx512vnni; }
bool use_avx2() { return active_isa() == Isa::avx2; }
#define RLLM_ROW(name, ...)                        \
  (use_avx512() ? avx512::name(__VA_ARGS__)        \
   : use_avx2() ? avx2::name(__VA_ARGS__)          \
                : ref::name(__VA_ARGS__))
#elif defined(__aarch64__)
bool use_neon() { return active_isa() == Isa::neon; }
#define RLLM_ROW(name, ...) (use_neon() ? neon::name(__VA_ARGS__) : ref::name(__VA_ARGS__))
#else
#define RLLM_ROW(name, ...) ref::name(__VA_ARGS__)
#endif

}  // namespace

void rmsnorm(const float* x, const float* w, float eps, int64_t n, float* y) { RLLM_ROW(rmsnorm, x, w, eps, n, y); }
void skip_rmsnorm(const float* x, const float* skip, const float* bias, const float* w, float eps, int64_t n,
                  float* y, float* sum_out) {
  RLLM_ROW(skip_rmsnorm, x, skip, bias, w, eps, n, y, sum_out);
}
// LayerNorm keeps the AVX2 build under avx512vnni/amx: its sums over 16
// lanes round otherwise than over 8, which moves a uint8 activation code of
// one paraphrase-MiniLM-L3 sentence past the bound of tests/engine/int8
// (no sentence may move on L3), for ~0.4% of the L3 encoder's time at batch 1.
void layernorm(const float* x, const float* gamma, const float* beta, float eps, int64_t n, float* y) {
#if defined(__x86_64__)
  if (use_avx512()) return avx2::layernorm(x, gamma, beta, eps, n, y);
#endif
  RLLM_ROW(layernorm, x, gamma, beta, eps, n, y);
}
void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t rotary_dim, const float* cos, const float* sin,
          bool interleaved) {
#if defined(__x86_64__)
  if (!interleaved && use_avx512()) return avx512::rope_halves(x, n_heads, head_dim, rotary_dim, cos, sin);
  if (!interleaved && use_avx2()) return avx2::rope_halves(x, n_heads, head_dim, rotary_dim, cos, sin);
#elif defined(__aarch64__)
  if (!interleaved && use_neon()) return neon::rope_halves(x, n_heads, head_dim, rotary_dim, cos, sin);
#endif
  ref::rope(x, n_heads, head_dim, rotary_dim, cos, sin, interleaved);
}
void softmax(float* x, int64_t n) { RLLM_ROW(softmax, x, n); }
void silu_mul(const float* gate, const float* up, float* out, int64_t n) { RLLM_ROW(silu_mul, gate, up, out, n); }
void silu(const float* x, float* y, int64_t n) { RLLM_ROW(silu, x, y, n); }
void sigmoid(const float* x, float* y, int64_t n) { RLLM_ROW(sigmoid, x, y, n); }
void gelu_erf(const float* x, float* y, int64_t n) { RLLM_ROW(gelu_erf, x, y, n); }
void gelu_tanh(const float* x, float* y, int64_t n) { RLLM_ROW(gelu_tanh, x, y, n); }
void add(const float* a, const float* b, float* y, int64_t n) { RLLM_ROW(add, a, b, y, n); }
void mul(const float* a, const float* b, float* y, int64_t n) { RLLM_ROW(mul, a, b, y, n); }
float dot(const float* a, const float* b, int64_t n) { return RLLM_ROW(dot, a, b, n); }
void axpy(float alpha, const float* x, float* y, int64_t n) { RLLM_ROW(axpy, alpha, x, y, n); }
void attn_scores(const float* q, int64_t ng, const float* k, int64_t n, int64_t hd, float scale, float* scores,
                 int64_t lds) {
  RLLM_ROW(attn_scores, q, ng, k, n, hd, scale, scores, lds);
}
void attn_accumulate(const float* p, int64_t ldp, int64_t ng, const float* v, int64_t n, int64_t hd, float* y) {
  RLLM_ROW(attn_accumulate, p, ldp, ng, v, n, hd, y);
}
void f16_to_f32(const uint16_t* x, float* y, int64_t n) { RLLM_ROW(f16_to_f32, x, y, n); }
void f32_to_f16(const float* x, uint16_t* y, int64_t n) { RLLM_ROW(f32_to_f16, x, y, n); }
void quantize_row_i8(const float* x, int64_t n, int64_t block, int8_t* q, float* scales) {
  RLLM_ROW(quantize_row_i8, x, n, block, q, scales);
}

}  // namespace rllm::kernels
