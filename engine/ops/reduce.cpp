// ReduceSum / ReduceMean / ReduceMax / ReduceL2 over any set of axes.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/ops/op_util.h"

namespace rllm {
namespace {

enum class Red { sum, mean, max, l2 };

template <typename T>
void reduce_typed(Red op, const Tensor& x, const std::vector<bool>& reduced, Tensor& y) {
  const Shape& s = x.shape();
  int r = x.rank();
  Shape ys(r);
  for (int d = 0; d < r; ++d) ys[d] = reduced[d] ? 1 : s[d];
  Shape yst(r, 1);
  for (int d = r - 2; d >= 0; --d) yst[d] = yst[d + 1] * ys[d + 1];
  int64_t ny = y.numel();
  std::vector<double> acc(static_cast<size_t>(ny), op == Red::max ? -std::numeric_limits<double>::infinity() : 0.0);
  const T* px = x.as<T>();
  const int64_t nx = x.numel();
  auto add = [op](double a, double v) { return op == Red::max ? std::max(a, v) : a + (op == Red::l2 ? v * v : v); };
  // One run of reduced axes [a0, a1): x is [outer, red, inner] and each
  // output (o, i) sums x[o, ·, i] in the same order as the general walk below.
  int a0 = 0, a1 = r;
  while (a0 < r && !reduced[a0]) ++a0;
  while (a1 > a0 && !reduced[a1 - 1]) --a1;
  if (std::all_of(reduced.begin() + a0, reduced.begin() + a1, [](bool b) { return b; })) {
    int64_t outer = 1, red = 1, inner = 1;
    for (int d = 0; d < r; ++d) (d < a0 ? outer : d < a1 ? red : inner) *= s[d];
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < red; ++k) {
        const T* row = px + (o * red + k) * inner;
        double* a = acc.data() + o * inner;
        for (int64_t i = 0; i < inner; ++i) a[i] = add(a[i], static_cast<double>(row[i]));
      }
  } else {
    Shape idx(r, 0);
    for (int64_t i = 0; i < nx; ++i) {
      int64_t o = 0;
      for (int d = 0; d < r; ++d) o += (reduced[d] ? 0 : idx[d]) * yst[d];
      acc[o] = add(acc[o], static_cast<double>(px[i]));
      for (int d = r - 1; d >= 0; --d) {
        if (++idx[d] < s[d]) break;
        idx[d] = 0;
      }
    }
  }
  int64_t count = ny == 0 ? 1 : nx / ny;
  for (int64_t o = 0; o < ny; ++o)
    y.mut<T>()[o] = static_cast<T>(op == Red::mean ? acc[o] / static_cast<double>(count)
                                   : op == Red::l2 ? std::sqrt(acc[o]) : acc[o]);
}

Status reduce(Red op, std::vector<int64_t> axes, bool keepdims, bool noop_empty, bool axes_from_input,
              std::span<const Tensor> in, std::span<Tensor> out) {
  RLLM_RETURN_IF_ERROR(ops::need(in, 0, "data"));
  if (axes_from_input && in.size() > 1 && in[1].dtype() != DType::undefined) {
    RLLM_ASSIGN_OR_RETURN(axes, ops::to_ints(in[1], "axes"));
  }
  Tensor x = in[0];
  DType orig = x.dtype();
  if (orig == DType::f16 || orig == DType::bf16) {
    RLLM_ASSIGN_OR_RETURN(x, ops::to_f32(x));
  }
  if (axes.empty() && noop_empty) {
    out[0] = in[0];
    return ok_status();
  }
  int r = x.rank();
  std::vector<bool> reduced(static_cast<size_t>(r), axes.empty());
  for (int64_t a : axes) {
    RLLM_ASSIGN_OR_RETURN(int ax, ops::norm_axis(a, r));
    reduced[ax] = true;
  }
  Shape ys, keep;
  for (int d = 0; d < r; ++d) {
    keep.push_back(reduced[d] ? 1 : x.dim(d));
    if (!reduced[d]) ys.push_back(x.dim(d));
  }
  Tensor y = Tensor::uninit(x.dtype(), keep);
  switch (x.dtype()) {
    case DType::f32: reduce_typed<float>(op, x, reduced, y); break;
    case DType::f64: reduce_typed<double>(op, x, reduced, y); break;
    case DType::i64: reduce_typed<int64_t>(op, x, reduced, y); break;
    case DType::i32: reduce_typed<int32_t>(op, x, reduced, y); break;
    default: return Status::error("unsupported element type " + std::string(dtype_name(x.dtype())));
  }
  y = keepdims ? y : y.reshaped(ys);
  out[0] = ops::from_f32(y, orig == DType::f16 || orig == DType::bf16 ? orig : y.dtype());
  return ok_status();
}

OpFactory reduce_factory(Red op, int64_t axes_input_since) {
  return [op, axes_input_since](const LoadContext& lc) -> Result<std::unique_ptr<Op>> {
    auto axes = lc.node.attr_ints("axes");
    bool keepdims = lc.node.attr_i("keepdims", 1) != 0;
    bool noop = lc.node.attr_i("noop_with_empty_axes", 0) != 0;
    bool from_input = lc.opset >= axes_input_since;
    return make_op([=](std::span<const Tensor> in, std::span<Tensor> out, ExecContext&) {
      return reduce(op, axes, keepdims, noop, from_input, in, out);
    });
  };
}

}  // namespace

void register_reduce_ops(OpRegistry& r) {
  r.add("", "ReduceSum", 1, reduce_factory(Red::sum, 13));
  r.add("", "ReduceMean", 1, reduce_factory(Red::mean, 18));
  r.add("", "ReduceMax", 1, reduce_factory(Red::max, 18));
  r.add("", "ReduceL2", 1, reduce_factory(Red::l2, 18));
}

}  // namespace rllm
