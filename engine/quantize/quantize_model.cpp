#include "engine/quantize/quantize_model.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <regex>
#include <set>

#include "engine/quantize/block_quant.h"
#include "kernels/kernels.h"

namespace rllm::quant {
namespace {

// Every value name read by a node of `g` or its subgraphs.
void collect_reads(const OnnxGraph& g, std::set<std::string>& out) {
  for (const auto& n : g.nodes) {
    for (const auto& in : n.inputs)
      if (!in.empty()) out.insert(in);
    for (const auto& a : n.attributes)
      for (const auto& sub : a.graphs) collect_reads(*sub, out);
  }
}

std::set<std::string> used_names(const OnnxGraph& g) {
  std::set<std::string> used;
  collect_reads(g, used);
  for (const auto& o : g.outputs) used.insert(o.name);
  return used;
}

bool is_graph_input(const OnnxGraph& g, const std::string& name) {
  for (const auto& v : g.inputs)
    if (v.name == name) return true;
  return false;
}

const OnnxTensor* find_initializer(const OnnxGraph& g, const std::string& name) {
  for (const auto& t : g.initializers)
    if (t.name == name) return &t;
  return nullptr;
}

size_t initializer_index(const OnnxGraph& g, const OnnxTensor* t) {
  return static_cast<size_t>(t - g.initializers.data());
}

OnnxTensor owned_tensor(std::string name, DType dtype, std::vector<int64_t> dims,
                        std::vector<uint8_t> bytes) {
  auto buf = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  OnnxTensor t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.dims = std::move(dims);
  t.data = buf->data();
  t.nbytes = buf->size();
  t.source = OnnxTensor::Source::typed;
  t.owner = buf;
  return t;
}

std::vector<float> to_f32(const OnnxTensor& t) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  if (t.dtype == DType::f32) {
    std::memcpy(v.data(), t.data, v.size() * sizeof(float));
  } else {
    std::vector<uint16_t> h(v.size());
    std::memcpy(h.data(), t.data, h.size() * sizeof(uint16_t));
    kernels::f16_to_f32(h.data(), v.data(), static_cast<int64_t>(v.size()));
  }
  return v;
}

// Scales (or a bias) in the weight's float type.
std::vector<uint8_t> float_bytes(const std::vector<float>& v, DType dtype) {
  if (dtype == DType::f32) {
    std::vector<uint8_t> b(v.size() * sizeof(float));
    std::memcpy(b.data(), v.data(), b.size());
    return b;
  }
  std::vector<uint16_t> h(v.size());
  kernels::f32_to_f16(v.data(), h.data(), static_cast<int64_t>(v.size()));
  std::vector<uint8_t> b(h.size() * sizeof(uint16_t));
  std::memcpy(b.data(), h.data(), b.size());
  return b;
}

OnnxAttribute int_attr(const std::string& name, int64_t v) {
  OnnxAttribute a;
  a.name = name;
  a.type = AttrType::i;
  a.i = v;
  return a;
}

// A name for a new value that no initializer, node output or graph input has.
std::string fresh_name(const OnnxGraph& g, const std::string& base) {
  std::set<std::string> taken;
  for (const auto& t : g.initializers) taken.insert(t.name);
  for (const auto& v : g.inputs) taken.insert(v.name);
  for (const auto& n : g.nodes) taken.insert(n.outputs.begin(), n.outputs.end());
  std::string name = base;
  for (int i = 1; taken.count(name); ++i) name = base + "_" + std::to_string(i);
  return name;
}

// Where a MatMul/Gemm node's weight comes from, as W [N, K].
struct Candidate {
  size_t node = 0;
  size_t source = 0;                   // initializer holding the weight
  bool transpose = false;              // W = sourceᵀ (source is [K, N]); else W = source
  std::string bias;                    // Gemm's C, or ""
};

class Matcher {
 public:
  explicit Matcher(const std::string& pattern) : pattern_(pattern) {
    if (pattern.empty()) return;
    try {
      re_ = std::regex(pattern, std::regex::ECMAScript);
      has_re_ = true;
    } catch (const std::regex_error&) {
      has_re_ = false;  // not a regex: a plain substring
    }
  }
  bool operator()(const std::string& name) const {
    if (pattern_.empty()) return false;
    return name.find(pattern_) != std::string::npos || (has_re_ && std::regex_search(name, re_));
  }

