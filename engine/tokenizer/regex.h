// PCRE2 (UTF + Unicode properties, JIT) behind a minimal find-all interface, used by
// the Split / ByteLevel pre-tokenizers and the Replace normalizer and decoder.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "formats/status.h"

namespace rllm::tok {

class Regex {
 public:
  // `pattern` uses the Oniguruma / Rust syntax that tokenizer.json holds; the subset
  // the known tokenizers use is the same in PCRE2.
  static Result<std::unique_ptr<Regex>> compile(const std::string& pattern);
  static std::string escape(std::string_view literal);
  ~Regex();

  // Non-overlapping matches, left to right, as [begin, end) byte offsets. `text` must
  // be valid UTF-8.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

 private:
  explicit Regex(void* code) : code_(code) {}
  void* code_;  // pcre2_code_8*
};

}  // namespace rllm::tok
