#include "engine/kv_cache/kv_tensors.h"

#include <algorithm>
#include <cstring>

#include "kernels/kernels.h"

namespace rllm {
namespace {

// n elements from one of f32/f16 to the other (or the same).
void convert(const void* src, DType from, void* dst, DType to, int64_t n) {
  if (from == to) {
    std::memcpy(dst, src, static_cast<size_t>(n) * (from == DType::f16 ? 2 : 4));
  } else if (from == DType::f16) {
    kernels::f16_to_f32(static_cast<const uint16_t*>(src), static_cast<float*>(dst), n);
  } else {
    kernels::f32_to_f16(static_cast<const float*>(src), static_cast<uint16_t*>(dst), n);
  }
}

}  // namespace

Tensor gather_past(const KvCache& cache, const BatchState& bs, int layer, int kv, DType type) {
  const KvCacheConfig& c = cache.config();
  const int64_t B = static_cast<int64_t>(bs.seqs.size()), hd = c.head_dim;
  int64_t max_past = 0;
  for (int64_t p : bs.n_past) max_past = std::max(max_past, p);
  // Zero-filled: the left padding of shorter rows.
  Tensor t(type, {B, c.kv_heads, max_past, hd});
  const int64_t esize = type == DType::f16 ? 2 : 4;
  auto* base = static_cast<uint8_t*>(t.mutable_data());
  for (int64_t b = 0; b < B; ++b) {
    const int64_t pad = max_past - bs.n_past[b];
    for (int h = 0; h < c.kv_heads; ++h) {
      uint8_t* row = base + ((b * c.kv_heads + h) * max_past + pad) * hd * esize;
      for (int64_t pos = 0, n; pos < bs.n_past[b]; pos += n) {
        n = cache.contiguous(pos, bs.n_past[b]);
        convert(cache.slot(bs.seqs[b], layer, kv, h, pos), c.dtype, row + pos * hd * esize, type, n * hd);
      }
    }
  }
  return t;
}

Status scatter_present(KvCache& cache, const BatchState& bs, int layer, int kv, const Tensor& present,
                       const std::string& name) {
  const KvCacheConfig& c = cache.config();
  const int64_t B = static_cast<int64_t>(bs.seqs.size()), hd = c.head_dim, S = bs.n_new;
  int64_t max_past = 0;
  for (int64_t p : bs.n_past) max_past = std::max(max_past, p);
  const Shape want{B, c.kv_heads, max_past + S, hd};
  if (present.shape() != want)
    return Status::error("output '" + name + "' is " + shape_str(present.shape()) + ", expected " + shape_str(want) +
                         " [batch, kv_heads, past + new, head_size]");
  if (present.dtype() != DType::f32 && present.dtype() != DType::f16)
    return Status::error("output '" + name + "' must be float or float16, not " + std::string(dtype_name(present.dtype())));
  const int64_t esize = present.dtype() == DType::f16 ? 2 : 4;
  const auto* base = static_cast<const uint8_t*>(present.data());
  for (int64_t b = 0; b < B; ++b)
    for (int h = 0; h < c.kv_heads; ++h) {
      const uint8_t* row = base + ((b * c.kv_heads + h) * (max_past + S) + max_past) * hd * esize;
      for (int64_t i = 0, n; i < S; i += n) {
        const int64_t pos = bs.n_past[b] + i;
        n = cache.contiguous(pos, bs.n_past[b] + S);
        convert(row + i * hd * esize, present.dtype(), cache.slot(bs.seqs[b], layer, kv, h, pos), c.dtype, n * hd);
      }
    }
  return ok_status();
}

}  // namespace rllm