 private:
  std::string pattern_;
  std::regex re_;
  bool has_re_ = false;
};

std::string dims_str(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(d[i]);
  }
  return s + "]";
}

// Why a weight cannot be quantized ("" if it can).
std::string weight_problem(const OnnxGraph& g, const OnnxTensor& t) {
  if (t.dims.size() != 2) return "weight '" + t.name + "' has shape " + dims_str(t.dims) + ", not 2-D";
  if (t.dtype != DType::f32 && t.dtype != DType::f16)
    return "weight '" + t.name + "' is " + std::string(dtype_name(t.dtype)) + ", not f32 or f16";
  if (is_graph_input(g, t.name)) return "weight '" + t.name + "' is also a graph input (overridable)";
  if (t.numel() == 0) return "weight '" + t.name + "' is empty";
  return "";
}

// Finds the weight of MatMul/Gemm node `i`, or says why there is none.
std::string find_candidate(const OnnxGraph& g, size_t i, const std::map<std::string, size_t>& producer,
                           Candidate& c) {
  const OnnxNode& n = g.nodes[i];
  c.node = i;
  if (n.inputs.size() < 2 || n.inputs[1].empty()) return "has no B input";
  const std::string& b = n.inputs[1];
  if (n.op_type == "Gemm") {
    if (n.attr_f("alpha", 1.0f) != 1.0f || n.attr_i("transA", 0) != 0)
      return "Gemm with alpha != 1 or transA is not rewritten";
    if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
      const OnnxTensor* bias = find_initializer(g, n.inputs[2]);
      if (bias == nullptr || bias->dims.size() != 1 || n.attr_f("beta", 1.0f) != 1.0f)
        return "Gemm bias '" + n.inputs[2] + "' is not a constant 1-D tensor with beta 1";
      c.bias = n.inputs[2];
    }
  }
  if (const OnnxTensor* t = find_initializer(g, b)) {
    c.source = initializer_index(g, t);
    c.transpose = !(n.op_type == "Gemm" && n.attr_i("transB", 0) != 0);
  } else if (auto it = producer.find(b); n.op_type == "MatMul" && it != producer.end()) {
    const OnnxNode& p = g.nodes[it->second];
    std::vector<int64_t> perm = p.attr_ints("perm");
    const OnnxTensor* t = p.op_type == "Transpose" && p.domain.empty() && !p.inputs.empty()
                              ? find_initializer(g, p.inputs[0]) : nullptr;
    if (t == nullptr || !(perm.empty() || perm == std::vector<int64_t>{1, 0}))
      return "B '" + b + "' is not a constant (produced by " + p.describe() + ")";
    c.source = initializer_index(g, t);  // MatMul(A, Transpose(E)): W = E, e.g. a tied lm_head
    c.transpose = false;
  } else {
    return "B '" + b + "' is not a constant initializer";
  }
  const OnnxTensor& src = g.initializers[c.source];
  std::string problem = weight_problem(g, src);
  if (!problem.empty()) return problem;
  if (!c.bias.empty()) {
    int64_t N = src.dims[c.transpose ? 1 : 0];
    const OnnxTensor* bias = find_initializer(g, c.bias);
    if (bias->dims[0] != N || bias->dtype != src.dtype)
      return "Gemm bias '" + c.bias + "' does not match the weight's N or type";
  }
  return "";
}

// Drops initializers nothing reads and the folded Transpose nodes left without readers.
void prune(OnnxGraph& g, const std::set<size_t>& folded_transposes) {
  std::set<std::string> used = used_names(g);
  std::vector<OnnxNode> nodes;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (folded_transposes.count(i) && !used.count(g.nodes[i].outputs[0])) continue;
    nodes.push_back(std::move(g.nodes[i]));
  }
  g.nodes = std::move(nodes);
  used = used_names(g);
  std::vector<OnnxTensor> inits;
  for (auto& t : g.initializers)
    if (used.count(t.name) || is_graph_input(g, t.name)) inits.push_back(std::move(t));
  g.initializers = std::move(inits);
  std::set<std::string> produced;
  for (const auto& n : g.nodes) produced.insert(n.outputs.begin(), n.outputs.end());
  std::vector<OnnxValueInfo> vi;
  for (auto& v : g.value_info)
    if (produced.count(v.name)) vi.push_back(std::move(v));
  g.value_info = std::move(vi);
}

