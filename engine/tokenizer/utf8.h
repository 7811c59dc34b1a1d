// Small UTF-8 helpers shared by the tokenizer stages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rllm::tok {

// Length of the UTF-8 sequence introduced by lead byte `b` (1 for a stray byte, so a
// scan over unvalidated bytes always advances).
inline size_t utf8_len(unsigned char b) {
  if (b < 0x80) return 1;
  if ((b & 0xE0) == 0xC0) return 2;
  if ((b & 0xF0) == 0xE0) return 3;
  if ((b & 0xF8) == 0xF0) return 4;
  return 1;
}

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF), 0 if there is none.
size_t utf8_valid_len(std::string_view s, size_t i);

// Offset of the first byte that does not start a valid UTF-8 sequence (overlongs,
// surrogates and code points above U+10FFFF are invalid), or npos if `s` is valid.
size_t utf8_invalid_at(std::string_view s);

// Decodes the code point at `s[i]` (valid UTF-8 assumed) and advances `i`.
uint32_t utf8_next(std::string_view s, size_t& i);

void utf8_append(std::string& out, uint32_t cp);

// Replaces every maximal invalid subsequence with U+FFFD the way Rust's
// String::from_utf8_lossy does, which is what HF decoders produce.
std::string utf8_lossy(std::string_view bytes);

}  // namespace rllm::tok
