// Attention ops bound to the paged KV cache: GroupQueryAttention and
// MultiHeadAttention read and write the session's cache instead of the
// graph's past/present tensors (their present outputs stay empty).
// RotaryEmbedding is here too since GQA applies the same rotation.
//
// The mask inputs (attention_mask-derived seqlens, attention_bias) are not
// read: each row's causal extent comes from the cache, which knows where
// every sequence stands. Rows are never padded, so this is the same mask.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "engine/kv_cache/paged_kv_cache.h"
#include "engine/ops/op_util.h"
#include "kernels/attn_f16.h"
#include "kernels/kernels.h"

namespace rllm {
namespace {

using ops::need;
using ops::to_f32;

struct AttnParams {
  int num_heads = 0;
  int kv_heads = 0;
  float scale = 0;           // 0: 1/sqrt(head_dim)
  int64_t window = -1;       // local_window_size; -1 = unlimited
  float softcap = 0;
  bool rotary = false;
  bool interleaved = false;
  int layer = -1;
  Tensor cos, sin;           // f32 or f16 [max_pos, rotary_dim/2] when rotary (f16 kept as the model's view)
};

// Row `pos` of a rotary cache in f32: a pointer into an f32 cache, or an f16 row widened into buf
// (a 32k-position f16 cache is not copied once per attention node).
const float* cache_row(const Tensor& c, int64_t pos, std::vector<float>& buf) {
  const int64_t w = c.dim(1);
  if (c.dtype() == DType::f32) return c.as<float>() + pos * w;
  buf.resize(static_cast<size_t>(w));
  kernels::f16_to_f32(c.as<uint16_t>() + pos * w, buf.data(), w);
  return buf.data();
}

// Rounds to f16 precision, so an f16 model's cache holds what ONNX Runtime's would.
void round_f16(float* x, int64_t n) {
  uint16_t tmp[256];
  for (int64_t i = 0; i < n; i += 256) {
    int64_t m = std::min<int64_t>(256, n - i);
    kernels::f32_to_f16(x + i, tmp, m);
    kernels::f16_to_f32(tmp, x + i, m);
  }
}

Status check_rotary(const AttnParams& p, int64_t pos_end, int64_t head_dim) {
  if (pos_end > p.cos.dim(0))
    return Status::error("position " + std::to_string(pos_end - 1) + " is past the rotary cache (" +
                         std::to_string(p.cos.dim(0)) + " positions)");
  if (p.cos.dim(1) * 2 > head_dim) return Status::error("rotary cache is wider than the head");
  return ok_status();
}

// Stores one head's K or V row (f32) into the cache's element type.
void store(KvCache& kv, void* dst, const float* src, int64_t hd) {
  if (kv.config().dtype == DType::f16) kernels::f32_to_f16(src, static_cast<uint16_t*>(dst), hd);
  else std::memcpy(dst, src, sizeof(float) * hd);
}

// n consecutive cached rows [n, hd] as f32: the cache itself, or `scratch`
// widened from f16.
const float* load(const KvCache& kv, const void* src, int64_t n, int64_t hd, std::vector<float>& scratch) {
  if (kv.config().dtype == DType::f32) return static_cast<const float*>(src);
  scratch.resize(static_cast<size_t>(n * hd));
  kernels::f16_to_f32(static_cast<const uint16_t*>(src), scratch.data(), n * hd);
  return scratch.data();
}

// Causal attention of S >= 2 new tokens as small GEMMs. One unit of work is
// (row b, KV head, tile of kTq query positions): the unit's keys
// [kfirst, pos_max] are gathered once from the paged cache as K^T [hd, Lt]
// and V [Lt, hd] (f32), then for each of the `group` query heads sharing
// them: scores [kTq, Lt] = Q · K^T, scaled (and soft-capped) and softmaxed over
// each row's own causal/window extent (the rest zeroed), y = P · V. Tiles are
// ordered first, last, second, second-last... so the pool's contiguous
// chunks get equal causal work.
// qr [B*S, nh*hd] (rotated), y [B, S, nh*hd].
void attend_prefill(const AttnParams& p, const float* qr, int64_t B, int64_t S, int64_t hd, float scale,
                    const KvCache& kv, const BatchState& bs, float* y, ThreadPool& pool) {
  constexpr int64_t kTq = 32;
  const int nh = p.num_heads, kvh = p.kv_heads, group = nh / kvh;
  const int64_t tiles = (S + kTq - 1) / kTq, row_len = nh * hd;
  pool.parallel_for(B * kvh * tiles, 1, [&](int64_t u0, int64_t u1) {
    ThreadPool serial(1);  // this unit already runs on one of the pool's threads
    std::vector<float> kt, vv, scores, scratch;
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t t_idx = u % tiles, b = u / tiles / kvh;
      const int kh = static_cast<int>(u / tiles % kvh);
      const int64_t tile = t_idx % 2 == 0 ? t_idx / 2 : tiles - 1 - t_idx / 2;
      const int64_t i0 = tile * kTq, tq = std::min(kTq, S - i0);
      const int64_t pos0 = bs.n_past[b] + i0, pos_max = pos0 + tq - 1;
      auto first_key = [&](int64_t pos) { return p.window > 0 && pos >= p.window ? pos - p.window + 1 : 0; };
      const int64_t kfirst = first_key(pos0), lt = pos_max - kfirst + 1;
      const int seq = bs.seqs[b];
      kt.resize(static_cast<size_t>(hd * lt));
      vv.resize(static_cast<size_t>(lt * hd));
      scores.resize(static_cast<size_t>(tq * lt));
      for (int64_t t = kfirst, n; t <= pos_max; t += n) {
        n = kv.contiguous(t, pos_max + 1);
        const float* keys = load(kv, kv.slot(seq, p.layer, 0, kh, t), n, hd, scratch);
        for (int64_t j = 0; j < n; ++j)
          for (int64_t d = 0; d < hd; ++d) kt[d * lt + t - kfirst + j] = keys[j * hd + d];
        const float* values = load(kv, kv.slot(seq, p.layer, 1, kh, t), n, hd, scratch);
        std::memcpy(vv.data() + (t - kfirst) * hd, values, sizeof(float) * n * hd);
      }
      for (int g = 0; g < group; ++g) {
        const int64_t h = int64_t(kh) * group + g;
        const float* qh = qr + (b * S + i0) * row_len + h * hd;
        // scores [tq, lt] = q_h [tq, hd] · K^T [hd, lt]
        kernels::gemm_f32(qh, row_len, kt.data(), lt, scores.data(), lt, tq, lt, hd, serial);
        for (int64_t r = 0; r < tq; ++r) {
          float* s = scores.data() + r * lt;
          const int64_t lo = first_key(pos0 + r) - kfirst, hi = pos0 + r - kfirst;  // valid [lo, hi]
          for (int64_t j = lo; j <= hi; ++j) {
            s[j] *= scale;
            if (p.softcap > 0) s[j] = p.softcap * std::tanh(s[j] / p.softcap);
          }
          kernels::softmax(s + lo, hi - lo + 1);
          std::fill(s, s + lo, 0.0f);
          std::fill(s + hi + 1, s + lt, 0.0f);
        }
        // y_h [tq, hd] = P [tq, lt] · V [lt, hd]
        kernels::gemm_f32(scores.data(), lt, vv.data(), hd, y + (b * S + i0) * row_len + h * hd, row_len, tq, hd, lt,
                          serial);
      }
    }
  });
}

// One new token per row (decode): one unit of work is (row b, KV head), whose
// `group` query heads [group, hd] are contiguous in q and y. Per block of
// cached keys, attn_scores (attn_scores_f16 on an f16 cache, which widens
// rows in registers: no copy) reads each key once for the whole group; the
// scores [group, len] are soft-capped and softmaxed per head over [first, pos],
// then attn_accumulate reads each value once: y_g = P_g · V.
// qr [B, nh*hd] (rotated), y [B, nh*hd].
void attend_decode(const AttnParams& p, const float* qr, int64_t B, int64_t hd, float scale, const KvCache& kv,
                   const BatchState& bs, float* y, ThreadPool& pool) {
  const int nh = p.num_heads, kvh = p.kv_heads, group = nh / kvh;
  const bool f16 = kv.config().dtype == DType::f16;
  const int64_t elem = f16 ? 2 : 4;
  pool.parallel_for(B * kvh, 1, [&](int64_t u0, int64_t u1) {
    // Grown, never shrunk: a steady decode step allocates nothing here.
    thread_local std::vector<float> scores;
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t b = u / kvh, pos = bs.n_past[b];
      const int kh = static_cast<int>(u % kvh);
      // local_window_size W: the last W keys (pos - W, pos], as onnxruntime and Hugging Face mask
      const int64_t first = p.window > 0 && pos >= p.window ? pos - p.window + 1 : 0, len = pos - first + 1;
      if (scores.size() < static_cast<size_t>(group * len)) scores.resize(static_cast<size_t>(group * len));
      const float* qg = qr + b * nh * hd + int64_t(kh) * group * hd;
      float* yg = y + b * nh * hd + int64_t(kh) * group * hd;
      const int seq = bs.seqs[b];
      // A block's rows of one head are one page or less (16 x 64 f32 = 4 KB), where hardware
      // prefetchers stop: the next block is fetched while this one is read.
      auto prefetch_block = [&](int kvi, int64_t t) {
        if (t > pos) return;
        const auto* a = static_cast<const char*>(kv.slot(seq, p.layer, kvi, kh, t));
        const int64_t bytes = kv.contiguous(t, pos + 1) * hd * elem;
        for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(a + o);
      };
      prefetch_block(0, first);
      for (int64_t t = first, n; t <= pos; t += n) {
        n = kv.contiguous(t, pos + 1);
        prefetch_block(0, t + n);
        const void* keys = kv.slot(seq, p.layer, 0, kh, t);
        float* st = scores.data() + (t - first);
        if (f16) kernels::attn_scores_f16(qg, group, static_cast<const uint16_t*>(keys), n, hd, scale, st, len);
        else kernels::attn_scores(qg, group, static_cast<const float*>(keys), n, hd, scale, st, len);
      }
      prefetch_block(1, first);
      for (int g = 0; g < group; ++g) {
        float* s = scores.data() + g * len;
        if (p.softcap > 0)
          for (int64_t j = 0; j < len; ++j) s[j] = p.softcap * std::tanh(s[j] / p.softcap);
        kernels::softmax(s, len);
      }
      std::memset(yg, 0, sizeof(float) * group * hd);
      for (int64_t t = first, n; t <= pos; t += n) {
        n = kv.contiguous(t, pos + 1);
        prefetch_block(1, t + n);
        const void* values = kv.slot(seq, p.layer, 1, kh, t);
        const float* pt = scores.data() + (t - first);
        if (f16) kernels::attn_accumulate_f16(pt, len, group, static_cast<const uint16_t*>(values), n, hd, yg);
        else kernels::attn_accumulate(pt, len, group, static_cast<const float*>(values), n, hd, yg);
      }
    }
  });
}