size_t initializer_bytes(const OnnxGraph& g) {
  size_t n = 0;
  for (const auto& t : g.initializers) n += t.nbytes;
  return n;
}

void import_ms_domain(OnnxModel& m) {
  if (m.opset("com.microsoft") == 0) m.opsets.push_back({"com.microsoft", 1});
}

// Scale and zero point mapping [lo, hi] (lo <= 0 <= hi) onto 0..255 as
// onnxruntime's compute_scale_zp: the range and the zero point in f64, the
// scale then stored as f32.
std::pair<float, int32_t> uint8_range(float lo, float hi) {
  if (!(hi > lo)) return {1.0f, 0};
  const double scale = (double(hi) - double(lo)) / 255.0;
  return {float(scale), int32_t(std::clamp(std::nearbyint(-double(lo) / scale), 0.0, 255.0))};
}

// The initializers a quantized weight becomes: codes, scales, zero points.
struct Made {
  std::string b, scales, zp;
};

// A Gather table quantized per tensor to uint8 as quantize_dynamic does (its
// activation type and rule): [min(t, 0), max(t, 0)] onto 0..255, zero point
// round(-min / scale), codes round(t / scale) + zp. Adds the three
// initializers and the table's report.
template <class Fresh>
Result<Made> quantize_table(OnnxGraph& g, const OnnxNode& n, const OnnxTensor& src, Fresh& fresh,
                            QuantizeReport& report) {
  std::vector<float> t = to_f32(src);
  float lo = 0.0f, hi = 0.0f;
  for (size_t e = 0; e < t.size(); ++e) {
    if (!std::isfinite(t[e]))
      return Status::error(n.describe() + ": table '" + src.name + "' holds a non-finite value at element " +
                           std::to_string(e));
    lo = std::min(lo, t[e]);
    hi = std::max(hi, t[e]);
  }
  const auto [scale, z] = uint8_range(lo, hi);
  std::vector<uint8_t> q(t.size());
  TensorReport r;
  for (size_t e = 0; e < t.size(); ++e) {
    const int32_t qv = std::clamp(int32_t(std::nearbyint(t[e] / scale)) + z, 0, 255);
    q[e] = uint8_t(qv);
    const double d = double(t[e]) - double(float(qv - z) * scale);
    r.diff2 += d * d;
    r.ref2 += double(t[e]) * t[e];
  }
  Made m;
  m.b = fresh(src.name + "_quantized");
  g.initializers.push_back(owned_tensor(m.b, DType::u8, src.dims, std::move(q)));
  m.scales = fresh(src.name + "_scale");
  g.initializers.push_back(owned_tensor(m.scales, DType::f32, {}, float_bytes({scale}, DType::f32)));
  m.zp = fresh(src.name + "_zero_point");
  g.initializers.push_back(owned_tensor(m.zp, DType::u8, {}, {uint8_t(z)}));
  r.node = n.name;
  r.weight = src.name;
  r.N = src.dims[0];
  r.K = src.numel() / src.dims[0];
  r.bytes_before = src.nbytes;
  r.bytes_after = size_t(src.numel()) + 5;
  report.tensors.push_back(r);
  return m;
}

}  // namespace

double TensorReport::relative_error() const { return ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2); }

double QuantizeReport::total_relative_error() const {
  double d = 0, r = 0;
  for (const auto& t : tensors) {
    d += t.diff2;
    r += t.ref2;
  }
  return r > 0 ? std::sqrt(d / r) : std::sqrt(d);
}

