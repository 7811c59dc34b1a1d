#include "engine/graph/quant_fusion.h"

#include <optional>
#include <vector>

#include "engine/graph/encoder_fusion.h"
#include "engine/graph/pattern.h"

namespace rllm {
namespace {

using Matcher = GraphMatcher;

bool is_q8(DType t) { return t == DType::u8 || t == DType::i8; }
std::string input(const OnnxNode& n, size_t i) { return input_of(n, i); }

OnnxNode fused_node(const OnnxNode& from, std::vector<std::string> inputs, const std::string& output) {
  OnnxNode n;
  n.name = from.name.empty() ? output + "_int8" : from.name + "_int8";
  n.op_type = "MatMulIntegerToFloat";
  n.domain = "com.microsoft";
  while (!inputs.empty() && inputs.back().empty()) inputs.pop_back();
  n.inputs = std::move(inputs);
  n.outputs = {output};
  return n;
}

// MatMulInteger -> Cast(float) -> Mul(·, Mul(a_scale, b_scale)) [-> Add(·, bias)].
std::optional<Rewrite> match_dynamic(const Matcher& m, int i) {
  const OnnxNode& mi = m.node(i);
  if (mi.outputs.size() != 1 || mi.inputs.size() < 2) return std::nullopt;
  const OnnxTensor* b = m.init(mi.inputs[1]);
  if (b == nullptr || !is_q8(b->dtype) || b->dims.size() != 2) return std::nullopt;
  std::string wz = input(mi, 3);
  if (!wz.empty() && m.init(wz) == nullptr) return std::nullopt;
  int cast = m.only_user(mi.outputs[0], "Cast");
  if (cast < 0 || m.node(cast).attr_i("to", 0) != int64_t(DType::f32)) return std::nullopt;
  int mul = m.only_user(m.node(cast).outputs[0], "Mul");
  if (mul < 0 || m.node(mul).inputs.size() != 2) return std::nullopt;
  const OnnxNode& mn = m.node(mul);
  std::string scales = mn.inputs[0] == m.node(cast).outputs[0] ? mn.inputs[1] : mn.inputs[0];
  int smul = m.producer(scales, "Mul");
  if (smul < 0 || m.node(smul).inputs.size() != 2) return std::nullopt;
  const OnnxNode& sn = m.node(smul);
  const OnnxTensor* s0 = m.init(sn.inputs[0]);
  const OnnxTensor* s1 = m.init(sn.inputs[1]);
  if ((s0 == nullptr) == (s1 == nullptr)) return std::nullopt;
  const OnnxTensor* b_scale = s0 ? s0 : s1;
  std::string a_scale = s0 ? sn.inputs[1] : sn.inputs[0];
  const int64_t N = b->dims[1];
  if (b_scale->dtype != DType::f32 || (b_scale->numel() != 1 && b_scale->numel() != N)) return std::nullopt;

  Rewrite r{i, {}, {cast, mul}};
  if (m.single_reader(scales)) r.drop.push_back(smul);
  std::string out = mn.outputs[0], bias;
  int add = m.only_user(out, "Add");
  if (add >= 0 && m.node(add).inputs.size() == 2) {
    const OnnxNode& an = m.node(add);
    std::string other = an.inputs[0] == out ? an.inputs[1] : an.inputs[0];
    const OnnxTensor* bt = m.init(other);
    if (bt != nullptr && bt->dtype == DType::f32 && bt->dims.size() == 1 && bt->dims[0] == N) {
      bias = other;
      out = an.outputs[0];
      r.drop.push_back(add);
    }
  }
  r.node = fused_node(mi, {mi.inputs[0], mi.inputs[1], a_scale, b_scale->name, input(mi, 2), wz, bias}, out);
  return r;
}

// MatMul(DequantizeLinear(xq, xs, xz), DequantizeLinear(Wq, ws, wz)), the
// weight per tensor or per column (axis 1), the activation per tensor.
std::optional<Rewrite> match_qdq(const Matcher& m, int i) {
  const OnnxNode& mm = m.node(i);
  if (mm.inputs.size() != 2 || mm.outputs.size() != 1) return std::nullopt;
  int dx = m.producer(mm.inputs[0], "DequantizeLinear");
  int dw = m.producer(mm.inputs[1], "DequantizeLinear");
  if (dx < 0 || dw < 0) return std::nullopt;
  const OnnxNode& xn = m.node(dx);
  const OnnxNode& wn = m.node(dw);
  const OnnxTensor* wq = m.init(input(wn, 0));
  const OnnxTensor* ws = m.init(input(wn, 1));
  if (wq == nullptr || ws == nullptr || !is_q8(wq->dtype) || wq->dims.size() != 2 || ws->dtype != DType::f32)
    return std::nullopt;
  const int64_t N = wq->dims[1];
  if (ws->numel() != 1 && (ws->numel() != N || (wn.attr_i("axis", 1) != 1 && wn.attr_i("axis", 1) != -1)))
    return std::nullopt;
  std::string wz = input(wn, 2);
  if (!wz.empty() && m.init(wz) == nullptr) return std::nullopt;
  const OnnxTensor* xs = m.init(input(xn, 1));
  if (xs == nullptr || xs->dtype != DType::f32 || xs->numel() != 1) return std::nullopt;
  std::string xz = input(xn, 2);
  if (!xz.empty() && (m.init(xz) == nullptr || m.init(xz)->numel() != 1 || !is_q8(m.init(xz)->dtype)))
    return std::nullopt;
  Rewrite r{i, fused_node(mm, {input(xn, 0), wq->name, xs->name, ws->name, xz, wz}, mm.outputs[0]), {}};
  if (m.single_reader(mm.inputs[0])) r.drop.push_back(dx);
  if (m.single_reader(mm.inputs[1])) r.drop.push_back(dw);
  return r;
}

// DequantizeLinear(QuantizeLinear(x, s, z), s, z) of an activation, per
// tensor with a uint8 code, where the code has no other reader (QDQ graphs
// quantize every MatMul output and attention operand so). Offered after the
// MatMul fusions, so a code an integer GEMM reads keeps its QuantizeLinear.
std::optional<Rewrite> match_quantize_dequantize(const Matcher& m, int i) {
  const OnnxNode& dq = m.node(i);
  if (dq.outputs.size() != 1 || dq.inputs.size() < 2 || dq.attr_i("block_size", 0) != 0) return std::nullopt;
  const int q = m.producer(dq.inputs[0], "QuantizeLinear");
  if (q < 0 || !m.single_reader(dq.inputs[0])) return std::nullopt;
  const OnnxNode& qn = m.node(q);
  if (qn.attr_i("block_size", 0) != 0 || input(qn, 1) != input(dq, 1) || input(qn, 2) != input(dq, 2))
    return std::nullopt;
  const OnnxTensor* scale = m.init(input(qn, 1));
  if (scale == nullptr || scale->dtype != DType::f32 || scale->numel() != 1) return std::nullopt;
  const std::string zp = input(qn, 2);
  if (zp.empty()) {
    const int64_t t = qn.attr_i("output_dtype", 0);
    if (t != 0 && t != int64_t(DType::u8)) return std::nullopt;
  } else if (m.init(zp) == nullptr || m.init(zp)->dtype != DType::u8 || m.init(zp)->numel() != 1) {
    return std::nullopt;
  }
  OnnxNode n;
  n.name = (dq.name.empty() ? dq.outputs[0] : dq.name) + "_qdq";
  n.op_type = "QuantizeDequantizeLinear";
  n.domain = kRunLlmDomain;
  n.inputs = {qn.inputs[0], scale->name};
  if (!zp.empty()) n.inputs.push_back(zp);
  n.outputs = dq.outputs;
  return Rewrite{i, std::move(n), {q}};
}

}  // namespace

std::shared_ptr<const OnnxModel> fuse_quantized_matmuls(const OnnxModel& model) {
  const OnnxGraph& g = model.graph;
  bool candidates = false;
  for (const auto& n : g.nodes)
    if (is_default_domain(n) && (n.op_type == "MatMulInteger" || n.op_type == "DequantizeLinear")) candidates = true;
  if (!candidates) return nullptr;

  Matcher m(g);
  std::shared_ptr<const OnnxModel> fused = apply_rewrites(
      model,
      [&](const OnnxNode& n, int i) -> std::optional<Rewrite> {
        if (n.op_type == "MatMulInteger") return match_dynamic(m, i);
        if (n.op_type == "MatMul") return match_qdq(m, i);
        return std::nullopt;
      },
      {"com.microsoft"});
  const OnnxModel& after = fused ? *fused : model;
  Matcher m2(after.graph);
  auto pairs = apply_rewrites(
      after,
      [&](const OnnxNode& n, int i) -> std::optional<Rewrite> {
        if (n.op_type == "DequantizeLinear") return match_quantize_dequantize(m2, i);
        return std::nullopt;
      },
      {kRunLlmDomain});
  return pairs ? pairs : fused;
}

}  // namespace rllm