// q [B, S, nh*hd], k/v [B, S, kvh*hd] (row strides given) -> y [B, S, nh*hd].
Status attend(const AttnParams& p, const float* q, int64_t q_stride, const float* k, const float* v,
              int64_t kv_stride, int64_t B, int64_t S, int64_t hd, bool f16_model, float* y, ExecContext& ctx) {
  if (ctx.kv == nullptr || ctx.batch == nullptr) return Status::error("no KV cache bound to this run");
  if (p.layer < 0 || p.layer >= ctx.kv->config().n_layers)
    return Status::error("attention layer " + std::to_string(p.layer) + " has no KV cache");
  const BatchState& bs = *ctx.batch;
  if (static_cast<int64_t>(bs.seqs.size()) != B || bs.n_new != S)
    return Status::error("batch of " + std::to_string(B) + "x" + std::to_string(S) + " does not match the session's");
  KvCache& kv = *ctx.kv;
  if (kv.config().kv_heads != p.kv_heads || kv.config().head_dim != hd)
    return Status::error("KV cache is " + std::to_string(kv.config().kv_heads) + " heads x " +
                         std::to_string(kv.config().head_dim) + ", the node needs " + std::to_string(p.kv_heads) + " x " +
                         std::to_string(hd));
  const int nh = p.num_heads, kvh = p.kv_heads;
  const int64_t rot = p.rotary ? p.cos.dim(1) * 2 : 0;
  // Grown, never shrunk: a steady decode step allocates nothing here.
  thread_local std::vector<float> qr, row, cos_buf, sin_buf;
  if (qr.size() < static_cast<size_t>(B * S * nh * hd)) qr.resize(static_cast<size_t>(B * S * nh * hd));
  if (row.size() < static_cast<size_t>(hd)) row.resize(static_cast<size_t>(hd));
  for (int64_t b = 0; b < B; ++b) {
    if (p.rotary) RLLM_RETURN_IF_ERROR(check_rotary(p, bs.n_past[b] + S, hd));
    for (int64_t i = 0; i < S; ++i) {
      int64_t pos = bs.n_past[b] + i;
      const float* c = rot ? cache_row(p.cos, pos, cos_buf) : nullptr;
      const float* sn = rot ? cache_row(p.sin, pos, sin_buf) : nullptr;
      float* qrow = qr.data() + (b * S + i) * nh * hd;
      std::memcpy(qrow, q + (b * S + i) * q_stride, sizeof(float) * nh * hd);
      const float* krow = k + (b * S + i) * kv_stride;
      const float* vrow = v + (b * S + i) * kv_stride;
      for (int h = 0; h < kvh; ++h) {
        std::memcpy(row.data(), krow + h * hd, sizeof(float) * hd);
        if (rot) kernels::rope(row.data(), 1, hd, rot, c, sn, p.interleaved);
        // An f16 model's cache holds f16 values in ONNX Runtime too.
        if (f16_model) round_f16(row.data(), hd);
        store(kv, kv.slot(bs.seqs[b], p.layer, 0, h, pos), row.data(), hd);
        std::memcpy(row.data(), vrow + h * hd, sizeof(float) * hd);
        if (f16_model) round_f16(row.data(), hd);
        store(kv, kv.slot(bs.seqs[b], p.layer, 1, h, pos), row.data(), hd);
      }
      if (rot) kernels::rope(qrow, nh, hd, rot, c, sn, p.interleaved);
      if (f16_model && rot) round_f16(qrow, nh * hd);
    }
  }
  const float scale = p.scale != 0 ? p.scale : 1.0f / std::sqrt(static_cast<float>(hd));
  if (S >= 2) {
    attend_prefill(p, qr.data(), B, S, hd, scale, kv, bs, y, *ctx.pool);
    return ok_status();
  }
  attend_decode(p, qr.data(), B, hd, scale, kv, bs, y, *ctx.pool);
  return ok_status();
}

