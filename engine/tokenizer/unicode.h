// Unicode character classes the pipeline needs outside of regexes, with Rust's
// definitions (HF `tokenizers` is written in Rust).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rllm::tok {

// char::is_whitespace: the Unicode White_Space property.
bool is_whitespace(uint32_t cp);

// Offset after skipping whitespace characters backwards from / forwards from `pos`.
size_t skip_whitespace_back(std::string_view text, size_t pos);
size_t skip_whitespace_forward(std::string_view text, size_t pos);

// True if text[..pos] does not end / text[pos..] does not start with a word character
// (alphanumeric or '_'), as HF checks for `single_word` added tokens.
bool is_word_boundary_before(std::string_view text, size_t pos);
bool is_word_boundary_after(std::string_view text, size_t pos);

}  // namespace rllm::tok
