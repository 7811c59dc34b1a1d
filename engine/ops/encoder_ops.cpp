// run_llm EncoderSelfAttention: the attention of BERT-style exports as one op
// (engine/graph/encoder_fusion.h makes it from the graph's
// Transpose-MatMul-Div-Add-Softmax-MatMul-Transpose chain):
//
//   q [B, S, H, D], k [B, T, H, D], v [B, T, H, D], divisor c (scalar),
//   mask (optional, broadcastable to [B, H, S, T])
//   y [B, S, H, D]: y[b,s,h] = Σ_t softmax_t(q[b,s,h]·k[b,t,h] / c + mask[b,h,s,t]) v[b,t,h]
//
// Heads read q and v in place (row stride H*D) and write y in place: no
// transposed copies of q, v or the context; (b, h) pairs are split across the pool.
#include <cstring>
#include <vector>

#include "engine/ops/op_util.h"
#include "kernels/kernels.h"

namespace rllm {
namespace {

using ops::need;

Status encoder_self_attention(float divisor, std::span<const Tensor> in, std::span<Tensor> out, ExecContext& ctx) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "q"));
  RLLM_RETURN_IF_ERROR(need(in, 1, "k"));
  RLLM_RETURN_IF_ERROR(need(in, 2, "v"));
  const Tensor &q = in[0], &k = in[1], &v = in[2];
  for (const Tensor* t : {&q, &k, &v})
    if (t->dtype() != DType::f32 || t->rank() != 4)
      return Status::error("q, k and v must be f32 [B, S, H, D], got " + shape_str(t->shape()));
  const int64_t B = q.dim(0), S = q.dim(1), H = q.dim(2), D = q.dim(3), T = k.dim(1);
  if (k.dim(0) != B || k.dim(2) != H || k.dim(3) != D || v.shape() != k.shape())
    return Status::error("q " + shape_str(q.shape()) + ", k " + shape_str(k.shape()) + " and v " +
                         shape_str(v.shape()) + " do not agree");
  // Mask strides over [B, H, S, T] (0 along broadcast dims).
  const float* mask = nullptr;
  int64_t ms[4] = {0, 0, 0, 0};
  if (in.size() > 4 && in[4].dtype() != DType::undefined) {
    const Tensor& m = in[4];
    if (m.dtype() != DType::f32 || m.rank() > 4)
      return Status::error("mask must be f32 of rank <= 4, got " + shape_str(m.shape()));
    const int64_t full[4] = {B, H, S, T};
    int64_t stride = 1;
    for (int i = 0; i < m.rank(); ++i) {
      const int d = m.rank() - 1 - i, od = 3 - i;
      if (m.dim(d) != 1 && m.dim(d) != full[od])
        return Status::error("mask " + shape_str(m.shape()) + " does not broadcast to [B, H, S, T] = [" +
                             std::to_string(B) + ", " + std::to_string(H) + ", " + std::to_string(S) + ", " +
                             std::to_string(T) + "]");
      ms[od] = m.dim(d) == 1 ? 0 : stride;
      stride *= m.dim(d);
    }
    mask = m.as<float>();
  }
  Tensor y = Tensor::uninit(DType::f32, q.shape());
  const int64_t row = H * D;  // stride between positions
  const float *pq = q.as<float>(), *pk = k.as<float>(), *pv = v.as<float>();
  float* py = y.mut<float>();
  ctx.pool->parallel_for(B * H, 1, [&](int64_t p0, int64_t p1) {
    // Per head the same GEMMs, divide, add and softmax as the unfused nodes,
    // so the result equals theirs; this thread runs them alone.
    ThreadPool serial(1);
    std::vector<float> kt(static_cast<size_t>(D * T)), p(static_cast<size_t>(S * T));
    for (int64_t bh = p0; bh < p1; ++bh) {
      const int64_t b = bh / H, h = bh % H;
      const float* kb = pk + b * T * row + h * D;
      // kt [D, T] = k[b, :, h, :]ᵀ
      for (int64_t t = 0; t < T; ++t)
        for (int64_t d = 0; d < D; ++d) kt[size_t(d * T + t)] = kb[t * row + d];
      // p [S, T] = q[b, :, h, :] · kt
      kernels::gemm_f32(pq + b * S * row + h * D, row, kt.data(), T, p.data(), T, S, T, D, serial);
      for (int64_t s = 0; s < S; ++s) {
        float* ps = p.data() + s * T;
        const float* ms_row = mask ? mask + b * ms[0] + h * ms[1] + s * ms[2] : nullptr;
        // Separate loops per mask layout, so each vectorizes (a mask over keys is contiguous).
        if (ms_row == nullptr)
          for (int64_t t = 0; t < T; ++t) ps[t] = ps[t] / divisor;
        else if (ms[3] == 1)
          for (int64_t t = 0; t < T; ++t) ps[t] = ps[t] / divisor + ms_row[t];
        else
          for (int64_t t = 0; t < T; ++t) ps[t] = ps[t] / divisor + ms_row[t * ms[3]];
        kernels::softmax(ps, T);
      }
      // y[b, :, h, :] [S, D] = p · v[b, :, h, :]
      kernels::gemm_f32(p.data(), T, pv + b * T * row + h * D, row, py + b * S * row + h * D, row, S, D, T, serial);
    }
  });
  out[0] = y;
  return ok_status();
}

Result<float> constant_scalar(const LoadContext& lc, size_t i, const char* what) {
  const Tensor* c = lc.constant(i);
  if (c == nullptr || c->numel() != 1) return lc.error(std::string(what) + " (input " + std::to_string(i) + ") must be a constant scalar");
  auto cf = ops::to_f32(*c);
  if (!cf.ok()) return lc.error(cf.status().message());
  return cf->as<float>()[0];
}

}  // namespace

void register_encoder_ops(OpRegistry& r) {
  r.add("run_llm", "EncoderSelfAttention", 1, [](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    RLLM_ASSIGN_OR_RETURN(const float divisor, constant_scalar(lc, 3, "the divisor"));
    return make_op([divisor](std::span<const Tensor> in, std::span<Tensor> out, ExecContext& ctx) {
      return encoder_self_attention(divisor, in, out, ctx);
    });
  });
}

}  // namespace rllm
