// Element-wise ONNX ops with numpy broadcasting. Float math runs in f32:
// f16/bf16 inputs are widened and the result rounded back to the input type,
// as ONNX Runtime's CPU provider does for these ops.
#include <cmath>
#include <cstring>

#include "engine/ops/broadcast.h"
#include "engine/ops/op_util.h"
#include "kernels/kernels.h"

namespace rllm {
namespace {

using ops::broadcast;
using ops::need;

template <typename F>
Status with_numeric(DType t, F&& f) {
  switch (t) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    case DType::i64: return f(int64_t{});
    case DType::i32: return f(int32_t{});
    case DType::i8: return f(int8_t{});
    case DType::u8: case DType::boolean: return f(uint8_t{});
    default:
      return Status::error("unsupported element type " + std::string(dtype_name(t)));
  }
}

enum class Bin { add, sub, mul, div, pow, eq, lt, gt, le, ge, and_, or_, xor_ };

bool is_compare(Bin b) { return b >= Bin::eq; }

template <typename T>
T arith(Bin op, T a, T b) {
  switch (op) {
    case Bin::add: return static_cast<T>(a + b);
    case Bin::sub: return static_cast<T>(a - b);
    case Bin::mul: return static_cast<T>(a * b);
    case Bin::div:
      if constexpr (std::is_integral_v<T>) return b == 0 ? T{0} : static_cast<T>(a / b);
      else return a / b;
    case Bin::pow: return static_cast<T>(std::pow(static_cast<double>(a), static_cast<double>(b)));
    default: return T{};
  }
}

// y[j] = a[j * SA] op b[j * SB] for one row; the strides are compile-time
// constants (0: broadcast value, 1: contiguous) so the loop vectorises.
template <Bin op, int SA, int SB>
void f32_row(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const float x = a[j * SA], z = b[j * SB];
    if constexpr (op == Bin::add) y[j] = x + z;
    else if constexpr (op == Bin::sub) y[j] = x - z;
    else if constexpr (op == Bin::mul) y[j] = x * z;
    else y[j] = x / z;
  }
}

template <Bin op>
void f32_rows(const Tensor& a, const Tensor& b, Tensor& y) {
  const float* pa = a.as<float>();
  const float* pb = b.as<float>();
  float* py = y.mut<float>();
  ops::broadcast_rows<2>(y.shape(), {a.shape(), b.shape()}, [&](int64_t o, const auto& p, int64_t n, const auto& st) {
    const float *ra = pa + p[0], *rb = pb + p[1];
    if (st[0] == 1 && st[1] == 1) f32_row<op, 1, 1>(ra, rb, py + o, n);
    else if (st[0] == 1) f32_row<op, 1, 0>(ra, rb, py + o, n);
    else if (st[1] == 1) f32_row<op, 0, 1>(ra, rb, py + o, n);
    else f32_row<op, 0, 0>(ra, rb, py + o, n);
  });
}

template <typename T>
bool compare(Bin op, T a, T b) {
  switch (op) {
    case Bin::eq: return a == b;
    case Bin::lt: return a < b;
    case Bin::gt: return a > b;
    case Bin::le: return a <= b;
    case Bin::ge: return a >= b;
    case Bin::and_: return a && b;
    case Bin::or_: return a || b;
    case Bin::xor_: return static_cast<bool>(a) != static_cast<bool>(b);
    default: return false;
  }
}