Result<Tensor> rotary_cache(const LoadContext& lc, size_t index, const char* name) {
  const Tensor* c = lc.constant(index);
  if (c == nullptr) return lc.error(std::string(name) + " must be a constant initializer");
  if (c->rank() != 2) return lc.error(std::string(name) + " must be 2-D [max_position, rotary_dim/2]");
  return to_f32(*c);
}

// GroupQueryAttention's caches stay f32 or f16 as stored (read a row at a time by cache_row).
Result<Tensor> gqa_rotary_cache(const LoadContext& lc, size_t index, const char* name) {
  const Tensor* c = lc.constant(index);
  if (c == nullptr) return lc.error(std::string(name) + " must be a constant initializer");
  if (c->rank() != 2) return lc.error(std::string(name) + " must be 2-D [max_position, rotary_dim/2]");
  if (c->dtype() != DType::f32 && c->dtype() != DType::f16) return lc.error(std::string(name) + " must be float or float16");
  return *c;
}

Result<std::unique_ptr<Op>> gqa_factory(const LoadContext& lc) {
  AttnParams p;
  p.num_heads = static_cast<int>(lc.node.attr_i("num_heads", 0));
  p.kv_heads = static_cast<int>(lc.node.attr_i("kv_num_heads", 0));
  p.scale = lc.node.attr_f("scale", 0);
  p.window = lc.node.attr_i("local_window_size", -1);
  p.softcap = lc.node.attr_f("softcap", 0);
  p.rotary = lc.node.attr_i("do_rotary", 0) != 0;
  p.interleaved = lc.node.attr_i("rotary_interleaved", 0) != 0;
  p.layer = lc.kv_layer;
  if (p.num_heads <= 0 || p.kv_heads <= 0 || p.num_heads % p.kv_heads)
    return lc.error("num_heads must be a positive multiple of kv_num_heads");
  if (lc.node.attr_i("smooth_softmax", 0) != 0 || lc.has_input(10) || lc.has_input(11))
    return lc.error("smooth_softmax, attention_bias and head_sink are not supported");
  // Inputs 12-16 (quantized-KV scales, fused per-head q/k RMSNorm weights of CUDA/WebGPU exports,
  // right-padded query_seqlens) change the result: refuse rather than ignore them.
  static const char* const kLater[] = {"k_scale", "v_scale", "q_norm_weight", "k_norm_weight", "query_seqlens"};
  for (size_t i = 12; i <= 16; ++i)
    if (lc.has_input(i)) return lc.error(std::string("input ") + kLater[i - 12] + " is not supported");
  if (lc.node.attr_i("kv_cache_bit_width", 0) != 0) return lc.error("a quantized KV cache (kv_cache_bit_width) is not supported");
  if (p.layer < 0) return lc.error("past_key input does not name a KV cache layer");
  if (p.rotary) {
    RLLM_ASSIGN_OR_RETURN(p.cos, gqa_rotary_cache(lc, 7, "cos_cache"));
    RLLM_ASSIGN_OR_RETURN(p.sin, gqa_rotary_cache(lc, 8, "sin_cache"));
    if (p.sin.shape() != p.cos.shape()) return lc.error("cos_cache and sin_cache shapes differ");
  }
  bool packed = !lc.has_input(1);
  return make_op([p, packed](std::span<const Tensor> in, std::span<Tensor> out, ExecContext& ctx) -> Status {
    RLLM_RETURN_IF_ERROR(need(in, 0, "query"));
    RLLM_ASSIGN_OR_RETURN(Tensor q, to_f32(in[0]));
    if (q.rank() != 3) return Status::error("query must be [batch, sequence, hidden]");
    int64_t B = q.dim(0), S = q.dim(1);
    int64_t total = packed ? p.num_heads + 2 * p.kv_heads : p.num_heads;
    if (q.dim(2) % total) return Status::error("query width " + std::to_string(q.dim(2)) + " is not a multiple of the heads");
    int64_t hd = q.dim(2) / total;
    Tensor k, v;
    const float *pk, *pv;
    int64_t kv_stride;
    if (packed) {
      pk = q.as<float>() + p.num_heads * hd;
      pv = pk + p.kv_heads * hd;
      kv_stride = q.dim(2);
    } else {
      RLLM_RETURN_IF_ERROR(need(in, 2, "value"));
      RLLM_ASSIGN_OR_RETURN(k, to_f32(in[1]));
      RLLM_ASSIGN_OR_RETURN(v, to_f32(in[2]));
      if (k.shape() != Shape{B, S, p.kv_heads * hd} || v.shape() != k.shape())
        return Status::error("key/value must be [batch, sequence, kv_heads*head_size]");
      pk = k.as<float>();
      pv = v.as<float>();
      kv_stride = p.kv_heads * hd;
    }
    Tensor y = Tensor::uninit(DType::f32, {B, S, p.num_heads * hd});
    RLLM_RETURN_IF_ERROR(attend(p, q.as<float>(), q.dim(2), pk, pv, kv_stride, B, S, hd,
                                in[0].dtype() == DType::f16, y.mut<float>(), ctx));
    out[0] = ops::from_f32(y, in[0].dtype());
    return ok_status();
  });
}

