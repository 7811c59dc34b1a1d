// Integer quantization ops: QuantizeLinear, DequantizeLinear (per tensor or
// per axis, uint8/int8), DynamicQuantizeLinear, MatMulInteger, and ONNX
// Runtime's com.microsoft MatMulIntegerToFloat, which quant_fusion.cpp also
// makes out of quantize_dynamic's and QDQ's MatMul patterns, and the
// QuantizeDequantizeLinear pair it makes of QDQ's other activations. Rounding follows
// onnxruntime's MLAS: x / scale (a division), clamped to the range shifted by
// the zero point (NaN goes to the low end, as MAXPS does), rounded half to even.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>
#include <vector>

#include "engine/ops/op_util.h"
#include "kernels/kernels.h"

namespace rllm {
namespace {

using ops::need;

bool is_q8(DType t) { return t == DType::u8 || t == DType::i8; }

int32_t q_at(const Tensor& t, int64_t i) {
  return t.dtype() == DType::i8 ? int32_t(t.as<int8_t>()[i]) : int32_t(t.as<uint8_t>()[i]);
}

// Round-half-even of x / scale + zp, clamped to [lo, hi].
int32_t quantize_value(float x, float scale, int32_t zp, int32_t lo, int32_t hi) {
  float v = x / scale;
  const float vlo = float(lo - zp), vhi = float(hi - zp);
  v = v > vlo ? v : vlo;
  v = v < vhi ? v : vhi;
  return int32_t(std::nearbyint(v)) + zp;
}

// Index into a per-axis parameter for flat element i: (i / inner) % dim.
struct AxisParam {
  int64_t inner = 1, dim = 1;  // dim = 1: per tensor
  int64_t at(int64_t i) const { return dim == 1 ? 0 : (i / inner) % dim; }
};

Result<AxisParam> axis_param(const Tensor& x, const Tensor& scale, int64_t axis_attr) {
  AxisParam p;
  if (scale.numel() == 1) return p;
  if (scale.rank() != 1) return Status::error("scale must be a scalar or 1-D, got " + shape_str(scale.shape()));
  RLLM_ASSIGN_OR_RETURN(int axis, ops::norm_axis(axis_attr, x.rank()));
  if (scale.dim(0) != x.dim(axis))
    return Status::error("scale has " + std::to_string(scale.dim(0)) + " values for axis " + std::to_string(axis) +
                         " of size " + std::to_string(x.dim(axis)));
  p.dim = x.dim(axis);
  for (int d = axis + 1; d < x.rank(); ++d) p.inner *= x.dim(d);
  return p;
}

Status check_zero_point(const Tensor& zp, const Tensor& scale) {
  if (zp.numel() != scale.numel())
    return Status::error("zero point has " + std::to_string(zp.numel()) + " values, scale " + std::to_string(scale.numel()));
  return ok_status();
}

Status quantize_linear(int64_t axis, DType out_type, std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "x"));
  RLLM_RETURN_IF_ERROR(need(in, 1, "y_scale"));
  RLLM_ASSIGN_OR_RETURN(Tensor x, ops::to_f32(in[0]));
  RLLM_ASSIGN_OR_RETURN(Tensor scale, ops::to_f32(in[1]));
  bool has_zp = in.size() > 2 && in[2].dtype() != DType::undefined;
  if (has_zp) {
    if (!is_q8(in[2].dtype())) return Status::error("only uint8/int8 zero points are supported");
    RLLM_RETURN_IF_ERROR(check_zero_point(in[2], scale));
    out_type = in[2].dtype();
  }
  RLLM_ASSIGN_OR_RETURN(AxisParam ap, axis_param(x, scale, axis));
  const int32_t lo = out_type == DType::i8 ? -128 : 0, hi = out_type == DType::i8 ? 127 : 255;
  Tensor y = Tensor::uninit(out_type, x.shape());
  if (out_type == DType::u8 && ap.dim == 1) {  // the activations of QDQ graphs
    kernels::quantize_u8(x.as<float>(), x.numel(), scale.as<float>()[0],
                         has_zp ? static_cast<uint8_t>(q_at(in[2], 0)) : uint8_t{0}, y.mut<uint8_t>());
    out[0] = y;
    return ok_status();
  }
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t j = ap.at(i);
    int32_t q = quantize_value(x.as<float>()[i], scale.as<float>()[j], has_zp ? q_at(in[2], j) : 0, lo, hi);
    if (out_type == DType::i8) y.mut<int8_t>()[i] = static_cast<int8_t>(q);
    else y.mut<uint8_t>()[i] = static_cast<uint8_t>(q);
  }
  out[0] = y;
  return ok_status();
}

