#include "engine/graph/plan.h"

#include "engine/graph/encoder_fusion.h"
#include "engine/graph/quant_fusion.h"
#include "engine/graph/weight_fusion.h"

#include <algorithm>
#include <cstring>
#include <queue>
#include <set>

namespace rllm {

Tensor tensor_of(const OnnxTensor& t) {
  Shape shape(t.dims.begin(), t.dims.end());
  size_t align = static_cast<size_t>(std::max(1, dtype_bits(t.dtype) / 8));
  if (reinterpret_cast<uintptr_t>(t.data) % align == 0) return Tensor::view(t.dtype, shape, t.data, t.owner);
  // raw_data sits wherever protobuf put it: copy what is misaligned for its type.
  Tensor copy = Tensor::uninit(t.dtype, shape);
  std::memcpy(copy.mutable_data(), t.data, t.nbytes);
  return copy;
}

namespace {

// [B, S, K] -> [B, 1, K] holding position S-1 of each row.
Tensor last_position(const Tensor& x) {
  if (x.rank() != 3 || x.dim(1) <= 1) return x;
  const int64_t B = x.dim(0), S = x.dim(1);
  const int64_t row_bytes = x.nbytes() / (B * S);
  const auto* src = static_cast<const uint8_t*>(x.data());
  if (B == 1) return Tensor::view(x.dtype(), {1, 1, x.dim(2)}, src + (S - 1) * row_bytes, x.owner());
  Tensor out = Tensor::uninit(x.dtype(), {B, 1, x.dim(2)});
  for (int64_t b = 0; b < B; ++b)
    std::memcpy(static_cast<uint8_t*>(out.mutable_data()) + b * row_bytes,
                src + (b * S + S - 1) * row_bytes, static_cast<size_t>(row_bytes));
  return out;
}

}  // namespace

bool Plan::has_input(const std::string& name) const {
  for (const auto& n : graph_inputs_)
    if (n == name) return true;
  return false;
}

Result<std::unique_ptr<Plan>> Plan::build(const OnnxModel& original, const PlanOptions& options,
                                          ThreadPool& pool) {
  auto plan = std::unique_ptr<Plan>(new Plan());
  // Integer MatMul patterns and encoder GELU/attention chains become single
  // ops, 16-bit weights stay 16-bit (engine/graph/quant_fusion.h,
  // encoder_fusion.h, weight_fusion.h).
  std::shared_ptr<const OnnxModel> fused = fuse_quantized_matmuls(original);
  if (auto e = fuse_encoder_patterns(fused ? *fused : original)) fused = std::move(e);
  if (auto w = fuse_widened_weights(fused ? *fused : original)) fused = std::move(w);
  if (fused) plan->graph_keep_ = std::shared_ptr<const OnnxGraph>(fused, &fused->graph);
  const OnnxModel& model = fused ? *fused : original;
  const OnnxGraph& g = model.graph;
  const OpRegistry& registry = op_registry();

  auto id_of = [&](const std::string& name) {
    auto [it, inserted] = plan->ids_.emplace(name, static_cast<int>(plan->ids_.size()));
    if (inserted) {
      plan->values_.emplace_back();
      plan->is_constant_.push_back(false);
    }
    return it->second;
  };
  std::vector<int> producer;  // value id -> node index, -1 for graph inputs and constants
  auto set_producer = [&](int id, int node) {
    if (static_cast<size_t>(id) >= producer.size()) producer.resize(id + 1, -2);
    producer[id] = node;
  };

  std::vector<const OnnxTensor*> initializer;  // value id -> its initializer, if any
  for (const auto& t : g.initializers) {
    int id = id_of(t.name);
    plan->values_[id] = tensor_of(t);
    plan->is_constant_[id] = true;
    set_producer(id, -1);
    if (initializer.size() <= static_cast<size_t>(id)) initializer.resize(id + 1, nullptr);
    initializer[id] = &t;
  }
  for (const auto& in : g.inputs) {
    if (plan->is_constant_[id_of(in.name)]) continue;  // an initializer listed as input
    plan->graph_inputs_.push_back(in.name);
    set_producer(id_of(in.name), -1);
  }

  // Every op must be known before any work is done.
  for (const auto& n : g.nodes) {
    int64_t opset = model.opset(n.domain);
    if (registry.find(n.domain, n.op_type, opset) == nullptr) {
      if (registry.knows(n.domain, n.op_type))
        return Status::error(n.describe() + " is not supported at opset " + std::to_string(opset));
      return Status::error(n.describe() + " is not supported: no implementation of op '" +
                           n.op_type + "' in domain '" + (n.domain.empty() ? "ai.onnx" : n.domain) +
                           "'");
    }
    for (const auto& o : n.outputs)
      if (!o.empty()) set_producer(id_of(o), static_cast<int>(&n - g.nodes.data()));
  }

  // Kahn's order over the node list.
  size_t n_nodes = g.nodes.size();
  std::vector<int> missing(n_nodes, 0);
  std::vector<std::vector<int>> users(plan->ids_.size());
  for (size_t i = 0; i < n_nodes; ++i) {
    for (const auto& in : g.nodes[i].inputs) {
      if (in.empty()) continue;
      auto it = plan->ids_.find(in);
      if (it == plan->ids_.end() || static_cast<size_t>(it->second) >= producer.size() ||
          producer[it->second] == -2)
        return Status::error(g.nodes[i].describe() + ": input '" + in +
                             "' is not produced by any node, initializer or graph input");
      if (producer[it->second] >= 0) {
        ++missing[i];
        users[it->second].push_back(static_cast<int>(i));
      }
    }
  }
  std::queue<int> ready;
  for (size_t i = 0; i < n_nodes; ++i)
    if (missing[i] == 0) ready.push(static_cast<int>(i));
  std::vector<int> order;
  while (!ready.empty()) {
    int i = ready.front();
    ready.pop();
    order.push_back(i);
    for (const auto& o : g.nodes[i].outputs) {
      if (o.empty()) continue;
      for (int u : users[plan->ids_[o]])
        if (--missing[u] == 0) ready.push(u);
    }
  }
  if (order.size() != n_nodes) {
    for (size_t i = 0; i < n_nodes; ++i)
      if (missing[i] > 0) return Status::error(g.nodes[i].describe() + " is part of a cycle");
  }

  // Nodes reading each value: an initializer that only a packing op reads is
  // dropped from memory once packed (the packed copy is what runs).
  std::vector<int> readers(plan->ids_.size(), 0);
  for (const auto& n : g.nodes)
    for (const auto& in : n.inputs)
      if (!in.empty()) ++readers[plan->ids_[in]];
  std::vector<const MappedFile*> files{model.file.get()};
  for (const auto& [loc, f] : model.external_files) files.push_back(f.get());
  auto drop_range = [files](const void* p, size_t bytes) {
    const auto* b = static_cast<const uint8_t*>(p);
    for (const MappedFile* f : files) {
      if (f == nullptr || b < f->data() || b >= f->data() + f->size()) continue;
      f->drop_pages(b, bytes);
      return;
    }
  };
  auto drop_mapped = [&](const OnnxTensor& t) {
    if (t.data != nullptr && t.nbytes > 0) drop_range(t.data, t.nbytes);
  };
  // A tied embedding, as the GenAI builder writes it: GatherBlockQuantized over
  // a Reshape of the lm_head's MatMulNBits weight (and the same scales and zero
  // points). The lookup reads the lm_head's packed copy (bound below), so the
  // table is read by its packing only.
  auto input_name = [](const OnnxNode& n, size_t i) { return i < n.inputs.size() ? n.inputs[i] : std::string(); };
  auto tied_table = [&](const OnnxNode& gather) -> std::string {
    if (gather.domain != "com.microsoft" || gather.op_type != "GatherBlockQuantized" || gather.inputs.empty()) return {};
    int data = plan->ids_[gather.inputs[0]];
    int reshape = producer[data];
    if (reshape < 0 || g.nodes[reshape].op_type != "Reshape" || readers[data] != 1) return {};
    return g.nodes[reshape].inputs[0];
  };
  std::vector<bool> packed_only(plan->ids_.size(), false);  // value id -> read by one packing op only
  for (const auto& n : g.nodes) {
    if (n.domain == "com.microsoft" && n.op_type == "MatMulNBits" && n.inputs.size() > 1 && readers[plan->ids_[n.inputs[1]]] == 1)
      packed_only[plan->ids_[n.inputs[1]]] = true;
    std::string table = tied_table(n);
    if (!table.empty() && readers[plan->ids_[table]] == 2) packed_only[plan->ids_[table]] = true;
  }

  ExecContext fold_ctx;
  fold_ctx.pool = &pool;
  for (int i : order) {
    const OnnxNode& n = g.nodes[i];
    LoadContext lc{n, model.opset(n.domain), {}, -1, &pool, {}, options.pack_cache};
    if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
      int b = plan->ids_[n.inputs[1]];
      if (packed_only[b] && static_cast<size_t>(b) < initializer.size() && initializer[b]) lc.release_source = drop_range;
    }
    bool all_constant = true;
    for (const auto& in : n.inputs) {
      if (in.empty()) {
        lc.constants.push_back(nullptr);
        continue;
      }
      int id = plan->ids_[in];
      lc.constants.push_back(plan->is_constant_[id] ? &plan->values_[id] : nullptr);
      if (!plan->is_constant_[id]) all_constant = false;
      if (lc.kv_layer < 0 && options.kv_layer_of && producer[id] == -1 && !plan->is_constant_[id])
        lc.kv_layer = options.kv_layer_of(in);
    }
    const OpFactory* factory = registry.find(n.domain, n.op_type, lc.opset);
    auto op = (*factory)(lc);
    if (!op.ok()) return op.status();

    Step step{&n, std::move(op).value(), {}, {}, {}, {}, {}, {}};
    for (const auto& in : n.inputs) step.inputs.push_back(in.empty() ? -1 : plan->ids_[in]);
    for (const auto& o : n.outputs) step.outputs.push_back(o.empty() ? -1 : plan->ids_[o]);

    if (all_constant) {
      std::vector<Tensor> ins, outs(n.outputs.size());
      for (int id : step.inputs) ins.push_back(id < 0 ? Tensor() : plan->values_[id]);
      Status s = step.op->run(ins, outs, fold_ctx);
      if (!s.ok()) return Status::error(n.describe() + ": folding at load: " + s.message());
      for (size_t k = 0; k < outs.size(); ++k) {
        if (step.outputs[k] < 0) continue;
        plan->values_[step.outputs[k]] = std::move(outs[k]);
        plan->is_constant_[step.outputs[k]] = true;
      }
      ++plan->folded_;
      continue;
    }
    if (step.op->packed_bytes() > 0) {
      plan->repacked_bytes_ += step.op->packed_bytes();
      for (int id : step.inputs)
        if (id >= 0 && static_cast<size_t>(id) < initializer.size() && initializer[id] && readers[id] == 1)
          drop_mapped(*initializer[id]);
    }
    plan->steps_.push_back(std::move(step));
  }

