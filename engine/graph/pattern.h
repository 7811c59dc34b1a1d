// Graph queries shared by the load-time rewrites (quant_fusion.cpp,
// encoder_fusion.cpp): who produces and who reads each value, which values
// are initializers or Constant nodes, and which may be dropped.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "formats/onnx_model.h"

namespace rllm {

bool is_default_domain(const OnnxNode& n);

class GraphMatcher {
 public:
  explicit GraphMatcher(const OnnxGraph& g);

  const OnnxTensor* init(const std::string& name) const;
  // The node of type `op` that is the only reader of `value`, or -1.
  int only_user(const std::string& value, const char* op) const;
  // `value` has exactly one reader and is not a graph output.
  bool single_reader(const std::string& value) const;
  // The node of type `op` producing `value`, or -1.
  int producer(const std::string& value, const char* op) const;
  const OnnxNode& node(int i) const { return g_.nodes[size_t(i)]; }
  // The value of a one-element f32 initializer or Constant node output.
  std::optional<float> scalar(const std::string& value) const;

 private:
  const OnnxGraph& g_;
  std::unordered_map<std::string, const OnnxTensor*> inits_;
  std::unordered_map<std::string, int> producer_;
  std::unordered_map<std::string, std::vector<int>> users_;
  std::set<std::string> graph_outputs_;
};

// Node i's input k, or "" when it has fewer inputs.
std::string input_of(const OnnxNode& n, size_t k);

// Applies per-node rewrites: replace[i] (when set) takes node i's place,
// nodes with drop[i] go. Returns the new model; each of `domains` is added
// to its opset imports (version 1) when the model lacks it.
std::shared_ptr<const OnnxModel> rewrite_model(const OnnxModel& model,
                                               const std::vector<std::optional<OnnxNode>>& replace,
                                               const std::vector<bool>& drop, const std::vector<std::string>& domains);

// A fused node taking node `at`'s place, and the nodes it absorbs.
struct Rewrite {
  int at;
  OnnxNode node;
  std::vector<int> drop;
};

// Offers each default-domain node, in order and unless an earlier rewrite
// dropped it, to `match`; a rewrite touching a node an earlier one took is
// skipped. Returns rewrite_model's result, or null when nothing matched.
std::shared_ptr<const OnnxModel> apply_rewrites(const OnnxModel& model,
                                                const std::function<std::optional<Rewrite>(const OnnxNode&, int)>& match,
                                                const std::vector<std::string>& domains);

}  // namespace rllm