Status dequantize_linear(int64_t axis, std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "x"));
  RLLM_RETURN_IF_ERROR(need(in, 1, "x_scale"));
  const Tensor& x = in[0];
  if (!is_q8(x.dtype()) && x.dtype() != DType::i32)
    return Status::error("x must be uint8, int8 or int32, got " + std::string(dtype_name(x.dtype())));
  RLLM_ASSIGN_OR_RETURN(Tensor scale, ops::to_f32(in[1]));
  bool has_zp = in.size() > 2 && in[2].dtype() != DType::undefined;
  if (has_zp) {
    if (in[2].dtype() != x.dtype()) return Status::error("zero point type differs from x's");
    RLLM_RETURN_IF_ERROR(check_zero_point(in[2], scale));
  }
  RLLM_ASSIGN_OR_RETURN(AxisParam ap, axis_param(x, scale, axis));
  Tensor y = Tensor::uninit(DType::f32, x.shape());
  const int64_t n = x.numel();
  const float* sc = scale.as<float>();
  float* py = y.mut<float>();
  // Per tensor (the activations of QDQ graphs) a loop the compiler vectorizes.
  auto run = [&](const auto* px) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(px)>>;
    const T* pz = has_zp ? in[2].as<T>() : nullptr;
    if (ap.dim == 1) {
      const int32_t z = pz ? int32_t(pz[0]) : 0;
      const float s0 = sc[0];
      for (int64_t i = 0; i < n; ++i) py[i] = static_cast<float>(int32_t(px[i]) - z) * s0;
      return;
    }
    for (int64_t i = 0; i < n; ++i) {
      const int64_t j = ap.at(i);
      py[i] = static_cast<float>(int32_t(px[i]) - (pz ? int32_t(pz[j]) : 0)) * sc[j];
    }
  };
  if (x.dtype() == DType::i32) run(x.as<int32_t>());
  else if (x.dtype() == DType::i8) run(x.as<int8_t>());
  else run(x.as<uint8_t>());
  out[0] = ops::from_f32(y, in[1].dtype());
  return ok_status();
}

// y = saturate(round(x / scale) + zp), scale = (max(x, 0) - min(x, 0)) / 255,
// zp = round(clamp(-min / scale, 0, 255)): onnxruntime's GetQuantizationParameter.
Status dynamic_quantize_linear(std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "x"));
  RLLM_ASSIGN_OR_RETURN(Tensor x, ops::to_f32(in[0]));
  const float* px = x.as<float>();
  float mn = 0.0f, mx = 0.0f;
  kernels::minmax_with_zero(px, x.numel(), &mn, &mx);
  float scale = mx == mn ? 1.0f : (mx - mn) / 255.0f;
  float izp = 0.0f - mn / scale;
  float zpf = std::max(0.0f, std::min(255.0f, izp));
  int32_t zp = std::isfinite(zpf) ? int32_t(std::nearbyint(zpf)) : 0;
  Tensor y = Tensor::uninit(DType::u8, x.shape());
  kernels::quantize_u8(px, x.numel(), scale, static_cast<uint8_t>(zp), y.mut<uint8_t>());
  Tensor ys = Tensor::uninit(DType::f32, {});
  ys.mut<float>()[0] = scale;
  Tensor yz = Tensor::uninit(DType::u8, {});
  yz.mut<uint8_t>()[0] = static_cast<uint8_t>(zp);
  out[0] = y;
  if (out.size() > 1) out[1] = ys;
  if (out.size() > 2) out[2] = yz;
  return ok_status();
}

