// Sentence encoders (BERT, MiniLM, ...): a bare encoder .onnx run through the
// Plan without a KV cache, and the tokenizer in front of it.
//
//   auto enc = rllm::Encoder::load("model.onnx", {});                 // the graph alone
//   auto emb = (*enc)->embed_ids({{101, 7592, 102}, {101, 102}}, true);  // [B, H] f32
//
//   auto se = rllm::SentenceEncoder::load("model_dir", {});            // graph + tokenizer.json
//   auto emb = (*se)->embed({"Hello", "A longer sentence."}, {});
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/graph/plan.h"
#include "engine/tokenizer/tokenizer.h"
#include "formats/onnx_model.h"
#include "kernels/thread_pool.h"

namespace rllm {

struct EncoderOptions {
  int threads = 0;        // 0: one per core
  std::string tokenizer;  // SentenceEncoder: tokenizer.json path; "" = beside the model
};

// What the graph hands back: a pooled sentence vector, or per-token states that
// the Encoder mean-pools over the attention mask.
enum class EncoderOutput { sentence, tokens };

class Encoder {
 public:
  // A .onnx whose inputs are input_ids, attention_mask and optionally
  // token_type_ids (all [B, S] int64 or int32) and whose outputs include a
  // float [B, H] sentence embedding or [B, S, H] token states.
  static Result<std::unique_ptr<Encoder>> load(const std::string& onnx_path, const EncoderOptions& options);

  // Rows of token ids (special tokens included), each its own length: rows of
  // similar length run as one batch, padded on the right with pad_id to the
  // longest, masked out there. Returns [B, H] f32 in the order of `rows`,
  // L2-normalised per row when `normalize`.
  Result<Tensor> embed_ids(const std::vector<std::vector<int32_t>>& rows, bool normalize, int32_t pad_id = 0);

  const std::string& path() const { return path_; }
  const std::string& output_name() const { return output_; }
  EncoderOutput output_kind() const { return kind_; }
  bool has_token_type_ids() const { return !token_type_ids_.empty(); }
  // Longest sequence the position embeddings allow, read from the graph's
  // [P, H] position table when it has one; 0 when not known.
  int64_t max_positions() const { return max_positions_; }
  ThreadPool& pool() { return *pool_; }
  size_t mapped_bytes() const { return mapped_bytes_; }

 private:
  Status init(const EncoderOptions& options);
  // One graph run over all `rows`, padded to the longest.
  Result<Tensor> embed_batch(const std::vector<std::vector<int32_t>>& rows, bool normalize, int32_t pad_id);

  std::string path_;
  std::unique_ptr<OnnxModel> onnx_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<Plan> plan_;
  std::string input_ids_, attention_mask_, token_type_ids_, output_;
  DType ids_type_ = DType::i64, mask_type_ = DType::i64, types_type_ = DType::i64;
  EncoderOutput kind_ = EncoderOutput::tokens;
  int64_t max_positions_ = 0;
  size_t mapped_bytes_ = 0;
};

enum class LongInput { truncate, refuse };

struct EmbedOptions {
  bool normalize = true;
  int batch = 32;                             // sentences per graph run
  int64_t max_length = 0;                     // tokens incl. [CLS]/[SEP]; 0: the model's (see max_length())
  LongInput long_input = LongInput::truncate;
};

// One sentence embedding per text.
struct Embeddings {
  Tensor vectors;                  // [N, H] f32
  std::vector<size_t> truncated;   // indices of texts cut to max_length
};

class SentenceEncoder {
 public:
  // MODEL: a folder holding one .onnx and tokenizer.json, or a .onnx with
  // tokenizer.json beside it; options.tokenizer overrides where the tokenizer is.
  static Result<std::unique_ptr<SentenceEncoder>> load(const std::string& model, const EncoderOptions& options);

  // Texts are tokenized with [CLS] ... [SEP], cut to the maximum length (or
  // refused, naming the text, with LongInput::refuse) and run `batch` at a time.
  Result<Embeddings> embed(const std::vector<std::string>& texts, const EmbedOptions& options);

  // tokenizer.json's truncation.max_length, else the graph's position table, else 512.
  int64_t max_length() const;
  Encoder& encoder() { return *encoder_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }

 private:
  std::unique_ptr<Encoder> encoder_;
  std::unique_ptr<Tokenizer> tokenizer_;
};

}  // namespace rllm
