#include "engine/graph/pattern.h"

#include <cstring>

namespace rllm {

bool is_default_domain(const OnnxNode& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

GraphMatcher::GraphMatcher(const OnnxGraph& g) : g_(g) {
  for (const auto& t : g.initializers) inits_[t.name] = &t;
  for (const auto& o : g.outputs) graph_outputs_.insert(o.name);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const auto& o : g.nodes[i].outputs)
      if (!o.empty()) producer_[o] = int(i);
    for (const auto& in : g.nodes[i].inputs)
      if (!in.empty()) users_[in].push_back(int(i));
  }
}

const OnnxTensor* GraphMatcher::init(const std::string& name) const {
  auto it = inits_.find(name);
  return it == inits_.end() ? nullptr : it->second;
}

int GraphMatcher::only_user(const std::string& value, const char* op) const {
  if (!single_reader(value)) return -1;
  const int u = users_.at(value)[0];
  const OnnxNode& n = g_.nodes[size_t(u)];
  return is_default_domain(n) && n.op_type == op ? u : -1;
}

bool GraphMatcher::single_reader(const std::string& value) const {
  auto it = users_.find(value);
  return !graph_outputs_.count(value) && it != users_.end() && it->second.size() == 1;
}

int GraphMatcher::producer(const std::string& value, const char* op) const {
  auto it = producer_.find(value);
  if (it == producer_.end()) return -1;
  const OnnxNode& n = g_.nodes[size_t(it->second)];
  return is_default_domain(n) && n.op_type == op ? it->second : -1;
}

std::optional<float> GraphMatcher::scalar(const std::string& value) const {
  const OnnxTensor* t = init(value);
  if (t == nullptr) {
    int c = producer(value, "Constant");
    if (c < 0) return std::nullopt;
    const OnnxAttribute* a = node(c).attr("value");
    if (a != nullptr && a->tensors.size() == 1) t = &a->tensors[0];
    else if (const OnnxAttribute* f = node(c).attr("value_float"); f != nullptr) return f->f;
  }
  if (t == nullptr || t->dtype != DType::f32 || t->numel() != 1 || t->data == nullptr || t->nbytes < 4)
    return std::nullopt;
  float v;
  std::memcpy(&v, t->data, 4);
  return v;
}

std::string input_of(const OnnxNode& n, size_t k) { return k < n.inputs.size() ? n.inputs[k] : std::string(); }

std::shared_ptr<const OnnxModel> rewrite_model(const OnnxModel& model,
                                               const std::vector<std::optional<OnnxNode>>& replace,
                                               const std::vector<bool>& drop, const std::vector<std::string>& domains) {
  const OnnxGraph& g = model.graph;
  auto out = std::make_shared<OnnxModel>(model);
  out->graph.nodes.clear();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (drop[i]) continue;
    out->graph.nodes.push_back(replace[i] ? *replace[i] : g.nodes[i]);
  }
  for (const auto& d : domains)
    if (model.opset(d) == 0) out->opsets.push_back({d, 1});
  return out;
}

std::shared_ptr<const OnnxModel> apply_rewrites(const OnnxModel& model,
                                                const std::function<std::optional<Rewrite>(const OnnxNode&, int)>& match,
                                                const std::vector<std::string>& domains) {
  const OnnxGraph& g = model.graph;
  std::vector<std::optional<OnnxNode>> replace(g.nodes.size());
  std::vector<bool> drop(g.nodes.size(), false);
  size_t fused = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const OnnxNode& n = g.nodes[i];
    if (!is_default_domain(n) || drop[i]) continue;
    std::optional<Rewrite> r = match(n, int(i));
    if (!r) continue;
    bool taken = drop[size_t(r->at)] || replace[size_t(r->at)].has_value();
    for (int d : r->drop) taken = taken || drop[size_t(d)] || replace[size_t(d)].has_value();
    if (taken) continue;
    replace[size_t(r->at)] = std::move(r->node);
    for (int d : r->drop) drop[size_t(d)] = true;
    ++fused;
  }
  if (fused == 0) return nullptr;
  return rewrite_model(model, replace, drop, domains);
}

}  // namespace rllm
