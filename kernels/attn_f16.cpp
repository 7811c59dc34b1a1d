// Public f16-cache attention kernels: the AVX2+F16C build (x86/attn_f16_avx2.cpp)
// on x86 CPUs with AVX2; elsewhere (NEON, scalar) rows are widened a block at
// a time into a buffer and handed to the f32 row kernels of that ISA.
#include "kernels/attn_f16.h"

#include <algorithm>
#include <vector>

#include "kernels/kernels.h"

namespace rllm::kernels {
namespace {

#if defined(__x86_64__)
bool use_avx2() {
  const Isa isa = fallback_isa(active_isa());
  return isa == Isa::avx2 || isa == Isa::avx512vnni;
}
#endif

// Rows [j, j + m) of an f16 [n, hd] block widened into buf, m <= rows_per_chunk(hd).
constexpr int64_t kChunkFloats = 4096;
int64_t rows_per_chunk(int64_t hd) { return std::max<int64_t>(1, kChunkFloats / hd); }

const float* widen(const uint16_t* x, int64_t rows, int64_t hd, std::vector<float>& buf) {
  if (buf.size() < static_cast<size_t>(rows * hd)) buf.resize(static_cast<size_t>(rows * hd));
  f16_to_f32(x, buf.data(), rows * hd);
  return buf.data();
}

}  // namespace

void attn_scores_f16(const float* q, int64_t ng, const uint16_t* k, int64_t n, int64_t hd, float scale, float* scores,
                     int64_t lds) {
#if defined(__x86_64__)
  if (use_avx2()) return avx2::attn_scores_f16(q, ng, k, n, hd, scale, scores, lds);
#endif
  thread_local std::vector<float> buf;
  for (int64_t j = 0, m; j < n; j += m) {
    m = std::min(n - j, rows_per_chunk(hd));
    attn_scores(q, ng, widen(k + j * hd, m, hd, buf), m, hd, scale, scores + j, lds);
  }
}

void attn_accumulate_f16(const float* p, int64_t ldp, int64_t ng, const uint16_t* v, int64_t n, int64_t hd, float* y) {
#if defined(__x86_64__)
  if (use_avx2()) return avx2::attn_accumulate_f16(p, ldp, ng, v, n, hd, y);
#endif
  thread_local std::vector<float> buf;
  for (int64_t j = 0, m; j < n; j += m) {
    m = std::min(n - j, rows_per_chunk(hd));
    attn_accumulate(p + j, ldp, ng, widen(v + j * hd, m, hd, buf), m, hd, y);
  }
}

}  // namespace rllm::kernels
