// Decode attention over an f16 KV cache: attn_scores / attn_accumulate
// (kernels.h) with the cached rows k, v [n, hd] in IEEE binary16, widened
// exactly to f32 as they are read. q, p, scores and y stay f32.
#pragma once

#include <cstdint>

namespace rllm::kernels {

// scores[g * lds + j] = scale * Σ_i q[g * hd + i] · f32(k[j * hd + i]), for the ng query heads of one KV head.
void attn_scores_f16(const float* q, int64_t ng, const uint16_t* k, int64_t n, int64_t hd, float scale, float* scores,
                     int64_t lds);
// y [ng, hd]: y_g += Σ_j p[g * ldp + j] · f32(v_j).
void attn_accumulate_f16(const float* p, int64_t ldp, int64_t ng, const uint16_t* v, int64_t n, int64_t hd, float* y);

namespace ref {
void attn_scores_f16(const float* q, int64_t ng, const uint16_t* k, int64_t n, int64_t hd, float scale, float* scores,
                     int64_t lds);
void attn_accumulate_f16(const float* p, int64_t ldp, int64_t ng, const uint16_t* v, int64_t n, int64_t hd, float* y);
}  // namespace ref

#if defined(__x86_64__)
namespace avx2 {
void attn_scores_f16(const float* q, int64_t ng, const uint16_t* k, int64_t n, int64_t hd, float scale, float* scores,
                     int64_t lds);
void attn_accumulate_f16(const float* p, int64_t ldp, int64_t ng, const uint16_t* v, int64_t n, int64_t hd, float* y);
}  // namespace avx2
#endif

}  // namespace rllm::kernels
