// An executable operator and the registry that builds one from an ONNX node.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "formats/onnx_model.h"
#include "formats/status.h"
#include "kernels/thread_pool.h"

namespace rllm {
namespace kernels {
class PackedNBits;
}

class KvCache;
class PackCache;
struct BatchState;

// What a run gives every op: the thread pool, and for attention ops the paged
// KV cache and where each row of the batch stands in it.
struct ExecContext {
  ThreadPool* pool = nullptr;
  KvCache* kv = nullptr;
  const BatchState* batch = nullptr;
};

class Op {
 public:
  virtual ~Op() = default;
  // `in` has one entry per node input ("" inputs are default Tensors, dtype
  // undefined); `out` one per node output, filled by the op.
  virtual Status run(std::span<const Tensor> in, std::span<Tensor> out, ExecContext& ctx) = 0;
  // Bytes of weights this op repacked at load (reported by --verbose and the bench).
  virtual size_t packed_bytes() const { return 0; }
  // The MatMulNBits weights this op packed, or null.
  virtual const kernels::PackedNBits* packed_nbits() const { return nullptr; }
  // Offers the packed copy of the table this op reads (a tied embedding
  // offered its lm_head's); true if the op reads that copy from now on, so
  // the mapped table may be dropped. `w` outlives the op (same plan).
  virtual bool read_packed_rows(const kernels::PackedNBits& w) {
    (void)w;
    return false;
  }
};

// Facts an op factory may use at load time.
struct LoadContext {
  const OnnxNode& node;
  int64_t opset = 0;                      // opset version imported for the node's domain
  std::vector<const Tensor*> constants;   // per input: the value if known at load, else null
  // Layer index of an attention node's KV cache, or -1 when the node has none.
  int kv_layer = -1;
  // For packing weights at load on every thread (null: the calling thread).
  ThreadPool* pool = nullptr;
  // Set when nothing but this op's packed copy will read its weight input (B of
  // MatMulNBits): releases source bytes as they are packed, so a large weight's
  // mapped pages and its packed copy are never both resident. May be called
  // from the pool's threads.
  std::function<void(const void*, size_t)> release_source;
  // Packed weights kept from an earlier load of the same files (null: pack).
  PackCache* pack_cache = nullptr;

  const Tensor* constant(size_t i) const { return i < constants.size() ? constants[i] : nullptr; }
  bool has_input(size_t i) const { return i < node.inputs.size() && !node.inputs[i].empty(); }
  Status error(const std::string& what) const { return Status::error(node.describe() + ": " + what); }
};

using OpFactory = std::function<Result<std::unique_ptr<Op>>(const LoadContext&)>;

class OpRegistry {
 public:
  // since_version: the first opset of the domain this implementation covers.
  void add(const std::string& domain, const std::string& op_type, int64_t since_version,
           OpFactory factory);
  // The factory for the node's (domain, op_type) and imported opset; null if none.
  const OpFactory* find(const std::string& domain, const std::string& op_type, int64_t opset) const;
  bool knows(const std::string& domain, const std::string& op_type) const;

 private:
  std::map<std::pair<std::string, std::string>, std::vector<std::pair<int64_t, OpFactory>>> ops_;
};

// Every op this engine implements.
const OpRegistry& op_registry();

// Op families register themselves here (engine/ops/*.cpp).
void register_elementwise_ops(OpRegistry& r);
void register_shape_ops(OpRegistry& r);
void register_norm_ops(OpRegistry& r);
void register_reduce_ops(OpRegistry& r);
void register_matmul_ops(OpRegistry& r);
void register_attention_ops(OpRegistry& r);
void register_clip_ops(OpRegistry& r);

// Wraps a lambda as an Op.
template <typename F>
class LambdaOp : public Op {
 public:
  explicit LambdaOp(F f) : f_(std::move(f)) {}
  Status run(std::span<const Tensor> in, std::span<Tensor> out, ExecContext& ctx) override {
    return f_(in, out, ctx);
  }

 private:
  F f_;
};
template <typename F>
std::unique_ptr<Op> make_op(F f) {
  return std::make_unique<LambdaOp<F>>(std::move(f));
}

}  // namespace rllm
