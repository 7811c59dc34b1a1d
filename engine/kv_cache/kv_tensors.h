// The paged KV cache as past/present tensors, for graphs whose attention is
// spelled with standard ops (optimum / torch.onnx exports): the KV state goes
// into the graph as past_key_values.{i}.key/value [B, kv_heads, past, head_dim]
// and comes out as present.{i}.key/value [B, kv_heads, past + new, head_dim].
// The paged cache stays the storage; each step copies every sequence's past
// in and the new positions of present back.
#pragma once

#include "engine/kv_cache/paged_kv_cache.h"

namespace rllm {

// K (kv = 0) or V (kv = 1) of one layer for the rows of `bs`:
// [B, kv_heads, max_past, head_dim] of `type` (f32 or f16), where max_past is
// the longest n_past. Row b's positions 0 .. n_past[b]-1 sit right-aligned
// (at max_past - n_past[b] ..) after zeros: left padding, as optimum pads a
// batch; the attention_mask's zeros on the left mask it out.
Tensor gather_past(const KvCache& cache, const BatchState& bs, int layer, int kv, DType type);

// Writes the last bs.n_new positions of `present` [B, kv_heads, max_past + n_new, head_dim]
// (f32 or f16) to positions n_past[b] .. n_past[b] + n_new - 1 of each row's
// sequence (already appended to the cache). `name` is the output's, for errors.
Status scatter_present(KvCache& cache, const BatchState& bs, int layer, int kv, const Tensor& present,
                       const std::string& name);

}  // namespace rllm