// run_llm QuantizeDequantizeLinear (quant_fusion.h): per tensor, uint8 codes,
// y = (quantize_u8(x) - zp) · scale, the values of QuantizeLinear then
// DequantizeLinear, computed in L1-sized runs without the code tensor.
Status quantize_dequantize(std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "x"));
  RLLM_RETURN_IF_ERROR(need(in, 1, "scale"));
  if (in[0].dtype() != DType::f32) return Status::error("x must be f32, got " + std::string(dtype_name(in[0].dtype())));
  RLLM_ASSIGN_OR_RETURN(Tensor scale, ops::to_f32(in[1]));
  if (scale.numel() != 1) return Status::error("scale must be a scalar, got " + shape_str(scale.shape()));
  const Tensor* zp = in.size() > 2 && in[2].dtype() != DType::undefined ? &in[2] : nullptr;
  if (zp != nullptr && (zp->dtype() != DType::u8 || zp->numel() != 1))
    return Status::error("the zero point must be one uint8, got " + std::string(dtype_name(zp->dtype())) + " " +
                         shape_str(zp->shape()));
  const float s = scale.as<float>()[0];
  const uint8_t z = zp != nullptr ? zp->as<uint8_t>()[0] : uint8_t{0};
  const Tensor& x = in[0];
  Tensor y = Tensor::uninit(DType::f32, x.shape());
  constexpr int64_t kRun = 4096;
  uint8_t codes[kRun];
  for (int64_t i = 0; i < x.numel(); i += kRun) {
    const int64_t len = std::min(kRun, x.numel() - i);
    kernels::quantize_u8(x.as<float>() + i, len, s, z, codes);
    float* py = y.mut<float>() + i;
    for (int64_t j = 0; j < len; ++j) py[j] = static_cast<float>(int32_t(codes[j]) - int32_t(z)) * s;
  }
  out[0] = y;
  return ok_status();
}

// A as uint8 with its zero point: int8 A is shifted by 128 (a + 128, zp + 128),
// which leaves every (a - zp) unchanged.
struct UnsignedA {
  Tensor a;
  uint8_t zp = 0;
};

Result<UnsignedA> unsigned_a(const Tensor& a, const Tensor* zp) {
  if (!is_q8(a.dtype())) return Status::error("A must be uint8 or int8, got " + std::string(dtype_name(a.dtype())));
  int32_t z = 0;
  if (zp != nullptr && zp->dtype() != DType::undefined) {
    if (zp->dtype() != a.dtype()) return Status::error("a_zero_point's type differs from A's");
    if (zp->numel() != 1) return Status::error("only a scalar a_zero_point is supported, got " + shape_str(zp->shape()));
    z = q_at(*zp, 0);
  }
  if (a.dtype() == DType::u8) return UnsignedA{a, static_cast<uint8_t>(z)};
  Tensor u = Tensor::uninit(DType::u8, a.shape());
  for (int64_t i = 0; i < a.numel(); ++i) u.mut<uint8_t>()[i] = static_cast<uint8_t>(a.as<int8_t>()[i] + 128);
  return UnsignedA{u, static_cast<uint8_t>(z + 128)};
}

// B [K, N] uint8/int8 with its zero point (none, scalar or [N]) packed for the kernels.
Result<kernels::PackedInt8> pack_b(const Tensor& b, const Tensor* zp) {
  if (!is_q8(b.dtype())) return Status::error("B must be uint8 or int8, got " + std::string(dtype_name(b.dtype())));
  if (b.rank() != 2) return Status::error("only a 2-D B is supported, got " + shape_str(b.shape()));
  kernels::Int8Weights w;
  w.K = b.dim(0);
  w.N = b.dim(1);
  w.b = b.data();
  w.b_signed = b.dtype() == DType::i8;
  if (zp != nullptr && zp->dtype() != DType::undefined) {
    if (zp->dtype() != b.dtype()) return Status::error("b_zero_point's type differs from B's");
    if (zp->numel() != 1 && zp->numel() != w.N)
      return Status::error("b_zero_point must hold 1 or N=" + std::to_string(w.N) + " values, got " + shape_str(zp->shape()));
    w.zero_points = zp->data();
    w.zp_per_column = zp->numel() != 1;
  }
  return kernels::pack_int8(w);
}