  // Tied embeddings read their rows from the lm_head's packed copy.
  std::unordered_map<std::string, const Step*> packed_by_weight;
  for (const Step& s : plan->steps_)
    if (s.op->packed_nbits() != nullptr && s.node->inputs.size() > 1) packed_by_weight[s.node->inputs[1]] = &s;
  for (Step& s : plan->steps_) {
    const OnnxNode& n = *s.node;
    const std::string table = tied_table(n);
    if (table.empty()) continue;
    auto it = packed_by_weight.find(table);
    if (it == packed_by_weight.end()) continue;
    const OnnxNode& lm_head = *it->second->node;
    if (input_name(n, 2) != input_name(lm_head, 2) || input_name(n, 3) != input_name(lm_head, 3)) continue;
    if (!s.op->read_packed_rows(*it->second->op->packed_nbits())) continue;
    for (const std::string& name : {table, input_name(n, 2), input_name(n, 3)}) {
      if (name.empty()) continue;
      int w = plan->ids_[name];  // read by this pair of nodes only: the table, its scales and zero points
      if (static_cast<size_t>(w) < initializer.size() && initializer[w] && readers[w] == 2) drop_mapped(*initializer[w]);
    }
  }

  if (!options.last_position_output.empty()) {
    auto it = plan->ids_.find(options.last_position_output);
    int value = it == plan->ids_.end() ? -1 : it->second;
    for (size_t k = plan->steps_.size(); k-- > 0 && value >= 0;) {
      const Step& s = plan->steps_[k];
      if (s.outputs.empty() || s.outputs[0] != value) continue;
      const OnnxNode& n = *s.node;
      bool matmul = (n.domain.empty() && n.op_type == "MatMul") ||
                    (n.domain == "com.microsoft" && n.op_type == "MatMulNBits");
      if (matmul) {
        plan->last_position_step_ = static_cast<int>(k);
        break;
      }
      // Element-wise casts keep rows apart: look through them.
      value = n.domain.empty() && n.op_type == "Cast" && !s.inputs.empty() ? s.inputs[0] : -1;
    }
  }

