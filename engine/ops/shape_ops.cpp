// Shape and data-movement ops. They move bytes and never look at values, so
// they serve every element type; Reshape/Squeeze/Unsqueeze/Flatten are views.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "engine/graph/plan.h"
#include "engine/ops/op_util.h"

namespace rllm {
namespace {

using ops::need;
using ops::norm_axis;
using ops::to_ints;

size_t esize(const Tensor& t) { return static_cast<size_t>(dtype_bits(t.dtype()) / 8); }

Status need_bytes(const Tensor& t) {
  if (dtype_bits(t.dtype()) < 8)
    return Status::error("element type " + std::string(dtype_name(t.dtype())) + " is not supported here");
  return ok_status();
}

template <typename F>
OpFactory simple(F f) {
  return [f](const LoadContext&) -> Result<std::unique_ptr<Op>> {
    return make_op([f](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) { return f(in, out); });
  };
}

// Axes from the attribute (older opsets) or from input `index` (newer ones).
Result<std::vector<int64_t>> axes_of(const std::vector<int64_t>& attr, std::span<const Tensor> in, size_t index) {
  if (index < in.size() && in[index].dtype() != DType::undefined) return to_ints(in[index], "axes");
  return attr;
}

Status reshape(bool allowzero, std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "data"));
  RLLM_RETURN_IF_ERROR(need(in, 1, "shape"));
  RLLM_ASSIGN_OR_RETURN(auto dims, to_ints(in[1], "shape"));
  const Tensor& x = in[0];
  Shape s(dims.begin(), dims.end());
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == 0 && !allowzero) {
      if (i >= x.shape().size()) return Status::error("shape copies a dimension the input lacks");
      s[i] = x.dim(static_cast<int>(i));
    }
    if (s[i] == -1) {
      if (infer >= 0) return Status::error("shape has more than one -1");
      infer = static_cast<int>(i);
    } else if (s[i] < 0) {
      return Status::error("negative dimension in shape");
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || x.numel() % known != 0)
      return Status::error("cannot reshape " + shape_str(x.shape()) + " to " + shape_str(Shape(dims.begin(), dims.end())));
    s[infer] = x.numel() / known;
  }
  if (shape_numel(s) != x.numel())
    return Status::error("cannot reshape " + shape_str(x.shape()) + " to " + shape_str(s));
  out[0] = x.reshaped(s);
  return ok_status();
}

Status unsqueeze(const std::vector<int64_t>& attr, std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "data"));
  RLLM_ASSIGN_OR_RETURN(auto axes, axes_of(attr, in, 1));
  int rank = in[0].rank() + static_cast<int>(axes.size());
  std::vector<bool> inserted(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    RLLM_ASSIGN_OR_RETURN(int ax, norm_axis(a, rank));
    if (inserted[ax]) return Status::error("repeated axis");
    inserted[ax] = true;
  }
  Shape s;
  size_t k = 0;
  for (int i = 0; i < rank; ++i) s.push_back(inserted[i] ? 1 : in[0].shape()[k++]);
  out[0] = in[0].reshaped(s);
  return ok_status();
}

Status squeeze(const std::vector<int64_t>& attr, std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "data"));
  RLLM_ASSIGN_OR_RETURN(auto axes, axes_of(attr, in, 1));
  const Tensor& x = in[0];
  std::vector<bool> drop(static_cast<size_t>(x.rank()), axes.empty());
  for (int64_t a : axes) {
    RLLM_ASSIGN_OR_RETURN(int ax, norm_axis(a, x.rank()));
    if (x.dim(ax) != 1) return Status::error("cannot squeeze axis " + std::to_string(a) + " of " + shape_str(x.shape()));
    drop[ax] = true;
  }
  Shape s;
  for (int i = 0; i < x.rank(); ++i)
    if (!(drop[i] && x.dim(i) == 1)) s.push_back(x.dim(i));
  out[0] = x.reshaped(s);
  return ok_status();
}

Status flatten(int64_t axis_attr, std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "input"));
  const Tensor& x = in[0];
  int64_t axis = axis_attr < 0 ? axis_attr + x.rank() : axis_attr;
  if (axis < 0 || axis > x.rank()) return Status::error("axis out of range");
  int64_t a = 1;
  for (int i = 0; i < axis; ++i) a *= x.dim(i);
  out[0] = x.reshaped({a, a == 0 ? 0 : x.numel() / std::max<int64_t>(a, 1)});
  return ok_status();
}