Result<QuantizeReport> quantize_matmuls(OnnxModel& model, const QuantizeOptions& opt,
                                        const ProgressFn& progress) {
  RLLM_RETURN_IF_ERROR(check_quant_params(opt.bits, opt.block));
  OnnxGraph& g = model.graph;
  QuantizeReport report;
  report.initializer_bytes_before = initializer_bytes(g);
  const Matcher keep(opt.keep);

  std::map<std::string, size_t> producer;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& o : g.nodes[i].outputs) producer[o] = i;

  std::vector<Candidate> todo;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const OnnxNode& n = g.nodes[i];
    if (!n.domain.empty() || (n.op_type != "MatMul" && n.op_type != "Gemm")) continue;
    Candidate c;
    std::string why = find_candidate(g, i, producer, c);
    if (why.empty() && (keep(n.name) || keep(g.initializers[c.source].name))) why = "kept by --keep";
    if (!why.empty()) {
      report.skipped.push_back({n.describe(), why});
      continue;
    }
    todo.push_back(c);
  }

  // Quantized weights by (source, transpose), shared by every node reading them.
  std::map<std::pair<std::string, bool>, Made> made;
  std::set<size_t> folded;
  for (size_t idx = 0; idx < todo.size(); ++idx) {
    const Candidate& c = todo[idx];
    OnnxNode& n = g.nodes[c.node];
    // Copied: appending initializers below moves them.
    const OnnxTensor src = g.initializers[c.source];
    const DType ftype = src.dtype;
    const auto key = std::make_pair(src.name, c.transpose);
    if (!c.transpose && n.inputs[1] != src.name) folded.insert(producer.at(n.inputs[1]));
    const int64_t N = src.dims[c.transpose ? 1 : 0], K = src.dims[c.transpose ? 0 : 1];
    if (!made.count(key)) {
      std::vector<float> w = to_f32(src);
      for (size_t i = 0; i < w.size(); ++i)
        if (!std::isfinite(w[i]))
          return Status::error(n.describe() + ": weight '" + src.name + "' holds a non-finite value at element " +
                               std::to_string(i));
      if (c.transpose) {  // B [K, N] -> W [N, K]
        std::vector<float> wt(w.size());
        for (int64_t k = 0; k < K; ++k)
          for (int64_t j = 0; j < N; ++j) wt[static_cast<size_t>(j * K + k)] = w[static_cast<size_t>(k * N + j)];
        w = std::move(wt);
      }
      BlockQuantized q = quantize_blocks(w.data(), N, K, opt.bits, opt.block, opt.asym);
      QuantError err = quant_error(q, w.data(), ftype == DType::f16);
      const std::string& base = src.name;
      Made m;
      m.b = fresh_name(g, base + "_Q" + std::to_string(opt.bits));
      g.initializers.push_back(owned_tensor(m.b, DType::u8, {N, q.n_blocks(), q.block * q.bits / 8}, std::move(q.b)));
      m.scales = fresh_name(g, base + "_scales");
      g.initializers.push_back(owned_tensor(m.scales, ftype, {N, q.n_blocks()}, float_bytes(q.scales, ftype)));
      size_t after = g.initializers[g.initializers.size() - 2].nbytes + g.initializers.back().nbytes;
      if (!q.zero_points.empty()) {
        m.zp = fresh_name(g, base + "_zero_points");
        g.initializers.push_back(owned_tensor(m.zp, DType::u8, {N, q.zp_row_bytes()}, std::move(q.zero_points)));
        after += g.initializers.back().nbytes;
      }
      made[key] = m;
      TensorReport r;
      r.node = n.name;
      r.weight = src.name;
      r.N = N;
      r.K = K;
      r.diff2 = err.diff2;
      r.ref2 = err.ref2;
      r.bytes_before = src.nbytes;
      r.bytes_after = after;
      report.tensors.push_back(r);
      if (progress) progress(r, idx, todo.size());
    }
    const Made& m = made[key];
    std::vector<std::string> inputs = {n.inputs[0], m.b, m.scales};
    if (!m.zp.empty() || !c.bias.empty()) inputs.push_back(m.zp);
    if (!c.bias.empty()) {
      inputs.push_back("");  // g_idx
      inputs.push_back(c.bias);
    }
    OnnxNode q;
    q.name = n.name + "_Q" + std::to_string(opt.bits);
    q.op_type = "MatMulNBits";
    q.domain = "com.microsoft";
    q.inputs = std::move(inputs);
    q.outputs = {n.outputs[0]};
    q.attributes = {int_attr("K", K), int_attr("N", N), int_attr("bits", opt.bits),
                    int_attr("block_size", opt.block)};
    if (opt.accuracy_level >= 0) q.attributes.push_back(int_attr("accuracy_level", opt.accuracy_level));
    n = std::move(q);
  }
  prune(g, folded);
  if (!todo.empty()) import_ms_domain(model);
  report.initializer_bytes_after = initializer_bytes(g);
  return report;
}

