// Normalisations over the last axis: (Skip)SimplifiedLayerNormalization (RMS
// norm), LayerNormalization and SkipLayerNormalization. Math in f32; f16
// inputs are widened and outputs rounded back, as ONNX Runtime does.
#include <cmath>

#include "engine/ops/op_util.h"
#include "kernels/kernels.h"

namespace rllm {
namespace {

using ops::need;
using ops::to_f32;

struct NormParams {
  float eps;
  bool rms;
  int64_t axis;
};

// Y = norm(X) * scale (+ bias): X [..., n], scale/bias [n].
Status layer_norm(const NormParams& p, std::span<const Tensor> in, std::span<Tensor> out, ExecContext& ctx) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "X"));
  RLLM_RETURN_IF_ERROR(need(in, 1, "scale"));
  RLLM_ASSIGN_OR_RETURN(Tensor x, to_f32(in[0]));
  RLLM_ASSIGN_OR_RETURN(Tensor w, to_f32(in[1]));
  Tensor b;
  if (!p.rms && in.size() > 2 && in[2].dtype() != DType::undefined) {
    RLLM_ASSIGN_OR_RETURN(b, to_f32(in[2]));
  }
  RLLM_ASSIGN_OR_RETURN(int axis, ops::norm_axis(p.axis, x.rank()));
  int64_t n = 1;
  for (int d = axis; d < x.rank(); ++d) n *= x.dim(d);
  if (w.numel() != n || (b.dtype() != DType::undefined && b.numel() != n))
    return Status::error("scale/bias of " + std::to_string(w.numel()) + " elements for rows of " + std::to_string(n));
  int64_t rows = n == 0 ? 0 : x.numel() / n;
  Tensor y = Tensor::uninit(DType::f32, x.shape());
  const float* bias = b.dtype() == DType::undefined ? nullptr : b.as<float>();
  ctx.pool->parallel_for(rows, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      if (p.rms) kernels::rmsnorm(x.as<float>() + r * n, w.as<float>(), p.eps, n, y.mut<float>() + r * n);
      else kernels::layernorm(x.as<float>() + r * n, w.as<float>(), bias, p.eps, n, y.mut<float>() + r * n);
    }
  });
  out[0] = ops::from_f32(y, in[0].dtype());
  return ok_status();
}

// Skip variants: inputs (input, skip, gamma[, beta][, bias]); outputs
// (output, mean, inv_std_var, input_skip_bias_sum).
Status skip_norm(const NormParams& p, std::span<const Tensor> in, std::span<Tensor> out, ExecContext& ctx) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "input"));
  RLLM_RETURN_IF_ERROR(need(in, 1, "skip"));
  RLLM_RETURN_IF_ERROR(need(in, 2, "gamma"));
  RLLM_ASSIGN_OR_RETURN(Tensor x, to_f32(in[0]));
  RLLM_ASSIGN_OR_RETURN(Tensor s, to_f32(in[1]));
  RLLM_ASSIGN_OR_RETURN(Tensor g, to_f32(in[2]));
  size_t beta_i = 3, bias_i = p.rms ? 3 : 4;
  Tensor beta, bias;
  if (!p.rms && in.size() > beta_i && in[beta_i].dtype() != DType::undefined) {
    RLLM_ASSIGN_OR_RETURN(beta, to_f32(in[beta_i]));
  }
  if (in.size() > bias_i && in[bias_i].dtype() != DType::undefined) {
    RLLM_ASSIGN_OR_RETURN(bias, to_f32(in[bias_i]));
  }
  int64_t n = x.rank() ? x.dim(-1) : 1;
  if (g.numel() != n) return Status::error("gamma has " + std::to_string(g.numel()) + " elements for rows of " + std::to_string(n));
  if (s.numel() != x.numel() && s.numel() != n) return Status::error("skip shape " + shape_str(s.shape()) + " does not match input " + shape_str(x.shape()));
  int64_t rows = n == 0 ? 0 : x.numel() / n;
  Tensor y = Tensor::uninit(DType::f32, x.shape());
  bool want_sum = out.size() > 3;
  Tensor sum = Tensor::uninit(DType::f32, x.shape());
  const float* pb = bias.dtype() == DType::undefined ? nullptr : bias.as<float>();
  const float* pbeta = beta.dtype() == DType::undefined ? nullptr : beta.as<float>();
  ctx.pool->parallel_for(rows, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x.as<float>() + r * n;
      const float* sr = s.as<float>() + (s.numel() == n ? 0 : r * n);
      float* sumr = sum.mut<float>() + r * n;
      float* yr = y.mut<float>() + r * n;
      if (p.rms) {
        kernels::skip_rmsnorm(xr, sr, pb, g.as<float>(), p.eps, n, yr, sumr);
      } else {
        for (int64_t i = 0; i < n; ++i) sumr[i] = xr[i] + sr[i] + (pb ? pb[i] : 0.0f);
        kernels::layernorm(sumr, g.as<float>(), pbeta, p.eps, n, yr);
      }
    }
  });
  out[0] = ops::from_f32(y, in[0].dtype());
  if (want_sum) out[3] = ops::from_f32(sum, in[0].dtype());
  return ok_status();
}

OpFactory norm_factory(bool rms, bool skip) {
  return [rms, skip](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    NormParams p{lc.node.attr_f("epsilon", 1e-5f), rms, lc.node.attr_i("axis", -1)};
    for (size_t i = 1; i < lc.node.outputs.size(); ++i)
      if (!lc.node.outputs[i].empty() && !(skip && i == 3))
        return lc.error("output " + std::to_string(i) + " (mean / inv_std_var) is not supported");
    if (skip)
      return make_op([p](std::span<const Tensor> in, std::span<Tensor> out, ExecContext& ctx) {
        return skip_norm(p, in, out, ctx);
      });
    return make_op([p](std::span<const Tensor> in, std::span<Tensor> out, ExecContext& ctx) {
      return layer_norm(p, in, out, ctx);
    });
  };
}

}  // namespace

void register_norm_ops(OpRegistry& r) {
  r.add("", "SimplifiedLayerNormalization", 1, norm_factory(true, false));
  r.add("", "LayerNormalization", 17, norm_factory(false, false));
  r.add("com.microsoft", "SimplifiedLayerNormalization", 1, norm_factory(true, false));
  r.add("com.microsoft", "SkipSimplifiedLayerNormalization", 1, norm_factory(true, true));
  r.add("com.microsoft", "SkipLayerNormalization", 1, norm_factory(false, true));
  r.add("com.microsoft", "LayerNormalization", 1, norm_factory(false, false));
}

}  // namespace rllm