Status shape_op(int64_t start, int64_t end, std::span<const Tensor> in, std::span<Tensor> out) {
  if (in.empty() || in[0].dtype() == DType::undefined) return Status::error("missing input 'data'");
  const Shape& s = in[0].shape();
  int64_t r = static_cast<int64_t>(s.size());
  start = std::clamp(start < 0 ? start + r : start, int64_t{0}, r);
  end = std::clamp(end < 0 ? end + r : end, int64_t{0}, r);
  std::vector<int64_t> v;
  for (int64_t i = start; i < end; ++i) v.push_back(s[i]);
  out[0] = ops::ints_tensor(v, {static_cast<int64_t>(v.size())});
  return ok_status();
}

Status gather(int64_t axis_attr, std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "data"));
  RLLM_RETURN_IF_ERROR(need(in, 1, "indices"));
  const Tensor& x = in[0];
  RLLM_RETURN_IF_ERROR(need_bytes(x));
  RLLM_ASSIGN_OR_RETURN(int axis, norm_axis(axis_attr, x.rank()));
  RLLM_ASSIGN_OR_RETURN(auto idx, to_ints(in[1], "indices"));
  int64_t outer = 1, inner = 1, n = x.dim(axis);
  for (int i = 0; i < axis; ++i) outer *= x.dim(i);
  for (int i = axis + 1; i < x.rank(); ++i) inner *= x.dim(i);
  Shape s(x.shape().begin(), x.shape().begin() + axis);
  s.insert(s.end(), in[1].shape().begin(), in[1].shape().end());
  s.insert(s.end(), x.shape().begin() + axis + 1, x.shape().end());
  Tensor y = Tensor::uninit(x.dtype(), s);
  size_t row = static_cast<size_t>(inner) * esize(x);
  const auto* px = static_cast<const uint8_t*>(x.data());
  auto* py = static_cast<uint8_t*>(y.mutable_data());
  for (int64_t o = 0; o < outer; ++o)
    for (size_t j = 0; j < idx.size(); ++j) {
      int64_t k = idx[j] < 0 ? idx[j] + n : idx[j];
      if (k < 0 || k >= n)
        return Status::error("index " + std::to_string(idx[j]) + " out of range [0, " + std::to_string(n) + ")");
      std::memcpy(py + (o * static_cast<int64_t>(idx.size()) + static_cast<int64_t>(j)) * row,
                  px + (o * n + k) * row, row);
    }
  out[0] = y;
  return ok_status();
}

Status concat(int64_t axis_attr, std::span<const Tensor> in, std::span<Tensor> out) {
  if (in.empty()) return Status::error("no inputs");
  RLLM_RETURN_IF_ERROR(need(in, 0, "inputs"));
  const Tensor& first = in[0];
  RLLM_RETURN_IF_ERROR(need_bytes(first));
  RLLM_ASSIGN_OR_RETURN(int axis, norm_axis(axis_attr, first.rank()));
  Shape s = first.shape();
  s[axis] = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    RLLM_RETURN_IF_ERROR(need(in, i, "inputs"));
    if (in[i].dtype() != first.dtype() || in[i].rank() != first.rank())
      return Status::error("inputs differ in type or rank");
    for (int d = 0; d < first.rank(); ++d)
      if (d != axis && in[i].dim(d) != first.dim(d))
        return Status::error("input shapes " + shape_str(first.shape()) + " and " + shape_str(in[i].shape()) + " differ off the axis");
    s[axis] += in[i].dim(axis);
  }
  Tensor y = Tensor::uninit(first.dtype(), s);
  int64_t outer = 1;
  for (int d = 0; d < axis; ++d) outer *= s[d];
  size_t es = esize(first);
  auto* py = static_cast<uint8_t*>(y.mutable_data());
  for (int64_t o = 0; o < outer; ++o)
    for (const auto& t : in) {
      size_t chunk = static_cast<size_t>(outer == 0 ? 0 : t.numel() / outer) * es;
      std::memcpy(py, static_cast<const uint8_t*>(t.data()) + o * chunk, chunk);
      py += chunk;
    }
  out[0] = y;
  return ok_status();
}

