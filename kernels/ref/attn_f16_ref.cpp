// Scalar twins of kernels/attn_f16.h: each f16 row widened by ref::f16_to_f32,
// then the f32 twins' dot and axpy.
#include <vector>

#include "kernels/attn_f16.h"
#include "kernels/kernels.h"

namespace rllm::kernels::ref {

void attn_scores_f16(const float* q, int64_t ng, const uint16_t* k, int64_t n, int64_t hd, float scale, float* scores,
                     int64_t lds) {
  std::vector<float> row(static_cast<size_t>(hd));
  for (int64_t j = 0; j < n; ++j) {
    f16_to_f32(k + j * hd, row.data(), hd);
    for (int64_t g = 0; g < ng; ++g) scores[g * lds + j] = dot(q + g * hd, row.data(), hd) * scale;
  }
}

void attn_accumulate_f16(const float* p, int64_t ldp, int64_t ng, const uint16_t* v, int64_t n, int64_t hd, float* y) {
  std::vector<float> row(static_cast<size_t>(hd));
  for (int64_t j = 0; j < n; ++j) {
    f16_to_f32(v + j * hd, row.data(), hd);
    for (int64_t g = 0; g < ng; ++g) axpy(p[g * ldp + j], row.data(), y + g * hd, hd);
  }
}

}  // namespace rllm::kernels::ref