Status binary(Bin op, std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "A"));
  RLLM_RETURN_IF_ERROR(need(in, 1, "B"));
  Tensor a = in[0], b = in[1];
  DType result_type = a.dtype();
  if (ops::is_float(a.dtype()) && a.dtype() != DType::f32 && a.dtype() != DType::f64) {
    RLLM_ASSIGN_OR_RETURN(a, ops::to_f32(a));
  }
  if (ops::is_float(b.dtype()) && b.dtype() != DType::f32 && b.dtype() != DType::f64) {
    RLLM_ASSIGN_OR_RETURN(b, ops::to_f32(b));
  }
  if (op == Bin::pow && b.dtype() != a.dtype()) {
    // Pow allows an exponent of another type: widen it to the base's type.
    Tensor e = Tensor::uninit(a.dtype(), b.shape());
    for (int64_t i = 0; i < b.numel(); ++i) {
      double v = b.dtype() == DType::i64 ? static_cast<double>(b.as<int64_t>()[i])
                 : b.dtype() == DType::i32 ? b.as<int32_t>()[i]
                 : b.dtype() == DType::f64 ? b.as<double>()[i]
                                           : b.as<float>()[i];
      if (a.dtype() == DType::f32) e.mut<float>()[i] = static_cast<float>(v);
      else if (a.dtype() == DType::f64) e.mut<double>()[i] = v;
      else if (a.dtype() == DType::i64) e.mut<int64_t>()[i] = static_cast<int64_t>(v);
      else return Status::error("Pow of " + std::string(dtype_name(a.dtype())) + " is not supported");
    }
    b = e;
  }
  if (a.dtype() != b.dtype())
    return Status::error("input types differ: " + std::string(dtype_name(a.dtype())) + " and " +
                         std::string(dtype_name(b.dtype())));
  RLLM_ASSIGN_OR_RETURN(Shape shape, broadcast(a.shape(), b.shape()));
  const bool cmp = is_compare(op);
  Tensor y = Tensor::uninit(cmp ? DType::boolean : a.dtype(), shape);

  if (!cmp && a.dtype() == DType::f32 && a.shape() == b.shape() && (op == Bin::add || op == Bin::mul)) {
    (op == Bin::add ? kernels::add : kernels::mul)(a.as<float>(), b.as<float>(), y.mut<float>(), y.numel());
  } else if (a.dtype() == DType::f32 && op <= Bin::div) {
    switch (op) {
      case Bin::add: f32_rows<Bin::add>(a, b, y); break;
      case Bin::sub: f32_rows<Bin::sub>(a, b, y); break;
      case Bin::mul: f32_rows<Bin::mul>(a, b, y); break;
      default: f32_rows<Bin::div>(a, b, y); break;
    }
  } else {
    RLLM_RETURN_IF_ERROR(with_numeric(a.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      const T* pa = a.as<T>();
      const T* pb = b.as<T>();
      if (cmp) {
        uint8_t* py = y.mut<uint8_t>();
        ops::broadcast_each<2>(shape, {a.shape(), b.shape()}, [&](int64_t o, const auto& p) {
          py[o] = compare(op, pa[p[0]], pb[p[1]]);
        });
      } else {
        T* py = y.mut<T>();
        ops::broadcast_each<2>(shape, {a.shape(), b.shape()}, [&](int64_t o, const auto& p) {
          py[o] = arith(op, pa[p[0]], pb[p[1]]);
        });
      }
      return ok_status();
    }));
  }
  bool narrow = !cmp && (result_type == DType::f16 || result_type == DType::bf16);
  out[0] = narrow ? ops::from_f32(y, result_type) : y;
  return ok_status();
}

void register_binary(OpRegistry& r, const char* name, Bin op) {
  r.add("", name, 1, [op](const LoadContext&) -> Result<std::unique_ptr<Op>> {
    return make_op([op](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
      return binary(op, in, out);
    });
  });
}

enum class Un { sqrt, reciprocal, neg, abs, exp, log, sigmoid, tanh, erf, relu, floor, ceil, not_,
                gelu, fast_gelu, quick_gelu, identity };

Status unary(Un op, float alpha, std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "X"));
  const Tensor& x0 = in[0];
  if (op == Un::identity) {
    out[0] = x0;
    return ok_status();
  }
  if (op == Un::not_ || ((op == Un::neg || op == Un::abs) && !ops::is_float(x0.dtype()))) {
    return with_numeric(x0.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      Tensor y = Tensor::uninit(x0.dtype(), x0.shape());
      for (int64_t i = 0; i < x0.numel(); ++i) {
        T v = x0.as<T>()[i];
        y.mut<T>()[i] = op == Un::not_ ? static_cast<T>(!v)
                        : op == Un::neg ? static_cast<T>(-v)
                                        : static_cast<T>(v < 0 ? -v : v);
      }
      out[0] = y;
      return ok_status();
    });
  }
  RLLM_ASSIGN_OR_RETURN(Tensor x, ops::to_f32(x0));
  Tensor y = Tensor::uninit(DType::f32, x.shape());
  const float* px = x.as<float>();
  float* py = y.mut<float>();
  int64_t n = x.numel();
  Tensor bias;
  if (op == Un::fast_gelu && in.size() > 1 && in[1].dtype() != DType::undefined) {
    RLLM_ASSIGN_OR_RETURN(bias, ops::to_f32(in[1]));
    if (bias.numel() == 0 || n % bias.numel() != 0) return Status::error("bias does not divide the input");
  }
  switch (op) {
    case Un::sigmoid: kernels::sigmoid(px, py, n); break;
    case Un::gelu: kernels::gelu_erf(px, py, n); break;
    case Un::fast_gelu:
      if (bias.dtype() != DType::undefined) {
        Tensor xb = Tensor::uninit(DType::f32, x.shape());
        for (int64_t i = 0; i < n; ++i) xb.mut<float>()[i] = px[i] + bias.as<float>()[i % bias.numel()];
        kernels::gelu_tanh(xb.as<float>(), py, n);
      } else {
        kernels::gelu_tanh(px, py, n);
      }
      break;
    default:
      for (int64_t i = 0; i < n; ++i) {
        float v = px[i];
        switch (op) {
          case Un::sqrt: py[i] = std::sqrt(v); break;
          case Un::reciprocal: py[i] = 1.0f / v; break;
          case Un::neg: py[i] = -v; break;
          case Un::abs: py[i] = std::fabs(v); break;
          case Un::exp: py[i] = std::exp(v); break;
          case Un::log: py[i] = std::log(v); break;
          case Un::tanh: py[i] = std::tanh(v); break;
          case Un::erf: py[i] = std::erf(v); break;
          case Un::relu: py[i] = v > 0 ? v : 0; break;
          case Un::floor: py[i] = std::floor(v); break;
          case Un::ceil: py[i] = std::ceil(v); break;
          case Un::quick_gelu: py[i] = v / (1.0f + std::exp(-alpha * v)); break;
          default: break;
        }
      }
  }
  out[0] = ops::from_f32(y, x0.dtype());
  return ok_status();
}