template <typename T>
T load_as(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Copies x into a new shape by mapping each output index to an input offset.
template <typename Map>
Tensor remap(const Tensor& x, const Shape& s, Map map) {
  Tensor y = Tensor::uninit(x.dtype(), s);
  size_t es = esize(x);
  int64_t n = y.numel();
  Shape idx(s.size(), 0);
  const auto* px = static_cast<const uint8_t*>(x.data());
  auto* py = static_cast<uint8_t*>(y.mutable_data());
  for (int64_t o = 0; o < n; ++o) {
    std::memcpy(py + o * es, px + map(idx) * es, es);
    for (int d = static_cast<int>(s.size()) - 1; d >= 0; --d) {
      if (++idx[d] < s[d]) break;
      idx[d] = 0;
    }
  }
  return y;
}

// Slice before opset 10 takes starts/ends/axes as attributes, later as inputs.
struct SliceAttrs {
  std::vector<int64_t> starts, ends, axes;
};

Status slice(std::span<const Tensor> in, std::span<Tensor> out, const SliceAttrs* attrs) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "data"));
  const Tensor& x = in[0];
  RLLM_RETURN_IF_ERROR(need_bytes(x));
  std::vector<int64_t> starts, ends, axes, steps;
  if (attrs != nullptr) {
    starts = attrs->starts;
    ends = attrs->ends;
    axes = attrs->axes;
  } else {
    RLLM_RETURN_IF_ERROR(need(in, 1, "starts"));
    RLLM_RETURN_IF_ERROR(need(in, 2, "ends"));
    RLLM_ASSIGN_OR_RETURN(starts, to_ints(in[1], "starts"));
    RLLM_ASSIGN_OR_RETURN(ends, to_ints(in[2], "ends"));
    if (in.size() > 3 && in[3].dtype() != DType::undefined) {
      RLLM_ASSIGN_OR_RETURN(axes, to_ints(in[3], "axes"));
    }
    if (in.size() > 4 && in[4].dtype() != DType::undefined) {
      RLLM_ASSIGN_OR_RETURN(steps, to_ints(in[4], "steps"));
    }
  }
  if (ends.size() != starts.size()) return Status::error("starts and ends differ in length");
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size())
    return Status::error("axes/steps lengths differ from starts");
  int r = x.rank();
  Shape begin(r, 0), step(r, 1), s = x.shape();
  for (size_t i = 0; i < starts.size(); ++i) {
    RLLM_ASSIGN_OR_RETURN(int a, norm_axis(axes[i], r));
    int64_t d = x.dim(a), st = steps[i];
    if (st == 0) return Status::error("slice step 0");
    int64_t b = starts[i] < 0 ? starts[i] + d : starts[i];
    int64_t e = ends[i] < 0 ? ends[i] + d : ends[i];
    if (st > 0) {
      b = std::clamp<int64_t>(b, 0, d);
      e = std::clamp<int64_t>(e, 0, d);
      s[a] = e > b ? (e - b + st - 1) / st : 0;
    } else {
      b = std::clamp<int64_t>(b, -1, d - 1);
      e = std::clamp<int64_t>(e, -1, d - 1);
      s[a] = b > e ? (b - e + (-st) - 1) / (-st) : 0;
    }
    begin[a] = b;
    step[a] = st;
  }
  Shape xs = x.strides();
  out[0] = remap(x, s, [&](const Shape& idx) {
    int64_t off = 0;
    for (int d = 0; d < r; ++d) off += (begin[d] + idx[d] * step[d]) * xs[d];
    return off;
  });
  return ok_status();
}

Status expand(std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "input"));
  RLLM_RETURN_IF_ERROR(need(in, 1, "shape"));
  RLLM_RETURN_IF_ERROR(need_bytes(in[0]));
  RLLM_ASSIGN_OR_RETURN(auto dims, to_ints(in[1], "shape"));
  RLLM_ASSIGN_OR_RETURN(Shape s, ops::broadcast(in[0].shape(), Shape(dims.begin(), dims.end())));
  const Tensor& x = in[0];
  Shape xs = x.strides();
  size_t off = s.size() - x.shape().size();
  Tensor y = Tensor::uninit(x.dtype(), s);
  const int64_t inner = s.empty() ? 1 : s.back();
  if (y.numel() == 0 || inner == 0) {
    out[0] = y;
    return ok_status();
  }
  // Row by row over the innermost output dim: one input offset per row, and
  // the row is a copy (x's innermost dim matches) or one value repeated (x's is
  // 1, e.g. a [B, S, 1] mask expanded to [B, S, H]).
  const bool repeat = x.rank() == 0 || x.shape().back() == 1;
  const size_t es = esize(x);
  const auto* px = static_cast<const uint8_t*>(x.data());
  auto* py = static_cast<uint8_t*>(y.mutable_data());
  Shape idx(s.size(), 0);
  for (int64_t r = 0; r < y.numel() / inner; ++r) {
    int64_t o = 0;
    for (size_t d = 0; d < x.shape().size(); ++d)
      if (x.shape()[d] != 1) o += idx[d + off] * xs[d];
    uint8_t* dst = py + size_t(r * inner) * es;
    const uint8_t* src = px + size_t(o) * es;
    if (!repeat) std::memcpy(dst, src, size_t(inner) * es);
    else if (es == 8) std::fill_n(reinterpret_cast<uint64_t*>(dst), inner, load_as<uint64_t>(src));
    else if (es == 4) std::fill_n(reinterpret_cast<uint32_t*>(dst), inner, load_as<uint32_t>(src));
    else
      for (int64_t j = 0; j < inner; ++j) std::memcpy(dst + size_t(j) * es, src, es);
    for (int d = static_cast<int>(s.size()) - 2; d >= 0; --d) {
      if (++idx[d] < s[d]) break;
      idx[d] = 0;
    }
  }
  out[0] = y;
  return ok_status();
}

