// A loaded decoder model: its files, the ONNX graph, the execution plan with
// packed weights, and the shape of the KV cache its attention ops need.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/graph/plan.h"
#include "engine/kv_cache/paged_kv_cache.h"
#include "engine/model_files.h"
#include "kernels/thread_pool.h"

namespace rllm {

struct ModelOptions {
  int threads = 0;            // 0: one per core
  int kv_block_tokens = 16;
  int64_t max_context = 0;    // 0: the model's context_length
  DType kv_dtype = DType::f32;  // f32 or f16 (half the memory per token)
  // Where load() keeps packed weights across runs (pack_cache.h); nullopt: none.
  std::optional<PackCache::Settings> pack_cache;
};

struct LoadStats {
  double seconds = 0;
  size_t mapped_bytes = 0;    // model + external data files
  // Initializer bytes a decoded token reads: all but tables only looked up by
  // Gather / GatherBlockQuantized (an untied embedding), of which it reads one row.
  size_t decode_weight_bytes = 0;
  size_t repacked_bytes = 0;  // weights repacked for the kernels
  // The pack cache file this load mapped packed weights from (pack_cache_read)
  // or wrote them to (pack_cache_written bytes); empty when none.
  std::string pack_cache_file;
  bool pack_cache_read = false;
  size_t pack_cache_written = 0;
  std::string pack_cache_note;  // why a cache file was not used or written
};

class Model {
 public:
  static Result<std::unique_ptr<Model>> load(const std::string& path, const ModelOptions& options);
  // From memory: the .onnx bytes, with external data from `resolver` (no filesystem).
  static Result<std::unique_ptr<Model>> load_from_memory(const void* onnx, size_t size,
                                                         ExternalDataResolver resolver,
                                                         const ModelOptions& options);
  // As above, with genai_config.json's content (graph input/output names, EOS ids,
  // context length) for a model whose folder is not on a filesystem.
  static Result<std::unique_ptr<Model>> load_from_memory(const void* onnx, size_t size,
                                                         ExternalDataResolver resolver,
                                                         std::optional<GenAiConfig> config,
                                                         const ModelOptions& options);

  const ModelFiles& files() const { return files_; }
  const KvCacheConfig& kv_config() const { return kv_; }
  const LoadStats& load_stats() const { return stats_; }
  ThreadPool& pool() { return *pool_; }
  int64_t vocab_size() const { return vocab_; }
  BufferPool::Stats activation_buffer_stats() const { return plan_->buffer_stats(); }

  // Which positions forward() returns logits for.
  enum class Logits { all, last };

  // Runs one step: row b appends tokens[b] (all rows the same length) to
  // sequence seqs[b] of `cache`. Returns logits [B, S, vocab] as f32 (or
  // [B, 1, vocab] for Logits::last). On failure the cache is left as it was.
  Result<Tensor> forward(KvCache& cache, const std::vector<int>& seqs,
                         const std::vector<std::vector<int32_t>>& tokens,
                         Logits which = Logits::all);

 private:
  Status init(OnnxModel model, const ModelOptions& options, PackCache* pack_cache = nullptr);
  // Fills kv_tensors_ when the graph's attention takes past/present tensors.
  Status bind_kv_tensors(const OnnxModel& m, const GenAiConfig& cfg, const std::string& where);

  ModelFiles files_;
  std::unique_ptr<OnnxModel> onnx_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<Plan> plan_;
  KvCacheConfig kv_;
  LoadStats stats_;
  int64_t vocab_ = 0;
  std::string input_ids_, attention_mask_, position_ids_, logits_;
  DType ids_type_ = DType::i64, mask_type_ = DType::i64, pos_type_ = DType::i64;
  std::vector<std::string> past_names_;  // every past key/value input
  // Graphs whose attention is spelled with standard ops (optimum / torch.onnx
  // exports) take the KV state as tensors: each past input, its present output,
  // and where it lives in the paged cache. Empty when attention ops bind the cache.
  struct KvTensor {
    std::string past, present;
    int layer = 0, kv = 0;  // kv: 0 key, 1 value
    DType dtype = DType::f32;
  };
  std::vector<KvTensor> kv_tensors_;
  // forward()'s graph inputs and outputs by name, kept so a decode step does
  // not rebuild the map's nodes and keys.
  std::unordered_map<std::string, Tensor> inputs_;
  std::vector<std::string> outputs_;
};

}  // namespace rllm