// MultiHeadAttention with separate q, k, v [B, S, nh*hd] (already rotated).
Result<std::unique_ptr<Op>> mha_factory(const LoadContext& lc) {
  AttnParams p;
  p.num_heads = p.kv_heads = static_cast<int>(lc.node.attr_i("num_heads", 0));
  p.scale = lc.node.attr_f("scale", 0);
  p.layer = lc.kv_layer;
  if (p.num_heads <= 0) return lc.error("num_heads must be positive");
  if (lc.node.attr_i("unidirectional", 0) == 0 && !lc.has_input(5))
    return lc.error("attention without a causal mask is not supported on the KV cache");
  if (lc.has_input(3) || lc.has_input(4)) return lc.error("bias and key_padding_mask are not supported");
  if (p.layer < 0) return lc.error("past_key input does not name a KV cache layer");
  return make_op([p](std::span<const Tensor> in, std::span<Tensor> out, ExecContext& ctx) -> Status {
    for (size_t i = 0; i < 3; ++i) RLLM_RETURN_IF_ERROR(need(in, i, "query/key/value"));
    RLLM_ASSIGN_OR_RETURN(Tensor q, to_f32(in[0]));
    RLLM_ASSIGN_OR_RETURN(Tensor k, to_f32(in[1]));
    RLLM_ASSIGN_OR_RETURN(Tensor v, to_f32(in[2]));
    if (q.rank() != 3 || k.shape() != q.shape() || v.shape() != q.shape())
      return Status::error("query, key and value must share one [batch, sequence, hidden] shape");
    int64_t B = q.dim(0), S = q.dim(1), hd = q.dim(2) / p.num_heads;
    Tensor y = Tensor::uninit(DType::f32, q.shape());
    RLLM_RETURN_IF_ERROR(attend(p, q.as<float>(), q.dim(2), k.as<float>(), v.as<float>(), q.dim(2), B, S, hd,
                                in[0].dtype() == DType::f16, y.mut<float>(), ctx));
    out[0] = ops::from_f32(y, in[0].dtype());
    return ok_status();
  });
}

