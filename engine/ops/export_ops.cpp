// Standard ops that torch.onnx / optimum exports of decoders use beyond the
// GenAI builder's set: Sin and Cos (rotary tables computed from position_ids,
// transformers >= 4.38), Trilu and ScatterND (the causal mask of
// transformers' _update_causal_mask: torch.triu, and a slice assignment).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/graph/op.h"
#include "engine/ops/op_util.h"

namespace rllm {
namespace {

using ops::need;

template <typename F>
OpFactory simple(F f) {
  return [f](const LoadContext&) -> Result<std::unique_ptr<Op>> {
    return make_op([f](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) { return f(in, out); });
  };
}

Status elem_bytes(const Tensor& t, size_t& size) {
  int bits = dtype_bits(t.dtype());
  if (bits < 8 || t.dtype() == DType::string)
    return Status::error("element type " + std::string(dtype_name(t.dtype())) + " is not supported here");
  size = static_cast<size_t>(bits / 8);
  return ok_status();
}

// Sin / Cos in f32 (f16 widened and rounded back, as onnxruntime's CPU provider).
template <bool kSin>
Status trig(std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "input"));
  if (!ops::is_float(in[0].dtype())) return Status::error("input must be a float type");
  RLLM_ASSIGN_OR_RETURN(Tensor x, ops::to_f32(in[0]));
  Tensor y = Tensor::uninit(DType::f32, x.shape());
  const float* px = x.as<float>();
  float* py = y.mut<float>();
  for (int64_t i = 0; i < x.numel(); ++i) py[i] = kSin ? std::sin(px[i]) : std::cos(px[i]);
  out[0] = ops::from_f32(y, in[0].dtype());
  return ok_status();
}

// Trilu: input [..., N, M]; keeps j - i >= k (upper) or j - i <= k (lower) of
// each N x M matrix, zeros the rest. k: optional int64 scalar, default 0.
Status trilu(bool upper, std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "input"));
  const Tensor& x = in[0];
  if (x.rank() < 2) return Status::error("input must have rank >= 2");
  size_t es = 0;
  RLLM_RETURN_IF_ERROR(elem_bytes(x, es));
  int64_t k = 0;
  if (in.size() > 1 && in[1].dtype() != DType::undefined) {
    RLLM_ASSIGN_OR_RETURN(auto kv, ops::to_ints(in[1], "k"));
    if (kv.size() != 1) return Status::error("k must hold one value");
    k = kv[0];
  }
  const int64_t N = x.dim(-2), M = x.dim(-1), mats = N * M > 0 ? x.numel() / (N * M) : 0;
  Tensor y(x.dtype(), x.shape());
  const auto* src = static_cast<const uint8_t*>(x.data());
  auto* dst = static_cast<uint8_t*>(y.mutable_data());
  for (int64_t b = 0; b < mats; ++b)
    for (int64_t i = 0; i < N; ++i) {
      // upper keeps columns j >= i + k, lower keeps j <= i + k (clamped to [0, M]).
      int64_t lo = upper ? std::clamp<int64_t>(i + k, 0, M) : 0;
      int64_t hi = upper ? M : std::clamp<int64_t>(i + k + 1, 0, M);
      size_t off = static_cast<size_t>((b * N + i) * M + lo) * es;
      if (hi > lo) std::memcpy(dst + off, src + off, static_cast<size_t>(hi - lo) * es);
    }
  out[0] = y;
  return ok_status();
}

// ScatterND (reduction none): a copy of data [d0..dr-1] with the slices named
// by indices [..., q] (q <= r) replaced by updates [..., d_q..d_r-1].
Status scatter_nd(std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "data"));
  RLLM_RETURN_IF_ERROR(need(in, 1, "indices"));
  RLLM_RETURN_IF_ERROR(need(in, 2, "updates"));
  const Tensor &data = in[0], &idx_t = in[1], &upd = in[2];
  size_t es = 0;
  RLLM_RETURN_IF_ERROR(elem_bytes(data, es));
  if (upd.dtype() != data.dtype()) return Status::error("updates and data types differ");
  RLLM_ASSIGN_OR_RETURN(auto idx, ops::to_ints(idx_t, "indices"));
  if (idx_t.rank() < 1) return Status::error("indices must have rank >= 1");
  const int64_t q = idx_t.dim(-1), r = data.rank();
  if (q < 1 || q > r) return Status::error("indices' last dimension must be in [1, rank of data]");
  // updates must be indices.shape[:-1] + data.shape[q:]
  Shape want(idx_t.shape().begin(), idx_t.shape().end() - 1);
  want.insert(want.end(), data.shape().begin() + q, data.shape().end());
  if (upd.shape() != want)
    return Status::error("updates are " + shape_str(upd.shape()) + ", expected " + shape_str(want));
  int64_t slice = 1;
  for (int64_t d = q; d < r; ++d) slice *= data.dim(static_cast<int>(d));
  Tensor y = Tensor::uninit(data.dtype(), data.shape());
  std::memcpy(y.mutable_data(), data.data(), static_cast<size_t>(data.nbytes()));
  const int64_t n = q ? static_cast<int64_t>(idx.size()) / q : 0;
  auto* dst = static_cast<uint8_t*>(y.mutable_data());
  const auto* src = static_cast<const uint8_t*>(upd.data());
  for (int64_t u = 0; u < n; ++u) {
    int64_t off = 0;
    for (int64_t d = 0; d < q; ++d) {
      int64_t dim = data.dim(static_cast<int>(d)), i = idx[static_cast<size_t>(u * q + d)];
      if (i < -dim || i >= dim)
        return Status::error("index " + std::to_string(i) + " is out of range for dimension " + std::to_string(d) +
                             " of size " + std::to_string(dim));
      off = off * dim + (i < 0 ? i + dim : i);
    }
    std::memcpy(dst + static_cast<size_t>(off * slice) * es, src + static_cast<size_t>(u * slice) * es,
                static_cast<size_t>(slice) * es);
  }
  out[0] = y;
  return ok_status();
}

}  // namespace

void register_export_ops(OpRegistry& r) {
  r.add("", "Sin", 7, simple(trig<true>));
  r.add("", "Cos", 7, simple(trig<false>));
  r.add("", "Trilu", 14, [](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    bool upper = lc.node.attr_i("upper", 1) != 0;
    return make_op([upper](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) { return trilu(upper, in, out); });
  });
  r.add("", "ScatterND", 11, [](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    std::string reduction = lc.node.attr_s("reduction", "none");
    if (reduction != "none") return lc.error("reduction '" + reduction + "' is not supported");
    return make_op([](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) { return scatter_nd(in, out); });
  });
}

}  // namespace rllm