void register_unary(OpRegistry& r, const char* domain, const char* name, Un op) {
  r.add(domain, name, 1, [op](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    float alpha = lc.node.attr_f("alpha", 1.702f);
    return make_op([op, alpha](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
      return unary(op, alpha, in, out);
    });
  });
}

Status where(std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "condition"));
  RLLM_RETURN_IF_ERROR(need(in, 1, "X"));
  RLLM_RETURN_IF_ERROR(need(in, 2, "Y"));
  const Tensor &c = in[0], &x = in[1], &y = in[2];
  if (c.dtype() != DType::boolean) return Status::error("condition must be bool");
  if (x.dtype() != y.dtype()) return Status::error("X and Y types differ");
  RLLM_ASSIGN_OR_RETURN(Shape s1, broadcast(c.shape(), x.shape()));
  RLLM_ASSIGN_OR_RETURN(Shape shape, broadcast(s1, y.shape()));
  size_t esize = static_cast<size_t>(dtype_bits(x.dtype()) / 8);
  if (esize == 0) return Status::error("unsupported element type");
  Tensor o = Tensor::uninit(x.dtype(), shape);
  const uint8_t* pc = c.as<uint8_t>();
  const auto* px = static_cast<const uint8_t*>(x.data());
  const auto* py = static_cast<const uint8_t*>(y.data());
  auto* po = static_cast<uint8_t*>(o.mutable_data());
  ops::broadcast_each<3>(shape, {c.shape(), x.shape(), y.shape()}, [&](int64_t i, const auto& p) {
    std::memcpy(po + i * esize, pc[p[0]] ? px + p[1] * esize : py + p[2] * esize, esize);
  });
  out[0] = o;
  return ok_status();
}

template <typename From, typename To>
void convert(const From* x, To* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<To, uint8_t> && std::is_floating_point_v<From>)
      y[i] = static_cast<To>(static_cast<int64_t>(x[i]));
    else
      y[i] = static_cast<To>(x[i]);
  }
}

Status cast(DType to, std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "input"));
  Tensor x = in[0];
  if (x.dtype() == to) {
    out[0] = x;
    return ok_status();
  }
  if (x.dtype() == DType::f16 || x.dtype() == DType::bf16) {
    RLLM_ASSIGN_OR_RETURN(x, ops::to_f32(x));
    if (to == DType::f32) {
      out[0] = x;
      return ok_status();
    }
  }
  DType mid = (to == DType::f16 || to == DType::bf16) ? DType::f32 : to;
  Tensor y = Tensor::uninit(mid, x.shape());
  int64_t n = x.numel();
  Status s = with_numeric(x.dtype(), [&](auto from) -> Status {
    using F = decltype(from);
    return with_numeric(mid, [&](auto tag) -> Status {
      using T = decltype(tag);
      convert(x.as<F>(), y.mut<T>(), n);
      if (mid == DType::boolean)
        for (int64_t i = 0; i < n; ++i) y.mut<uint8_t>()[i] = x.as<F>()[i] != F{0};
      return ok_status();
    });
  });
  RLLM_RETURN_IF_ERROR(s);
  out[0] = ops::from_f32(y, to);
  return ok_status();
}