// RotaryEmbedding (com.microsoft): input [B, S, hidden] or [B, nh, S, hd],
// position_ids [B, S] (or [1]: the first position), caches [max_pos, rot/2].
Result<std::unique_ptr<Op>> rotary_factory(const LoadContext& lc) {
  bool interleaved = lc.node.attr_i("interleaved", 0) != 0;
  int64_t num_heads = lc.node.attr_i("num_heads", 0);
  int64_t rot_attr = lc.node.attr_i("rotary_embedding_dim", 0);
  if (lc.node.attr_i("is_packed_batching", 0) != 0) return lc.error("packed batching is not supported");
  RLLM_ASSIGN_OR_RETURN(Tensor cos, rotary_cache(lc, 2, "cos_cache"));
  RLLM_ASSIGN_OR_RETURN(Tensor sin, rotary_cache(lc, 3, "sin_cache"));
  return make_op([=](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) -> Status {
    RLLM_RETURN_IF_ERROR(need(in, 0, "input"));
    RLLM_RETURN_IF_ERROR(need(in, 1, "position_ids"));
    RLLM_ASSIGN_OR_RETURN(Tensor x, to_f32(in[0]));
    RLLM_ASSIGN_OR_RETURN(auto pos, ops::to_ints(in[1], "position_ids"));
    int64_t rot = rot_attr > 0 ? rot_attr : cos.dim(1) * 2;
    bool four_d = x.rank() == 4;
    if (x.rank() != 3 && !four_d) return Status::error("input must be 3-D or 4-D");
    int64_t B = x.dim(0), S = four_d ? x.dim(2) : x.dim(1);
    int64_t hd = four_d ? x.dim(3) : (num_heads > 0 ? x.dim(2) / num_heads : rot);
    int64_t nh = four_d ? x.dim(1) : x.dim(2) / hd;
    if (rot > hd || rot / 2 > cos.dim(1)) return Status::error("rotary dim exceeds the head or the cache");
    Tensor y = Tensor::uninit(DType::f32, x.shape());
    std::memcpy(y.mutable_data(), x.data(), static_cast<size_t>(x.nbytes()));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < S; ++s) {
        int64_t p = pos.size() == 1 ? pos[0] + s : pos.at(static_cast<size_t>(b * S + s));
        if (p < 0 || p >= cos.dim(0)) return Status::error("position " + std::to_string(p) + " is outside the rotary cache");
        const float* c = cos.as<float>() + p * cos.dim(1);
        const float* sn = sin.as<float>() + p * sin.dim(1);
        if (four_d) {
          for (int64_t h = 0; h < nh; ++h) kernels::rope(y.mut<float>() + ((b * nh + h) * S + s) * hd, 1, hd, rot, c, sn, interleaved);
        } else {
          kernels::rope(y.mut<float>() + (b * S + s) * nh * hd, nh, hd, rot, c, sn, interleaved);
        }
      }
    out[0] = ops::from_f32(y, in[0].dtype());
    return ok_status();
  });
}

}  // namespace

void register_attention_ops(OpRegistry& r) {
  r.add("com.microsoft", "GroupQueryAttention", 1, gqa_factory);
  r.add("com.microsoft", "MultiHeadAttention", 1, mha_factory);
  r.add("com.microsoft", "RotaryEmbedding", 1, rotary_factory);
}

}  // namespace rllm
