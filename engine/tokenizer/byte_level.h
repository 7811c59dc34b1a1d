// GPT-2's reversible byte <-> printable character map (`bytes_to_unicode`), shared by
// the ByteLevel pre-tokenizer and decoder.
#pragma once

#include <cstdint>
#include <string>

namespace rllm::tok {

// The UTF-8 encoding of the character standing for byte `b`.
const std::string& byte_to_char(uint8_t b);
// The byte a code point stands for, or -1 if it is not in the map.
int char_to_byte(uint32_t cp);

// GPT-2's split regex, used by ByteLevel when `use_regex` is set.
inline constexpr const char* kGpt2SplitRegex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

}  // namespace rllm::tok
