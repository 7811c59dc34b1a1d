#include "engine/graph/encoder_fusion.h"

#include <cmath>
#include <optional>
#include <vector>

#include "engine/graph/pattern.h"

namespace rllm {
namespace {

bool near(std::optional<float> v, double want) { return v && std::fabs(double(*v) - want) <= 1e-5 * std::fabs(want); }

// The input of binary node n that is not `value`, or "" when neither is or both are.
std::string other_input(const OnnxNode& n, const std::string& value) {
  if (n.inputs.size() != 2 || n.inputs[0] == n.inputs[1]) return {};
  if (n.inputs[0] == value) return n.inputs[1];
  if (n.inputs[1] == value) return n.inputs[0];
  return {};
}

OnnxNode make_node(const OnnxNode& from, const char* domain, const char* op, std::vector<std::string> inputs,
                   const std::string& output) {
  OnnxNode n;
  n.name = (from.name.empty() ? output : from.name) + "_fused";
  n.op_type = op;
  n.domain = domain;
  n.inputs = std::move(inputs);
  n.outputs = {output};
  return n;
}

// Anchored at the Erf node.
std::optional<Rewrite> match_gelu(const GraphMatcher& m, int erf) {
  const OnnxNode& e = m.node(erf);
  if (e.inputs.size() != 1 || e.outputs.size() != 1 || !m.single_reader(e.inputs[0])) return std::nullopt;
  // x / sqrt(2)
  int scale = m.producer(e.inputs[0], "Div");
  if (scale < 0 || m.node(scale).inputs.size() != 2 || !near(m.scalar(m.node(scale).inputs[1]), M_SQRT2))
    return std::nullopt;
  const std::string x = m.node(scale).inputs[0];
  int add = m.only_user(e.outputs[0], "Add");
  if (add < 0 || !near(m.scalar(other_input(m.node(add), e.outputs[0])), 1.0)) return std::nullopt;
  const std::string& one_plus = m.node(add).outputs[0];
  int m1 = m.only_user(one_plus, "Mul");
  if (m1 < 0) return std::nullopt;
  const std::string factor = other_input(m.node(m1), one_plus);
  Rewrite r{m1, {}, {scale, erf, add}};
  std::string out;
  if (factor == x) {
    // (x * (1 + erf)) * 0.5
    int m2 = m.only_user(m.node(m1).outputs[0], "Mul");
    if (m2 < 0 || !near(m.scalar(other_input(m.node(m2), m.node(m1).outputs[0])), 0.5)) return std::nullopt;
    r.at = m2;
    r.drop.push_back(m1);
    out = m.node(m2).outputs[0];
  } else {
    // (x * 0.5) * (1 + erf)
    int half = m.producer(factor, "Mul");
    if (half < 0 || !m.single_reader(factor) || other_input(m.node(half), x).empty() ||
        !near(m.scalar(other_input(m.node(half), x)), 0.5))
      return std::nullopt;
    r.drop.push_back(half);
    out = m.node(m1).outputs[0];
  }
  r.node = make_node(m.node(r.at), "com.microsoft", "Gelu", {x}, out);
  return r;
}

bool is_transpose(const GraphMatcher& m, int t, const std::vector<int64_t>& perm) {
  return t >= 0 && m.node(t).attr_ints("perm") == perm && m.node(t).inputs.size() == 1;
}

// Anchored at the Softmax node.
std::optional<Rewrite> match_attention(const GraphMatcher& m, const OnnxModel& model, int sm) {
  const OnnxNode& s = m.node(sm);
  const int64_t axis = s.attr_i("axis", model.opset("") < 13 ? 1 : -1);
  if (axis != -1 && axis != 3) return std::nullopt;
  if (s.inputs.size() != 1 || !m.single_reader(s.inputs[0])) return std::nullopt;
  // Add(Div(scores, c), mask), either order, or no mask.
  std::string mask, scaled = s.inputs[0];
  std::vector<int> drop;
  if (int add = m.producer(scaled, "Add"); add >= 0) {
    const OnnxNode& a = m.node(add);
    if (a.inputs.size() != 2) return std::nullopt;
    const int d = m.producer(a.inputs[0], "Div") >= 0 ? 0 : 1;
    scaled = a.inputs[size_t(d)];
    mask = a.inputs[size_t(1 - d)];
    if (!m.single_reader(scaled)) return std::nullopt;
    drop.push_back(add);
  }
  int div = m.producer(scaled, "Div");
  if (div < 0 || m.node(div).inputs.size() != 2 || !m.scalar(m.node(div).inputs[1])) return std::nullopt;
  drop.push_back(div);
  const std::string& scores = m.node(div).inputs[0];
  int mm1 = m.producer(scores, "MatMul");
  if (mm1 < 0 || !m.single_reader(scores)) return std::nullopt;
  drop.push_back(mm1);
  int qt = m.producer(m.node(mm1).inputs[0], "Transpose");
  int kt = m.producer(m.node(mm1).inputs[1], "Transpose");
  if (!is_transpose(m, qt, {0, 2, 1, 3}) || !is_transpose(m, kt, {0, 2, 3, 1})) return std::nullopt;
  int mm2 = m.only_user(s.outputs[0], "MatMul");
  if (mm2 < 0 || m.node(mm2).inputs[0] != s.outputs[0]) return std::nullopt;
  int vt = m.producer(m.node(mm2).inputs[1], "Transpose");
  if (!is_transpose(m, vt, {0, 2, 1, 3})) return std::nullopt;
  int ot = m.only_user(m.node(mm2).outputs[0], "Transpose");
  if (!is_transpose(m, ot, {0, 2, 1, 3})) return std::nullopt;
  drop.push_back(sm);
  drop.push_back(mm2);
  for (int t : {qt, kt, vt})
    if (m.single_reader(m.node(t).outputs[0])) drop.push_back(t);
  std::vector<std::string> inputs = {m.node(qt).inputs[0], m.node(kt).inputs[0], m.node(vt).inputs[0],
                                     m.node(div).inputs[1]};
  if (!mask.empty()) inputs.push_back(mask);
  return Rewrite{ot, make_node(m.node(ot), kRunLlmDomain, "EncoderSelfAttention", inputs, m.node(ot).outputs[0]),
                 drop};
}

}  // namespace

std::shared_ptr<const OnnxModel> fuse_encoder_patterns(const OnnxModel& model) {
  GraphMatcher m(model.graph);
  return apply_rewrites(
      model,
      [&](const OnnxNode& n, int i) -> std::optional<Rewrite> {
        if (n.op_type == "Erf") return match_gelu(m, i);
        if (n.op_type == "Softmax") return match_attention(m, model, i);
        return std::nullopt;
      },
      {kRunLlmDomain, "com.microsoft"});
}

}  // namespace rllm