Result<QuantizeReport> quantize_matmuls_dynamic(OnnxModel& model, const QuantizeOptions& opt,
                                                const ProgressFn& progress) {
  OnnxGraph& g = model.graph;
  QuantizeReport report;
  report.initializer_bytes_before = initializer_bytes(g);
  const Matcher keep(opt.keep);
  std::map<std::string, size_t> producer;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& o : g.nodes[i].outputs) producer[o] = i;

  std::map<size_t, Candidate> todo;  // by node index
  std::set<size_t> folded;            // Transpose nodes whose weight a candidate reads directly
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const OnnxNode& n = g.nodes[i];
    if (!n.domain.empty() || (n.op_type != "MatMul" && n.op_type != "Gemm")) continue;
    Candidate c;
    std::string why = find_candidate(g, i, producer, c);
    if (why.empty() && g.initializers[c.source].dtype != DType::f32)
      why = "weight '" + g.initializers[c.source].name + "' is not f32 (the dynamic form computes in f32)";
    if (why.empty() && (keep(n.name) || keep(g.initializers[c.source].name))) why = "kept by --keep";
    if (!why.empty()) {
      report.skipped.push_back({n.describe(), why});
      continue;
    }
    todo[i] = c;
    if (!c.transpose && n.inputs[1] != g.initializers[c.source].name) folded.insert(producer.at(n.inputs[1]));
  }
  // Gather of an f32 table of 2+ dims (word, position, token type embeddings):
  // by node index, the table's initializer.
  std::map<size_t, size_t> gathers;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const OnnxNode& n = g.nodes[i];
    if (!n.domain.empty() || n.op_type != "Gather" || n.inputs.size() < 2) continue;
    const OnnxTensor* t = find_initializer(g, n.inputs[0]);
    if (t == nullptr) continue;
    std::string why;
    if (t->dtype != DType::f32 || t->dims.size() < 2 || t->numel() == 0)
      why = "table '" + t->name + "' is " + std::string(dtype_name(t->dtype)) + " " + dims_str(t->dims) +
            " (the dynamic form quantizes f32 tables of 2 or more dims)";
    else if (is_graph_input(g, t->name)) why = "table '" + t->name + "' is also a graph input (overridable)";
    else if (keep(n.name) || keep(t->name)) why = "kept by --keep";
    if (!why.empty()) {
      report.skipped.push_back({n.describe(), why});
      continue;
    }
    gathers[i] = initializer_index(g, t);
  }

  std::map<std::pair<std::string, bool>, Made> made;
  std::map<std::string, std::array<std::string, 3>> quantized_inputs;  // activation -> (q, scale, zp)
  std::set<size_t> folded_at;  // the folded Transposes' indices in `nodes`
  std::vector<OnnxNode> nodes;
  std::set<std::string> created;
  auto fresh = [&](const std::string& base) {
    std::string name = fresh_name(g, base);
    for (int k = 1; created.count(name); ++k) name = fresh_name(g, base + "_" + std::to_string(k));
    created.insert(name);
    return name;
  };
  size_t done = 0;
  auto node = [](std::string name, std::string op, std::vector<std::string> in, std::vector<std::string> out) {
    OnnxNode n;
    n.name = std::move(name);
    n.op_type = std::move(op);
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    return n;
  };
  std::map<std::string, Made> made_tables;
  const size_t count = todo.size() + gathers.size();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (auto gt = gathers.find(i); gt != gathers.end()) {
      const OnnxNode n = g.nodes[i];
      const OnnxTensor src = g.initializers[gt->second];
      if (!made_tables.count(src.name)) {
        RLLM_ASSIGN_OR_RETURN(Made m, quantize_table(g, n, src, fresh, report));
        made_tables[src.name] = m;
        if (progress) progress(report.tensors.back(), done, count);
      }
      ++done;
      // Gather(table_q, ids) -> DequantizeLinear(·, scale, zp): quantize_dynamic's form of a quantized Gather.
      const Made& m = made_tables[src.name];
      const std::string base = n.name.empty() ? n.outputs[0] : n.name;
      const std::string q = fresh(n.outputs[0] + "_quantized");
      OnnxNode gq = n;
      gq.inputs[0] = m.b;
      gq.outputs = {q};
      nodes.push_back(std::move(gq));
      nodes.push_back(node(base + "_DequantizeLinear", "DequantizeLinear", {q, m.scales, m.zp}, {n.outputs[0]}));
      continue;
    }
    auto it = todo.find(i);
    if (it == todo.end()) {
      if (folded.count(i)) folded_at.insert(nodes.size());
      nodes.push_back(g.nodes[i]);
      continue;
    }
    const Candidate& c = it->second;
    const OnnxNode n = g.nodes[i];
    const OnnxTensor src = g.initializers[c.source];
    // B [K, N] as MatMulInteger reads it; the source is [K, N] when c.transpose, else W [N, K].
    const int64_t N = src.dims[c.transpose ? 1 : 0], K = src.dims[c.transpose ? 0 : 1];
    const auto key = std::make_pair(src.name, c.transpose);
    if (!made.count(key)) {
      std::vector<float> w = to_f32(src);
      for (size_t e = 0; e < w.size(); ++e)
        if (!std::isfinite(w[e]))
          return Status::error(n.describe() + ": weight '" + src.name + "' holds a non-finite value at element " +
                               std::to_string(e));
      auto at = [&](int64_t k, int64_t col) { return w[size_t(c.transpose ? k * N + col : col * K + k)]; };
      std::vector<uint8_t> q(size_t(K * N));
      std::vector<uint8_t> zp(static_cast<size_t>(N));
      std::vector<float> scales(static_cast<size_t>(N));
      TensorReport r;
      for (int64_t col = 0; col < N; ++col) {
        // [min(w, 0), max(w, 0)] onto 0..255, as quantize_dynamic's QUInt8 per channel.
        float lo = 0.0f, hi = 0.0f;
        for (int64_t k = 0; k < K; ++k) {
          lo = std::min(lo, at(k, col));
          hi = std::max(hi, at(k, col));
        }
        const auto [scale, z] = uint8_range(lo, hi);
        scales[size_t(col)] = scale;
        zp[size_t(col)] = uint8_t(z);
        for (int64_t k = 0; k < K; ++k) {
          const float v = at(k, col);
          const int32_t qv = std::clamp(int32_t(std::nearbyint(v / scale)) + z, 0, 255);
          q[size_t(k * N + col)] = uint8_t(qv);
          const double d = double(v) - double(float(qv - z) * scale);
          r.diff2 += d * d;
          r.ref2 += double(v) * v;
        }
      }
      Made m;
      m.b = fresh(src.name + "_quantized");
      g.initializers.push_back(owned_tensor(m.b, DType::u8, {K, N}, std::move(q)));
      m.scales = fresh(src.name + "_scale");
      g.initializers.push_back(owned_tensor(m.scales, DType::f32, {N}, float_bytes(scales, DType::f32)));
      m.zp = fresh(src.name + "_zero_point");
      g.initializers.push_back(owned_tensor(m.zp, DType::u8, {N}, std::move(zp)));
      made[key] = m;
      r.node = n.name;
      r.weight = src.name;
      r.N = N;
      r.K = K;
      r.bytes_before = src.nbytes;
      r.bytes_after = size_t(K * N + N * 5);
      report.tensors.push_back(r);
      if (progress) progress(r, done, count);
    }
    ++done;
    const Made& m = made[key];
    const std::string& a = n.inputs[0];
    if (!quantized_inputs.count(a)) {
      std::array<std::string, 3> names = {fresh(a + "_quantized"), fresh(a + "_scale"),
                                          fresh(a + "_zero_point")};
      nodes.push_back(node(a + "_QuantizeLinear", "DynamicQuantizeLinear", {a}, {names[0], names[1], names[2]}));
      quantized_inputs[a] = names;
    }
    const auto& aq = quantized_inputs[a];
    const std::string base = n.name.empty() ? n.outputs[0] : n.name;
    const std::string i32 = fresh(n.outputs[0] + "_int32"), f = fresh(n.outputs[0] + "_float");
    const std::string s = fresh(n.outputs[0] + "_scales");
    nodes.push_back(node(base + "_MatMulInteger", "MatMulInteger", {aq[0], m.b, aq[2], m.zp}, {i32}));
    nodes.push_back(node(base + "_Cast", "Cast", {i32}, {f}));
    nodes.back().attributes = {int_attr("to", int64_t(DType::f32))};
    nodes.push_back(node(base + "_scales_mul", "Mul", {aq[1], m.scales}, {s}));
    if (c.bias.empty()) {
      nodes.push_back(node(base + "_Mul", "Mul", {f, s}, {n.outputs[0]}));
    } else {
      const std::string scaled = fresh(n.outputs[0] + "_scaled");
      nodes.push_back(node(base + "_Mul", "Mul", {f, s}, {scaled}));
      nodes.push_back(node(base + "_Add", "Add", {scaled, c.bias}, {n.outputs[0]}));
    }
  }
  g.nodes = std::move(nodes);
  prune(g, folded_at);
  if (!todo.empty() && model.opset("") < 11)
    return Status::error("the dynamic int8 form needs opset >= 11 (DynamicQuantizeLinear); the model imports " +
                         std::to_string(model.opset("")));
  report.initializer_bytes_after = initializer_bytes(g);
  return report;
}

