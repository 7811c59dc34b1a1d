// Clip: y = min(max(x, lo), hi). Opset 11+ takes the bounds as optional scalar
// inputs, opset 6 as attributes. Float types run in f32 (f16 rounded back).
#include <algorithm>
#include <limits>

#include "engine/ops/op_util.h"

namespace rllm {
namespace {

using ops::need;

// The bound at input i as T, or `fallback` when the input is omitted.
template <typename T>
Result<T> bound(std::span<const Tensor> in, size_t i, T fallback, DType x_type) {
  if (i >= in.size() || in[i].dtype() == DType::undefined) return fallback;
  const Tensor& b = in[i];
  if (b.numel() != 1) return Status::error("min/max must be scalars, got " + shape_str(b.shape()));
  if (b.dtype() != x_type) return Status::error("min/max must have the input's type " + std::string(dtype_name(x_type)));
  if constexpr (std::is_same_v<T, float>) {
    RLLM_ASSIGN_OR_RETURN(Tensor f, ops::to_f32(b));
    return f.as<float>()[0];
  } else {
    return b.as<T>()[0];
  }
}

template <typename T>
Status clip_typed(const Tensor& x, T lo, T hi, Tensor& y) {
  y = Tensor::uninit(x.dtype(), x.shape());
  const T* px = x.as<T>();
  T* py = y.mut<T>();
  for (int64_t i = 0; i < x.numel(); ++i) py[i] = std::min(std::max(px[i], lo), hi);
  return ok_status();
}

Status clip(bool bounds_from_attrs, float attr_lo, float attr_hi, std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "input"));
  const DType t = in[0].dtype();
  if (ops::is_float(t)) {
    RLLM_ASSIGN_OR_RETURN(Tensor x, ops::to_f32(in[0]));
    float lo = attr_lo, hi = attr_hi;
    if (!bounds_from_attrs) {
      RLLM_ASSIGN_OR_RETURN(lo, bound<float>(in, 1, std::numeric_limits<float>::lowest(), t));
      RLLM_ASSIGN_OR_RETURN(hi, bound<float>(in, 2, std::numeric_limits<float>::max(), t));
    }
    Tensor y;
    RLLM_RETURN_IF_ERROR(clip_typed<float>(x, lo, hi, y));
    out[0] = ops::from_f32(y, t);
    return ok_status();
  }
  auto ints = [&](auto tag) -> Status {
    using T = decltype(tag);
    if (bounds_from_attrs) return Status::error("opset-6 Clip takes float inputs only");
    RLLM_ASSIGN_OR_RETURN(T lo, bound<T>(in, 1, std::numeric_limits<T>::lowest(), t));
    RLLM_ASSIGN_OR_RETURN(T hi, bound<T>(in, 2, std::numeric_limits<T>::max(), t));
    return clip_typed<T>(in[0], lo, hi, out[0]);
  };
  switch (t) {
    case DType::i64: return ints(int64_t{});
    case DType::i32: return ints(int32_t{});
    case DType::i8: return ints(int8_t{});
    case DType::u8: return ints(uint8_t{});
    default: return Status::error("unsupported element type " + std::string(dtype_name(t)));
  }
}

}  // namespace

void register_clip_ops(OpRegistry& r) {
  r.add("", "Clip", 6, [](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    const bool attrs = lc.opset < 11;
    const float lo = lc.node.attr_f("min", std::numeric_limits<float>::lowest());
    const float hi = lc.node.attr_f("max", std::numeric_limits<float>::max());
    return make_op([=](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
      return clip(attrs, lo, hi, in, out);
    });
  });
}

}  // namespace rllm
