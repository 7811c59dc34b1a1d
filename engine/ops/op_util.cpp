#include "engine/ops/op_util.h"

#include <cstring>

#include "kernels/kernels.h"
#include "kernels/ref/half.h"

namespace rllm::ops {
namespace {

uint16_t f32_to_bf16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  if ((b & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((b >> 16) | 0x40);
  b += 0x7fff + ((b >> 16) & 1);
  return static_cast<uint16_t>(b >> 16);
}

}  // namespace

bool is_float(DType t) {
  return t == DType::f32 || t == DType::f16 || t == DType::bf16 || t == DType::f64;
}

Result<Tensor> to_f32(const Tensor& t) {
  if (t.dtype() == DType::f32) return t;
  Tensor out = Tensor::uninit(DType::f32, t.shape());
  int64_t n = t.numel();
  float* y = out.mut<float>();
  switch (t.dtype()) {
    case DType::f16: kernels::f16_to_f32(t.as<uint16_t>(), y, n); break;
    case DType::bf16:
      for (int64_t i = 0; i < n; ++i) y[i] = kernels::bf16_to_float(t.as<uint16_t>()[i]);
      break;
    case DType::f64:
      for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(t.as<double>()[i]);
      break;
    default:
      return Status::error(std::string("expected a float tensor, got ") +
                           std::string(dtype_name(t.dtype())));
  }
  return out;
}

Tensor from_f32(const Tensor& t, DType target) {
  if (target == DType::f32 || target == t.dtype()) return t;
  Tensor out = Tensor::uninit(target, t.shape());
  int64_t n = t.numel();
  if (target == DType::f16) {
    kernels::f32_to_f16(t.as<float>(), out.mut<uint16_t>(), n);
  } else if (target == DType::bf16) {
    for (int64_t i = 0; i < n; ++i) out.mut<uint16_t>()[i] = f32_to_bf16(t.as<float>()[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) out.mut<double>()[i] = t.as<float>()[i];
  }
  return out;
}

Result<std::vector<int64_t>> to_ints(const Tensor& t, const std::string& what) {
  std::vector<int64_t> v(static_cast<size_t>(t.numel()));
  if (t.data() == nullptr && !v.empty()) return Status::error(what + " has no data");
  if (t.dtype() == DType::i64) {
    std::memcpy(v.data(), t.data(), v.size() * 8);
  } else if (t.dtype() == DType::i32) {
    for (size_t i = 0; i < v.size(); ++i) v[i] = t.as<int32_t>()[i];
  } else {
    return Status::error(what + " must be int64 or int32, got " + std::string(dtype_name(t.dtype())));
  }
  return v;
}

Tensor ints_tensor(const std::vector<int64_t>& v, Shape shape) {
  Tensor t = Tensor::uninit(DType::i64, std::move(shape));
  if (!v.empty()) std::memcpy(t.mutable_data(), v.data(), v.size() * 8);
  return t;
}

Result<int> norm_axis(int64_t axis, int rank) {
  if (axis < -rank || axis >= std::max(rank, 1))
    return Status::error("axis " + std::to_string(axis) + " out of range for rank " +
                         std::to_string(rank));
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

Result<Shape> broadcast(const Shape& a, const Shape& b) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      return Status::error("shapes " + shape_str(a) + " and " + shape_str(b) + " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Status need(std::span<const Tensor> in, size_t i, const char* name) {
  if (i >= in.size() || in[i].dtype() == DType::undefined)
    return Status::error(std::string("missing input '") + name + "'");
  if (in[i].data() == nullptr && in[i].numel() > 0)
    return Status::error(std::string("input '") + name + "' holds no data");
  return ok_status();
}

}  // namespace rllm::ops
