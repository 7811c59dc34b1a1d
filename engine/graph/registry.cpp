#include <algorithm>

#include "engine/graph/op.h"

namespace rllm {

void register_quant_ops(OpRegistry& r);    // engine/ops/quant_ops.cpp
void register_export_ops(OpRegistry& r);   // engine/ops/export_ops.cpp
void register_encoder_ops(OpRegistry& r);  // engine/ops/encoder_ops.cpp

void OpRegistry::add(const std::string& domain, const std::string& op_type, int64_t since_version,
                     OpFactory factory) {
  auto& v = ops_[{domain, op_type}];
  v.emplace_back(since_version, std::move(factory));
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
}

const OpFactory* OpRegistry::find(const std::string& domain, const std::string& op_type,
                                  int64_t opset) const {
  auto it = ops_.find({domain, op_type});
  if (it == ops_.end()) return nullptr;
  for (const auto& [since, factory] : it->second)
    if (opset >= since) return &factory;
  return nullptr;
}

bool OpRegistry::knows(const std::string& domain, const std::string& op_type) const {
  return ops_.count({domain, op_type}) != 0;
}

const OpRegistry& op_registry() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    register_elementwise_ops(r);
    register_shape_ops(r);
    register_norm_ops(r);
    register_reduce_ops(r);
    register_matmul_ops(r);
    register_attention_ops(r);
    register_clip_ops(r);
    register_quant_ops(r);
    register_export_ops(r);
    register_encoder_ops(r);
    return r;
  }();
  return registry;
}

}  // namespace rllm
