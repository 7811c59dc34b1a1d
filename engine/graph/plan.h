// ONNX graph -> execution plan: ops bound in topological order, constant
// subgraphs folded at load, each activation released after its last use.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/graph/op.h"
#include "formats/pack_cache.h"
#include "formats/onnx_model.h"

namespace rllm {

// An initializer as a Tensor: a view into the mapping, or an aligned copy when
// its bytes are misaligned for the element type.
Tensor tensor_of(const OnnxTensor& t);

struct PlanOptions {
  // Layer of the KV cache a graph input feeds (e.g. "past_key_values.3.key" -> 3), or -1.
  std::function<int(const std::string& input_name)> kv_layer_of;
  // A graph output [B, S, ...] that may be computed for the last position
  // alone (the logits: generation needs only the last row, and the lm_head is
  // the largest matmul of a small model).
  std::string last_position_output;
  // Where packing ops look for, and leave, their packed weights (null: pack).
  PackCache* pack_cache = nullptr;
};

struct RunOptions {
  // Compute PlanOptions::last_position_output for position S-1 only: [B, 1, ...].
  bool last_position_only = false;
};

class Plan {
 public:
  static Result<std::unique_ptr<Plan>> build(const OnnxModel& model, const PlanOptions& options,
                                             ThreadPool& pool);

  // inputs: graph input name -> value. Returns the requested graph outputs in order.
  Result<std::vector<Tensor>> run(const std::unordered_map<std::string, Tensor>& inputs,
                                  const std::vector<std::string>& outputs, ExecContext& ctx,
                                  const RunOptions& run_options = {});

  size_t step_count() const { return steps_.size(); }
  size_t folded_count() const { return folded_; }
  // Bytes of weights repacked for the kernels at load.
  size_t repacked_bytes() const { return repacked_bytes_; }
  bool has_input(const std::string& name) const;
  // Activation buffers recycled across runs (see BufferPool).
  BufferPool::Stats buffer_stats() const { return buffers_->stats(); }

 private:
  struct Step {
    const OnnxNode* node;
    std::unique_ptr<Op> op;
    std::vector<int> inputs;   // value ids, -1 for an omitted input
    std::vector<int> outputs;  // value ids, -1 for an omitted output
    std::vector<int> release;  // values whose last use is this step
    // The op's arguments, kept between runs so a step allocates no vectors:
    // constant inputs are filled once at build; activations are swapped in
    // from values_ for the call and back after it.
    std::vector<Tensor> in, out;
    // Per input: the earlier input position holding the same value, or -1.
    std::vector<int> repeat_of;
  };

  // Swaps a step's activation inputs back into values_.
  void unbind(Step& step);
  // Drops every value but the constants (after a run, or when one fails).
  void clear_activations();

  std::shared_ptr<const OnnxGraph> graph_keep_;
  std::unordered_map<std::string, int> ids_;
  // By value id: the constants, set at build, and during a run the graph
  // inputs and live activations; dtype undefined otherwise.
  std::vector<Tensor> values_;
  std::vector<bool> is_constant_;
  std::vector<int> graph_input_ids_;  // ids of graph_inputs_
  std::vector<std::string> graph_inputs_;
  std::vector<Step> steps_;
  // Step whose input 0 [B, S, K] is cut to its last position under
  // RunOptions::last_position_only, or -1 when the output's producer chain is
  // not row-wise.
  int last_position_step_ = -1;
  // Cached activation buffers above this go back to the system.
  static constexpr size_t kMaxCachedActivationBytes = size_t{256} << 20;
  std::shared_ptr<BufferPool> buffers_ = BufferPool::create(kMaxCachedActivationBytes);
  size_t folded_ = 0;
  size_t repacked_bytes_ = 0;
};

}  // namespace rllm
