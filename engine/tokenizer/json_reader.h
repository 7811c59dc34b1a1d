// A pull reader over JSON text (RFC 8259, as strict as nlohmann's parser: UTF-8 is
// validated, lone surrogates and control characters in strings are errors). The large
// parts of tokenizer.json (model.vocab, model.merges, added_tokens) are read with it
// straight into their final tables; the small parts are handed to nlohmann as raw spans.
// A 33 MB file as a nlohmann DOM is ~150 MB of small nodes built and freed again.
//
//   r.begin_object();
//   while (r.next_member(key)) { if (key == "vocab") ... else r.skip_value(); }
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rllm::tok {

// Malformed text or an unexpected type, at byte `offset` of the text.
class JsonError : public std::runtime_error {
 public:
  JsonError(const std::string& what, size_t offset) : std::runtime_error(what), offset_(offset) {}
  size_t offset() const { return offset_; }

 private:
  size_t offset_;
};

class JsonReader {
 public:
  enum class Kind { kObject, kArray, kString, kNumber, kBool, kNull };

  explicit JsonReader(std::string_view text) : text_(text) {}

  Kind peek() {  // the kind of the next value
    switch (next_char()) {
      case '{': return Kind::kObject;
      case '[': return Kind::kArray;
      case '"': return Kind::kString;
      case 't':
      case 'f': return Kind::kBool;
      case 'n': return Kind::kNull;
      default:
        if (text_[pos_] == '-' || (text_[pos_] >= '0' && text_[pos_] <= '9')) return Kind::kNumber;
        fail("expected a value");
    }
  }
  void begin_object();
  // Reads the next member's key (unescaped) and its ':'; false at the closing '}'.
  bool next_member(std::string& key);
  bool next_member_append(std::string& out);  // the same, appending the key to `out`
  void begin_array();
  bool next_element();  // false at the closing ']'
  void read_string(std::string& out);
  void append_string(std::string& out);  // appends the unescaped string to `out`
  int64_t read_integer();                // an integer literal (no fraction or exponent)
  bool read_bool();
  // Skips one value (checked as strictly as the rest) and returns its text.
  std::string_view skip_value();
  void finish();  // only whitespace may follow the top-level value

  size_t offset() const { return pos_; }
  [[noreturn]] void fail(const std::string& what) const { throw JsonError(what, pos_); }

  // "line L, column C" of a byte offset, for messages.
  static std::string where(std::string_view text, size_t offset);

 private:
  // Inline: called before every token. Pretty-printed tokenizer.json files are half
  // indentation (Gemma-3's: 16.6 of 33 MB), skipped 8 spaces at a time.
  void skip_ws() {
    for (;;) {
      while (text_.size() - pos_ >= 8) {
        uint64_t eight;
        std::memcpy(&eight, text_.data() + pos_, 8);
        if (eight != 0x2020202020202020ull) break;
        pos_ += 8;
      }
      if (pos_ >= text_.size()) return;
      const char c = text_[pos_];
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return;
      ++pos_;
    }
  }
  char next_char() {  // after whitespace; fails at the end of the text
    skip_ws();
    if (pos_ >= text_.size()) fail("unexpected end of text");
    return text_[pos_];
  }
  // Steps past the ',' before the next member or element of the innermost open
  // container; false (and the container closed) at its `close`.
  bool next_item(char close);
  void expect(char c);
  void skip_number();
  void skip_literal(std::string_view word);
  uint32_t read_hex4();
  void end_container(char close);

  std::string_view text_;
  size_t pos_ = 0;
  // One entry per open object or array: true until its first member or element.
  std::vector<bool> first_;
};

}  // namespace rllm::tok
