// The stages of the tokenization pipeline, mirroring HF `tokenizers`:
// added tokens -> normalizer -> pre-tokenizer -> model -> post-processor on encode,
// and id -> token string -> decoder chain on decode. Internal to engine/tokenizer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/tokenizer/added_vocabulary.h"
#include "formats/status.h"

namespace rllm::tok {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& text) const = 0;
};

// A piece of text between added tokens, as the pre-tokenizers split it further.
// `at_start` is true for the piece that begins the input (Metaspace prepend_scheme
// "first" only prepends there).
struct PreToken {
  std::string text;
  bool at_start = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void split(std::vector<PreToken>& pieces) const = 0;
};

class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of one pre-tokenized word.
  virtual void tokenize(std::string_view word, std::vector<int32_t>& out) const = 0;
  virtual int32_t vocab_size() const = 0;
  virtual const std::string& id_to_token(int32_t id) const = 0;
  virtual int32_t token_to_id(std::string_view token) const = 0;
};

// Decoders rewrite the list of token strings in place (HF `decode_chain`).
class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

// What the post-processor puts around the encoded sequence.
struct PostTemplate {
  std::vector<int32_t> prefix;
  std::vector<int32_t> suffix;
};

struct Parts {
  AddedVocabulary added;
  std::unique_ptr<Normalizer> normalizer;      // may be null
  std::unique_ptr<PreTokenizer> pre_tokenizer;  // may be null
  std::unique_ptr<Model> model;
  std::unique_ptr<Decoder> decoder;  // null: tokens joined with " " (HF default)
  PostTemplate post;
  int32_t bos_id = -1;
  std::vector<int32_t> eos_ids;
  std::string chat_template;
  std::string bos_token;  // strings the chat template sees as bos_token / eos_token
  std::string eos_token;
  int64_t truncation_max_length = 0;  // tokenizer.json "truncation": {"max_length"}; 0 if none
  int32_t pad_id = 0;                 // "padding": {"pad_id"}, else [PAD] / <pad>, else 0
};

}  // namespace rllm::tok