Status tile(std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "input"));
  RLLM_RETURN_IF_ERROR(need(in, 1, "repeats"));
  RLLM_RETURN_IF_ERROR(need_bytes(in[0]));
  RLLM_ASSIGN_OR_RETURN(auto reps, to_ints(in[1], "repeats"));
  const Tensor& x = in[0];
  if (static_cast<int>(reps.size()) != x.rank()) return Status::error("repeats length differs from rank");
  Shape s = x.shape();
  for (int d = 0; d < x.rank(); ++d) s[d] *= reps[d];
  Shape xs = x.strides();
  out[0] = remap(x, s, [&](const Shape& idx) {
    int64_t o = 0;
    for (int d = 0; d < x.rank(); ++d) o += (idx[d] % x.dim(d)) * xs[d];
    return o;
  });
  return ok_status();
}

Status transpose(std::vector<int64_t> perm, std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "data"));
  RLLM_RETURN_IF_ERROR(need_bytes(in[0]));
  const Tensor& x = in[0];
  int r = x.rank();
  if (perm.empty())
    for (int d = r - 1; d >= 0; --d) perm.push_back(d);
  if (static_cast<int>(perm.size()) != r) return Status::error("perm length differs from rank");
  Shape s(r);
  for (int d = 0; d < r; ++d) {
    if (perm[d] < 0 || perm[d] >= r) return Status::error("perm out of range");
    s[d] = x.dim(static_cast<int>(perm[d]));
  }
  Shape xs = x.strides();
  // Trailing dims that stay in place move as whole blocks ([0,2,1,3] of
  // attention heads copies rows of head_dim).
  int keep = r;
  while (keep > 0 && perm[keep - 1] == keep - 1) --keep;
  if (keep < r && keep > 0) {
    const size_t block = static_cast<size_t>(xs[keep - 1]) * esize(x);
    Tensor y = Tensor::uninit(x.dtype(), s);
    const auto* px = static_cast<const uint8_t*>(x.data());
    auto* py = static_cast<uint8_t*>(y.mutable_data());
    const int64_t n_blocks = block == 0 ? 0 : static_cast<int64_t>(static_cast<size_t>(y.nbytes()) / block);
    Shape idx(keep, 0);
    for (int64_t o = 0; o < n_blocks; ++o) {
      int64_t off = 0;
      for (int d = 0; d < keep; ++d) off += idx[d] * xs[perm[d]];
      std::memcpy(py + static_cast<size_t>(o) * block, px + static_cast<size_t>(off) * esize(x), block);
      for (int d = keep - 1; d >= 0; --d) {
        if (++idx[d] < s[d]) break;
        idx[d] = 0;
      }
    }
    out[0] = y;
    return ok_status();
  }
  // The innermost dim moves ([0,2,3,1] of attention keys): one input offset per
  // output row, then the row gathers x with stride xs[perm[r - 1]].
  const size_t es = esize(x);
  if (keep == r && r >= 2 && x.numel() > 0 && (es == 1 || es == 2 || es == 4 || es == 8)) {
    Tensor y = Tensor::uninit(x.dtype(), s);
    const int64_t len = s[r - 1], step = xs[perm[r - 1]], rows = x.numel() / len;
    const auto* px = static_cast<const uint8_t*>(x.data());
    auto* py = static_cast<uint8_t*>(y.mutable_data());
    auto gather = [&](auto elem) {
      using T = decltype(elem);
      const T* src = reinterpret_cast<const T*>(px);
      T* dst = reinterpret_cast<T*>(py);
      Shape idx(r - 1, 0);
      for (int64_t o = 0; o < rows; ++o, dst += len) {
        int64_t off = 0;
        for (int d = 0; d < r - 1; ++d) off += idx[d] * xs[perm[d]];
        for (int64_t j = 0; j < len; ++j) dst[j] = src[off + j * step];
        for (int d = r - 2; d >= 0; --d) {
          if (++idx[d] < s[d]) break;
          idx[d] = 0;
        }
      }
    };
    if (es == 1) gather(uint8_t{});
    else if (es == 2) gather(uint16_t{});
    else if (es == 4) gather(uint32_t{});
    else gather(uint64_t{});
    out[0] = y;
    return ok_status();
  }
  out[0] = remap(x, s, [&](const Shape& idx) {
    int64_t o = 0;
    for (int d = 0; d < r; ++d) o += idx[d] * xs[perm[d]];
    return o;
  });
  return ok_status();
}