  // Release each activation after its last reader; graph outputs stay.
  std::set<int> keep;
  for (const auto& o : g.outputs)
    if (auto it = plan->ids_.find(o.name); it != plan->ids_.end()) keep.insert(it->second);
  std::vector<int> last(plan->ids_.size(), -1);
  for (size_t s = 0; s < plan->steps_.size(); ++s) {
    for (int id : plan->steps_[s].inputs)
      if (id >= 0) last[id] = static_cast<int>(s);
    for (int id : plan->steps_[s].outputs)
      if (id >= 0 && last[id] < static_cast<int>(s)) last[id] = static_cast<int>(s);
  }
  for (size_t id = 0; id < last.size(); ++id)
    if (last[id] >= 0 && !plan->is_constant_[id] && !keep.count(static_cast<int>(id)))
      plan->steps_[last[id]].release.push_back(static_cast<int>(id));

  for (const auto& name : plan->graph_inputs_) plan->graph_input_ids_.push_back(plan->ids_[name]);
  for (Step& step : plan->steps_) {
    step.in.resize(step.inputs.size());
    step.out.resize(step.outputs.size());
    step.repeat_of.assign(step.inputs.size(), -1);
    for (size_t i = 0; i < step.inputs.size(); ++i) {
      const int id = step.inputs[i];
      if (id < 0) continue;
      if (plan->is_constant_[id]) {
        step.in[i] = plan->values_[id];
        continue;
      }
      for (size_t j = 0; j < i; ++j)
        if (step.inputs[j] == id) {
          step.repeat_of[i] = static_cast<int>(j);
          break;
        }
    }
  }
  return plan;
}