Status softmax(int64_t axis_attr, bool flatten, std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "input"));
  RLLM_ASSIGN_OR_RETURN(Tensor x, ops::to_f32(in[0]));
  RLLM_ASSIGN_OR_RETURN(int axis, ops::norm_axis(axis_attr, x.rank()));
  Tensor y = Tensor::uninit(DType::f32, x.shape());
  std::memcpy(y.mutable_data(), x.data(), static_cast<size_t>(x.nbytes()));
  int64_t outer = 1, len = 1, inner = 1;
  for (int i = 0; i < x.rank(); ++i) {
    if (i < axis) outer *= x.dim(i);
    else if (i == axis || flatten) len *= x.dim(i);
    else inner *= x.dim(i);
  }
  float* p = y.mut<float>();
  if (inner == 1) {
    for (int64_t o = 0; o < outer; ++o) kernels::softmax(p + o * len, len);
  } else {
    std::vector<float> tmp(static_cast<size_t>(len));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < inner; ++j) {
        for (int64_t k = 0; k < len; ++k) tmp[k] = p[(o * len + k) * inner + j];
        kernels::softmax(tmp.data(), len);
        for (int64_t k = 0; k < len; ++k) p[(o * len + k) * inner + j] = tmp[k];
      }
  }
  out[0] = ops::from_f32(y, in[0].dtype());
  return ok_status();
}

}  // namespace

void register_elementwise_ops(OpRegistry& r) {
  register_binary(r, "Add", Bin::add);
  register_binary(r, "Sub", Bin::sub);
  register_binary(r, "Mul", Bin::mul);
  register_binary(r, "Div", Bin::div);
  register_binary(r, "Pow", Bin::pow);
  register_binary(r, "Equal", Bin::eq);
  register_binary(r, "Less", Bin::lt);
  register_binary(r, "Greater", Bin::gt);
  register_binary(r, "LessOrEqual", Bin::le);
  register_binary(r, "GreaterOrEqual", Bin::ge);
  register_binary(r, "And", Bin::and_);
  register_binary(r, "Or", Bin::or_);
  register_binary(r, "Xor", Bin::xor_);

  register_unary(r, "", "Sqrt", Un::sqrt);
  register_unary(r, "", "Reciprocal", Un::reciprocal);
  register_unary(r, "", "Neg", Un::neg);
  register_unary(r, "", "Abs", Un::abs);
  register_unary(r, "", "Exp", Un::exp);
  register_unary(r, "", "Log", Un::log);
  register_unary(r, "", "Sigmoid", Un::sigmoid);
  register_unary(r, "", "Tanh", Un::tanh);
  register_unary(r, "", "Erf", Un::erf);
  register_unary(r, "", "Relu", Un::relu);
  register_unary(r, "", "Floor", Un::floor);
  register_unary(r, "", "Ceil", Un::ceil);
  register_unary(r, "", "Not", Un::not_);
  register_unary(r, "", "Identity", Un::identity);
  register_unary(r, "com.microsoft", "Gelu", Un::gelu);
  register_unary(r, "com.microsoft", "FastGelu", Un::fast_gelu);
  register_unary(r, "com.microsoft", "QuickGelu", Un::quick_gelu);
  // ONNX Gelu (opset 20): approximate "none" is the erf form, "tanh" FastGelu's (Gemma's MLP).
  r.add("", "Gelu", 20, [](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    std::string approx = lc.node.attr_s("approximate", "none");
    if (approx != "none" && approx != "tanh") return lc.error("approximate must be \"none\" or \"tanh\", got \"" + approx + "\"");
    Un op = approx == "tanh" ? Un::fast_gelu : Un::gelu;
    return make_op([op](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) { return unary(op, 0, in, out); });
  });

  r.add("", "Where", 9, [](const LoadContext&) -> Result<std::unique_ptr<Op>> {
    return make_op([](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
      return where(in, out);
    });
  });
  r.add("", "Cast", 6, [](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    int64_t to = lc.node.attr_i("to", 0);
    if (!dtype_known(static_cast<int32_t>(to)) || to == static_cast<int64_t>(DType::string))
      return lc.error("unsupported target type " + std::to_string(to));
    return make_op([to](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
      return cast(static_cast<DType>(to), in, out);
    });
  });
  r.add("", "Softmax", 1, [](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    bool flatten = lc.opset < 13;
    int64_t axis = lc.node.attr_i("axis", flatten ? 1 : -1);
    return make_op([axis, flatten](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
      return softmax(axis, flatten, in, out);
    });
  });
}

}  // namespace rllm