Status check_a(const Tensor& a, int64_t K) {
  if (a.rank() < 1 || a.dim(-1) != K)
    return Status::error("A " + shape_str(a.shape()) + " does not match B's K=" + std::to_string(K));
  return ok_status();
}

const Tensor* present(std::span<const Tensor> in, size_t i) {
  return i < in.size() && in[i].dtype() != DType::undefined ? &in[i] : nullptr;
}

// MatMulInteger: Y int32 [..., N] = (A - a_zp) · (B - b_zp). B is packed at
// load when it is a constant with a constant zero point, else on each run.
class MatMulInteger : public Op {
 public:
  explicit MatMulInteger(std::optional<kernels::PackedInt8> w) : w_(std::move(w)) {}
  Status run(std::span<const Tensor> in, std::span<Tensor> out, ExecContext& ctx) override {
    RLLM_RETURN_IF_ERROR(need(in, 0, "A"));
    RLLM_RETURN_IF_ERROR(need(in, 1, "B"));
    const kernels::PackedInt8* w = w_ ? &*w_ : nullptr;
    kernels::PackedInt8 packed;
    if (w == nullptr) {
      RLLM_ASSIGN_OR_RETURN(packed, pack_b(in[1], present(in, 3)));
      w = &packed;
    }
    RLLM_RETURN_IF_ERROR(check_a(in[0], w->K()));
    RLLM_ASSIGN_OR_RETURN(UnsignedA a, unsigned_a(in[0], present(in, 2)));
    Shape s = in[0].shape();
    s.back() = w->N();
    Tensor y = Tensor::uninit(DType::i32, s);
    kernels::Int8Output o;
    o.c = y.mut<int32_t>();
    o.ld = w->N();
    kernels::gemm_u8x8(*w, a.a.as<uint8_t>(), w->K(), a.zp, a.a.numel() / w->K(), o, *ctx.pool);
    out[0] = y;
    return ok_status();
  }
  size_t packed_bytes() const override { return w_ ? w_->bytes() : 0; }

 private:
  std::optional<kernels::PackedInt8> w_;
};

Result<std::unique_ptr<Op>> matmul_integer_factory(const LoadContext& lc) {
  const Tensor* b = lc.constant(1);
  bool zp_known = !lc.has_input(3) || lc.constant(3) != nullptr;
  if (b == nullptr || !zp_known) return std::make_unique<MatMulInteger>(std::nullopt);
  auto w = pack_b(*b, lc.has_input(3) ? lc.constant(3) : nullptr);
  if (!w.ok()) return lc.error(w.status().message());
  return std::make_unique<MatMulInteger>(std::move(w).value());
}

// com.microsoft MatMulIntegerToFloat: Y f32 [..., N] =
// float((A - a_zp) · (B - b_zp)) · (a_scale · b_scale[n]) + bias[n], the
// product of scales and each step rounded to f32 as onnxruntime does.
class MatMulIntegerToFloat : public Op {
 public:
  MatMulIntegerToFloat(kernels::PackedInt8 w, Tensor b_scale, Tensor bias)
      : w_(std::move(w)), b_scale_(std::move(b_scale)), bias_(std::move(bias)) {}
  Status run(std::span<const Tensor> in, std::span<Tensor> out, ExecContext& ctx) override {
    RLLM_RETURN_IF_ERROR(need(in, 0, "A"));
    RLLM_RETURN_IF_ERROR(need(in, 2, "a_scale"));
    RLLM_RETURN_IF_ERROR(check_a(in[0], w_.K()));
    RLLM_ASSIGN_OR_RETURN(UnsignedA a, unsigned_a(in[0], present(in, 4)));
    RLLM_ASSIGN_OR_RETURN(Tensor a_scale, ops::to_f32(in[2]));
    if (a_scale.numel() != 1) return Status::error("a_scale must be a scalar, got " + shape_str(a_scale.shape()));
    const int64_t N = w_.N();
    scale_.resize(size_t(N));
    const float as = a_scale.as<float>()[0];
    for (int64_t n = 0; n < N; ++n) scale_[size_t(n)] = as * b_scale_.as<float>()[b_scale_.numel() == 1 ? 0 : n];
    Shape s = in[0].shape();
    s.back() = N;
    Tensor y = Tensor::uninit(DType::f32, s);
    kernels::Int8Output o;
    o.y = y.mut<float>();
    o.ld = N;
    o.scale = scale_.data();
    o.bias = bias_.dtype() == DType::undefined ? nullptr : bias_.as<float>();
    kernels::gemm_u8x8(w_, a.a.as<uint8_t>(), w_.K(), a.zp, a.a.numel() / w_.K(), o, *ctx.pool);
    out[0] = y;
    return ok_status();
  }
  size_t packed_bytes() const override { return w_.bytes(); }