void Plan::unbind(Step& step) {
  for (size_t i = 0; i < step.inputs.size(); ++i) {
    const int id = step.inputs[i];
    if (id < 0 || is_constant_[id]) continue;
    if (step.repeat_of[i] >= 0) step.in[i] = Tensor();
    else std::swap(step.in[i], values_[id]);
  }
}

void Plan::clear_activations() {
  for (size_t id = 0; id < values_.size(); ++id)
    if (!is_constant_[id]) values_[id] = Tensor();
}

Result<std::vector<Tensor>> Plan::run(const std::unordered_map<std::string, Tensor>& inputs,
                                      const std::vector<std::string>& outputs, ExecContext& ctx,
                                      const RunOptions& run_options) {
  ScopedBufferPool recycle(buffers_.get());
  for (size_t i = 0; i < graph_inputs_.size(); ++i) {
    auto it = inputs.find(graph_inputs_[i]);
    if (it == inputs.end()) {
      clear_activations();
      return Status::error("graph input '" + graph_inputs_[i] + "' was not given");
    }
    values_[graph_input_ids_[i]] = it->second;
  }
  Tensor whole;  // the uncut input of last_position_step_
  for (size_t k = 0; k < steps_.size(); ++k) {
    Step& step = steps_[k];
    for (size_t i = 0; i < step.inputs.size(); ++i) {
      const int id = step.inputs[i];
      if (id < 0 || is_constant_[id]) continue;
      if (step.repeat_of[i] >= 0) step.in[i] = step.in[step.repeat_of[i]];
      else std::swap(step.in[i], values_[id]);
    }
    const bool cut = run_options.last_position_only && static_cast<int>(k) == last_position_step_ &&
                     step.in[0].rank() == 3 && step.in[0].dim(1) > 1;
    if (cut) {
      whole = std::move(step.in[0]);
      step.in[0] = last_position(whole);
    }
    Status s = step.op->run(step.in, step.out, ctx);
    if (cut) step.in[0] = std::move(whole);
    unbind(step);
    if (!s.ok()) {
      for (Tensor& t : step.out) t = Tensor();
      clear_activations();
      return Status::error(step.node->describe() + ": " + s.message());
    }
    for (size_t o = 0; o < step.out.size(); ++o) {
      if (step.outputs[o] >= 0) values_[step.outputs[o]] = std::move(step.out[o]);
      step.out[o] = Tensor();
    }
    for (int id : step.release) values_[id] = Tensor();
  }
  std::vector<Tensor> result;
  result.reserve(outputs.size());
  for (const auto& name : outputs) {
    auto it = ids_.find(name);
    if (it == ids_.end()) {
      clear_activations();
      return Status::error("graph has no output '" + name + "'");
    }
    result.push_back(values_[it->second]);
  }
  clear_activations();
  return result;
}

}  // namespace rllm