Status split(int64_t axis_attr, const std::vector<int64_t>& split_attr, std::span<const Tensor> in,
             std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(need(in, 0, "input"));
  const Tensor& x = in[0];
  RLLM_RETURN_IF_ERROR(need_bytes(x));
  RLLM_ASSIGN_OR_RETURN(int axis, norm_axis(axis_attr, x.rank()));
  std::vector<int64_t> parts = split_attr;
  if (in.size() > 1 && in[1].dtype() != DType::undefined) {
    RLLM_ASSIGN_OR_RETURN(parts, to_ints(in[1], "split"));
  }
  int64_t d = x.dim(axis);
  if (parts.empty()) {
    int64_t n = static_cast<int64_t>(out.size());
    int64_t each = (d + n - 1) / n;
    for (int64_t i = 0; i < n; ++i) parts.push_back(std::min(each, d - each * i));
  }
  if (parts.size() != out.size()) return Status::error("split sizes differ from the output count");
  int64_t begin = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::vector<Tensor> args = {x, ops::ints_tensor({begin}, {1}), ops::ints_tensor({begin + parts[i]}, {1}),
                                ops::ints_tensor({axis}, {1})};
    std::vector<Tensor> o(1);
    RLLM_RETURN_IF_ERROR(slice(args, o, nullptr));
    out[i] = o[0];
    begin += parts[i];
  }
  if (begin != d) return Status::error("split sizes do not add up to the axis length");
  return ok_status();
}

Status range(std::span<const Tensor> in, std::span<Tensor> out) {
  for (size_t i = 0; i < 3; ++i) RLLM_RETURN_IF_ERROR(need(in, i, "start/limit/delta"));
  DType t = in[0].dtype();
  auto scalar = [&](size_t i) -> double {
    const Tensor& v = in[i];
    switch (v.dtype()) {
      case DType::i64: return static_cast<double>(v.as<int64_t>()[0]);
      case DType::i32: return v.as<int32_t>()[0];
      case DType::f64: return v.as<double>()[0];
      default: return v.as<float>()[0];
    }
  };
  if (t != DType::i64 && t != DType::i32 && t != DType::f32 && t != DType::f64)
    return Status::error("unsupported type");
  double start = scalar(0), limit = scalar(1), delta = scalar(2);
  if (delta == 0) return Status::error("delta is 0");
  int64_t n = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((limit - start) / delta)));
  Tensor y = Tensor::uninit(t, {n});
  for (int64_t i = 0; i < n; ++i) {
    double v = start + static_cast<double>(i) * delta;
    switch (t) {
      case DType::i64: y.mut<int64_t>()[i] = static_cast<int64_t>(v); break;
      case DType::i32: y.mut<int32_t>()[i] = static_cast<int32_t>(v); break;
      case DType::f64: y.mut<double>()[i] = v; break;
      default: y.mut<float>()[i] = static_cast<float>(v);
    }
  }
  out[0] = y;
  return ok_status();
}

Result<Tensor> constant_value(const LoadContext& lc) {
  const OnnxNode& n = lc.node;
  if (const auto* a = n.attr("value"); a && !a->tensors.empty()) return tensor_of(a->tensors[0]);
  if (const auto* a = n.attr("value_float")) {
    Tensor t = Tensor::uninit(DType::f32, {});
    t.mut<float>()[0] = a->f;
    return t;
  }
  if (const auto* a = n.attr("value_floats")) {
    Tensor t = Tensor::uninit(DType::f32, {static_cast<int64_t>(a->floats.size())});
    std::copy(a->floats.begin(), a->floats.end(), t.mut<float>());
    return t;
  }
  if (const auto* a = n.attr("value_int")) return ops::ints_tensor({a->i}, {});
  if (const auto* a = n.attr("value_ints")) return ops::ints_tensor(a->ints, {static_cast<int64_t>(a->ints.size())});
  return lc.error("Constant without a supported value attribute");
}

}  // namespace