 private:
  kernels::PackedInt8 w_;
  Tensor b_scale_;  // f32, 1 or N values
  Tensor bias_;     // f32 [N] or undefined
  std::vector<float> scale_;
};

Result<std::unique_ptr<Op>> matmul_integer_to_float_factory(const LoadContext& lc) {
  const Tensor* b = lc.constant(1);
  const Tensor* b_scale = lc.constant(3);
  if (b == nullptr || b_scale == nullptr) return lc.error("B and b_scale must be constant initializers");
  if (lc.has_input(5) && lc.constant(5) == nullptr) return lc.error("b_zero_point must be a constant initializer");
  auto w = pack_b(*b, lc.has_input(5) ? lc.constant(5) : nullptr);
  if (!w.ok()) return lc.error(w.status().message());
  auto bs = ops::to_f32(*b_scale);
  if (!bs.ok()) return lc.error(bs.status().message());
  if (bs->numel() != 1 && bs->numel() != w->N())
    return lc.error("b_scale must hold 1 or N=" + std::to_string(w->N()) + " values, got " + shape_str(bs->shape()));
  Tensor bias;
  if (lc.has_input(6)) {
    const Tensor* bt = lc.constant(6);
    if (bt == nullptr || bt->numel() != w->N()) return lc.error("bias must be a constant of N elements");
    auto b32 = ops::to_f32(*bt);
    if (!b32.ok()) return lc.error(b32.status().message());
    bias = std::move(b32).value();
  }
  return std::make_unique<MatMulIntegerToFloat>(std::move(w).value(), std::move(bs).value(), std::move(bias));
}

Result<DType> quantize_output_type(const LoadContext& lc) {
  int64_t t = lc.node.attr_i("output_dtype", 0);
  if (t == 0 || t == int64_t(DType::u8)) return DType::u8;
  if (t == int64_t(DType::i8)) return DType::i8;
  return lc.error("output_dtype " + std::to_string(t) + " is not supported (uint8 or int8)");
}

Status refuse_blocked(const LoadContext& lc) {
  if (lc.node.attr_i("block_size", 0) != 0) return lc.error("blocked quantization (block_size) is not supported");
  return ok_status();
}

}  // namespace

void register_quant_ops(OpRegistry& r) {
  r.add("", "QuantizeLinear", 10, [](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    RLLM_RETURN_IF_ERROR(refuse_blocked(lc));
    RLLM_ASSIGN_OR_RETURN(DType t, quantize_output_type(lc));
    int64_t axis = lc.node.attr_i("axis", 1);
    return make_op([axis, t](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
      return quantize_linear(axis, t, in, out);
    });
  });
  r.add("", "DequantizeLinear", 10, [](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    RLLM_RETURN_IF_ERROR(refuse_blocked(lc));
    int64_t axis = lc.node.attr_i("axis", 1);
    return make_op([axis](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
      return dequantize_linear(axis, in, out);
    });
  });
  r.add("", "DynamicQuantizeLinear", 11, [](const LoadContext&) -> Result<std::unique_ptr<Op>> {
    return make_op([](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
      return dynamic_quantize_linear(in, out);
    });
  });
  r.add("run_llm", "QuantizeDequantizeLinear", 1, [](const LoadContext&) -> Result<std::unique_ptr<Op>> {
    return make_op([](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
      return quantize_dequantize(in, out);
    });
  });
  r.add("", "MatMulInteger", 10, matmul_integer_factory);
  r.add("com.microsoft", "MatMulIntegerToFloat", 1, matmul_integer_to_float_factory);
}

}  // namespace rllm
