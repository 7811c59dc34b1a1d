// Text <-> token ids, exact against Hugging Face `tokenizers` (tokenizer.json) and
// the `sentencepiece` library (.model files). See README.md for what is supported.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "formats/status.h"

namespace rllm {

namespace tok {
struct Parts;
}

class Tokenizer {
 public:
  explicit Tokenizer(std::unique_ptr<tok::Parts> parts);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // tokenizer.json (HF) or a SentencePiece .model file.
  static Result<std::unique_ptr<Tokenizer>> load_file(const std::string& path);
  // A model folder: tokenizer.json (+ tokenizer_config.json for add_bos_token /
  // add_eos_token, special tokens and chat_template; + chat_template.jinja if present),
  // or a folder holding only tokenizer.model.
  static Result<std::unique_ptr<Tokenizer>> load_folder(const std::string& dir);
  // The same from memory (no filesystem): tokenizer.json's text, tokenizer_config.json's
  // ("" if none) and a chat template overriding the config's ("" if none).
  static Result<std::unique_ptr<Tokenizer>> load_from_memory(const std::string& tokenizer_json,
                                                             const std::string& tokenizer_config_json,
                                                             const std::string& chat_template);

  // Invalid UTF-8 in `text` is an error value, not a crash.
  Result<std::vector<int32_t>> encode(std::string_view text, bool add_special_tokens = true) const;
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;
  // With special tokens, at most max_length ids in all: the text's own ids are cut
  // first, as HF's truncation of a single sequence does; `truncated` says whether any were.
  Result<std::vector<int32_t>> encode_truncated(std::string_view text, size_t max_length, bool& truncated) const;

  int32_t vocab_size() const;
  int32_t bos_id() const;  // -1 if none
  std::vector<int32_t> eos_ids() const;
  bool is_special(int32_t id) const;
  // The token's string as stored in the vocabulary ("" for an id out of range).
  const std::string& id_to_token(int32_t id) const;
  int32_t token_to_id(std::string_view token) const;  // -1 if absent
  const std::string& chat_template() const;           // "" if none
  // tokenizer.json's truncation.max_length (0 if the file sets none) and pad id.
  int64_t truncation_max_length() const;
  int32_t pad_id() const;

  const tok::Parts& parts() const { return *parts_; }

 private:
  std::unique_ptr<tok::Parts> parts_;
};

// Streaming detokenization: feed ids one at a time, get the text that is complete so
// far. Never returns half a UTF-8 character; byte-fallback <0xNN> runs are joined and
// leading-space rules are applied as the full decode applies them, so the
// concatenation of every push() and the final flush() equals decode(all ids).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false);
  std::string push(int32_t id);
  std::string flush();

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_;
  std::vector<int32_t> ids_;
  size_t prefix_offset_ = 0;  // window start: decoding from here reproduces emitted text
  size_t read_offset_ = 0;    // ids before this have been emitted
};

}  // namespace rllm