void register_shape_ops(OpRegistry& r) {
  r.add("", "Constant", 1, [](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    RLLM_ASSIGN_OR_RETURN(Tensor v, constant_value(lc));
    return make_op([v](std::span<const Tensor>, std::span<Tensor> out, ExecContext&) {
      out[0] = v;
      return ok_status();
    });
  });
  r.add("", "ConstantOfShape", 9, [](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    Tensor value = Tensor(DType::f32, {1});
    if (const auto* a = lc.node.attr("value"); a && !a->tensors.empty()) {
      const OnnxTensor& t = a->tensors[0];
      if (t.numel() != 1 || dtype_bits(t.dtype) < 8) return lc.error("value must hold one element");
      value = tensor_of(t).reshaped({1});
    }
    return make_op([value](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) -> Status {
      RLLM_RETURN_IF_ERROR(need(in, 0, "input"));
      RLLM_ASSIGN_OR_RETURN(auto dims, to_ints(in[0], "shape"));
      Shape s(dims.begin(), dims.end());
      if (shape_numel(s) < 0) return Status::error("invalid shape " + shape_str(s));
      Tensor y = Tensor::uninit(value.dtype(), s);
      size_t es = esize(value);
      for (int64_t i = 0; i < y.numel(); ++i)
        std::memcpy(static_cast<uint8_t*>(y.mutable_data()) + i * es, value.data(), es);
      out[0] = y;
      return ok_status();
    });
  });
  r.add("", "Shape", 1, [](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    int64_t start = lc.node.attr_i("start", 0), end = lc.node.attr_i("end", INT64_MAX);
    return make_op([start, end](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
      return shape_op(start, end, in, out);
    });
  });
  r.add("", "Size", 1, simple([](std::span<const Tensor> in, std::span<Tensor> out) -> Status {
    RLLM_RETURN_IF_ERROR(need(in, 0, "data"));
    out[0] = ops::ints_tensor({in[0].numel()}, {});
    return ok_status();
  }));
  r.add("", "Reshape", 5, [](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    bool allowzero = lc.node.attr_i("allowzero", 0) != 0;
    return make_op([allowzero](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
      return reshape(allowzero, in, out);
    });
  });
  auto axes_factory = [](auto fn) {
    return [fn](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
      auto axes = lc.node.attr_ints("axes");
      return make_op([fn, axes](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
        return fn(axes, in, out);
      });
    };
  };
  r.add("", "Unsqueeze", 1, axes_factory(unsqueeze));
  r.add("", "Squeeze", 1, axes_factory(squeeze));
  r.add("", "Flatten", 1, [](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    int64_t axis = lc.node.attr_i("axis", 1);
    return make_op([axis](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
      return flatten(axis, in, out);
    });
  });
  r.add("", "Gather", 1, [](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    int64_t axis = lc.node.attr_i("axis", 0);
    return make_op([axis](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
      return gather(axis, in, out);
    });
  });
  r.add("", "Concat", 4, [](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    int64_t axis = lc.node.attr_i("axis", 0);
    return make_op([axis](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
      return concat(axis, in, out);
    });
  });
  r.add("", "Slice", 1, [](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    std::optional<SliceAttrs> attrs;
    if (lc.opset < 10)
      attrs = SliceAttrs{lc.node.attr_ints("starts"), lc.node.attr_ints("ends"), lc.node.attr_ints("axes")};
    return make_op([attrs](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
      return slice(in, out, attrs ? &*attrs : nullptr);
    });
  });
  r.add("", "Expand", 8, simple(expand));
  r.add("", "Tile", 6, simple(tile));
  r.add("", "Range", 11, simple(range));
  r.add("", "Transpose", 1, [](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    auto perm = lc.node.attr_ints("perm");
    return make_op([perm](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
      return transpose(perm, in, out);
    });
  });
  r.add("", "Split", 2, [](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    int64_t axis = lc.node.attr_i("axis", 0);
    auto parts = lc.node.attr_ints("split");
    return make_op([axis, parts](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
      return split(axis, parts, in, out);
    });
  });
}

}  // namespace rllm
