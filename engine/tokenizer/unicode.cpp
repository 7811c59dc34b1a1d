#include "engine/tokenizer/unicode.h"

#include "engine/tokenizer/regex.h"
#include "engine/tokenizer/utf8.h"

namespace rllm::tok {

bool is_whitespace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

namespace {

size_t char_start_before(std::string_view text, size_t pos) {
  size_t i = pos - 1;
  while (i > 0 && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) --i;
  return i;
}

bool is_word_char_at(std::string_view text, size_t pos) {
  static const auto word = Regex::compile("^[\\p{Alphabetic}\\p{N}_]");
  size_t end = pos;
  utf8_next(text, end);
  return !word.value()->find_all(text.substr(pos, end - pos)).empty();
}

}  // namespace

size_t skip_whitespace_back(std::string_view text, size_t pos) {
  while (pos > 0) {
    size_t start = char_start_before(text, pos), i = start;
    if (!is_whitespace(utf8_next(text, i))) break;
    pos = start;
  }
  return pos;
}

size_t skip_whitespace_forward(std::string_view text, size_t pos) {
  while (pos < text.size()) {
    size_t i = pos;
    if (!is_whitespace(utf8_next(text, i))) break;
    pos = i;
  }
  return pos;
}

bool is_word_boundary_before(std::string_view text, size_t pos) {
  return pos == 0 || !is_word_char_at(text, char_start_before(text, pos));
}

bool is_word_boundary_after(std::string_view text, size_t pos) {
  return pos >= text.size() || !is_word_char_at(text, pos);
}

}  // namespace rllm::tok