Result<QuantizeReport> convert_weights_fp16(OnnxModel& model, const ProgressFn& progress) {
  OnnxGraph& g = model.graph;
  QuantizeReport report;
  report.initializer_bytes_before = initializer_bytes(g);
  // Weights: the B of MatMul/Gemm and the data of Gather.
  std::vector<std::pair<std::string, std::string>> weights;  // (initializer, first reader)
  std::set<std::string> seen;
  for (const auto& n : g.nodes) {
    if (!n.domain.empty()) continue;
    size_t slot = n.op_type == "Gather" ? 0 : (n.op_type == "MatMul" || n.op_type == "Gemm") ? 1 : SIZE_MAX;
    if (slot >= n.inputs.size() || seen.count(n.inputs[slot])) continue;
    const OnnxTensor* t = find_initializer(g, n.inputs[slot]);
    if (t == nullptr) continue;
    if (t->dtype != DType::f32 || t->dims.size() < 2 || is_graph_input(g, t->name)) {
      report.skipped.push_back({n.describe(), "weight '" + t->name + "' is " + std::string(dtype_name(t->dtype)) +
                                                  " " + dims_str(t->dims) + ", left as is"});
      continue;
    }
    seen.insert(t->name);
    weights.emplace_back(t->name, n.name);
  }
  std::vector<OnnxNode> casts;
  for (size_t idx = 0; idx < weights.size(); ++idx) {
    const auto& [name, reader] = weights[idx];
    OnnxTensor* t = nullptr;
    for (auto& x : g.initializers)
      if (x.name == name) t = &x;
    std::vector<float> w = to_f32(*t);
    std::vector<uint8_t> h = float_bytes(w, DType::f16);
    std::vector<float> back(w.size());
    kernels::f16_to_f32(reinterpret_cast<const uint16_t*>(h.data()), back.data(), static_cast<int64_t>(w.size()));
    TensorReport r;
    r.node = reader;
    r.weight = name;
    r.N = t->dims[0];
    r.K = t->numel() / t->dims[0];
    for (size_t i = 0; i < w.size(); ++i) {
      double d = static_cast<double>(w[i]) - back[i];
      r.diff2 += d * d;
      r.ref2 += static_cast<double>(w[i]) * w[i];
    }
    r.bytes_before = t->nbytes;
    r.bytes_after = h.size();
    std::string stored = fresh_name(g, name + "_fp16");
    *t = owned_tensor(stored, DType::f16, t->dims, std::move(h));
    OnnxNode cast;
    cast.name = stored + "/Cast";
    cast.op_type = "Cast";
    cast.inputs = {stored};
    cast.outputs = {name};
    cast.attributes = {int_attr("to", static_cast<int64_t>(DType::f32))};
    casts.push_back(std::move(cast));
    report.tensors.push_back(r);
    if (progress) progress(r, idx, weights.size());
  }
  g.nodes.insert(g.nodes.begin(), std::make_move_iterator(casts.begin()), std::make_move_iterator(casts.end()));
  report.initializer_bytes_after = initializer_bytes(g);
  return report;
}

}  // namespace rllm::quant
