#include "engine/tokenizer/json_reader.h"

#include <algorithm>
#include <array>

#include "engine/tokenizer/utf8.h"

namespace rllm::tok {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Bytes a string copies as they are: printable ASCII but '"' and '\\'.
constexpr auto kPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[static_cast<size_t>(c)] = c != '"' && c != '\\';
  return t;
}();

}  // namespace

void JsonReader::expect(char c) {
  if (next_char() != c) fail(std::string("expected '") + c + "'");
  ++pos_;
}

void JsonReader::begin_object() {
  expect('{');
  first_.push_back(true);
}

void JsonReader::begin_array() {
  expect('[');
  first_.push_back(true);
}

void JsonReader::end_container(char close) {
  if (next_char() == close) {
    ++pos_;
    first_.pop_back();
    return;
  }
  fail(std::string("expected ',' or '") + close + "'");
}

bool JsonReader::next_member(std::string& key) {
  key.clear();
  return next_member_append(key);
}

bool JsonReader::next_item(char close) {
  const char c = next_char();
  if (first_.back()) {
    if (c == close) {
      ++pos_;
      first_.pop_back();
      return false;
    }
    first_.back() = false;
    return true;
  }
  if (c == ',') {
    ++pos_;
    return true;
  }
  end_container(close);
  return false;
}

bool JsonReader::next_member_append(std::string& out) {
  if (!next_item('}')) return false;
  if (next_char() != '"') fail("expected a member name");
  append_string(out);
  expect(':');
  return true;
}

bool JsonReader::next_element() { return next_item(']'); }

void JsonReader::read_string(std::string& out) {
  out.clear();
  append_string(out);
}

uint32_t JsonReader::read_hex4() {
  if (text_.size() - pos_ < 4) fail("truncated \\u escape");
  uint32_t v = 0;
  for (int k = 0; k < 4; ++k) {
    const char c = text_[pos_++];
    v <<= 4;
    if (is_digit(c)) v |= static_cast<uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
    else fail("bad hex digit in \\u escape");
  }
  return v;
}

void JsonReader::append_string(std::string& out) {
  if (next_char() != '"') fail("expected a string");
  ++pos_;
  const size_t n = text_.size();
  // Bytes since `run` are copied in one append when an escape or the end comes.
  size_t run = pos_;
  for (;;) {
    while (pos_ < n && kPlain[static_cast<unsigned char>(text_[pos_])]) ++pos_;
    if (pos_ >= n) fail("unterminated string");
    const auto c = static_cast<unsigned char>(text_[pos_]);
    if (c >= 0x80) {
      const size_t len = utf8_valid_len(text_, pos_);
      if (len == 0) fail("invalid UTF-8 in a string");
      pos_ += len;
      continue;
    }
    out.append(text_.data() + run, pos_ - run);
    if (c == '"') {
      ++pos_;
      return;
    }
    if (c < 0x20) fail("control character in a string (must be escaped)");
    ++pos_;  // the backslash
    if (pos_ >= n) fail("unterminated string");
    switch (text_[pos_++]) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        uint32_t cp = read_hex4();
        if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone low surrogate in \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (text_.size() - pos_ < 2 || text_[pos_] != '\\' || text_[pos_ + 1] != 'u')
            fail("high surrogate not followed by a low surrogate");
          pos_ += 2;
          const uint32_t low = read_hex4();
          if (low < 0xDC00 || low > 0xDFFF) fail("high surrogate not followed by a low surrogate");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        utf8_append(out, cp);
        break;
      }
      default:
        --pos_;
        fail("invalid escape in a string");
    }
    run = pos_;
  }
}

int64_t JsonReader::read_integer() {
  if (peek() != Kind::kNumber) fail("expected an integer");
  const size_t start = pos_;
  const bool negative = text_[pos_] == '-';
  if (negative) ++pos_;
  if (pos_ >= text_.size() || !is_digit(text_[pos_])) fail("expected a digit");
  if (text_[pos_] == '0' && pos_ + 1 < text_.size() && is_digit(text_[pos_ + 1])) fail("leading zero in a number");
  int64_t v = 0;
  while (pos_ < text_.size() && is_digit(text_[pos_])) {
    if (pos_ - start >= 18) fail("integer out of range");
    v = v * 10 + (text_[pos_++] - '0');
  }
  if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E')) {
    pos_ = start;
    fail("expected an integer, not a fraction");
  }
  return negative ? -v : v;
}

bool JsonReader::read_bool() {
  const Kind k = peek();
  if (k != Kind::kBool) fail("expected true or false");
  const bool v = text_[pos_] == 't';
  skip_literal(v ? "true" : "false");
  return v;
}

void JsonReader::skip_literal(std::string_view word) {
  if (text_.substr(pos_, word.size()) != word) fail("expected " + std::string(word));
  pos_ += word.size();
}

void JsonReader::skip_number() {
  auto digits = [&] {
    if (pos_ >= text_.size() || !is_digit(text_[pos_])) fail("expected a digit");
    while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
  };
  if (text_[pos_] == '-') ++pos_;
  if (pos_ < text_.size() && text_[pos_] == '0') {
    ++pos_;
  } else {
    digits();
  }
  if (pos_ < text_.size() && text_[pos_] == '.') {
    ++pos_;
    digits();
  }
  if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
    ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
    digits();
  }
}

std::string_view JsonReader::skip_value() {
  // Iterative, so nesting depth costs heap (first_), not stack.
  std::vector<bool> is_object;
  std::string scratch;
  skip_ws();
  const size_t start = pos_;
  for (;;) {
    switch (peek()) {
      case Kind::kObject:
        begin_object();
        is_object.push_back(true);
        if (next_member(scratch)) continue;
        is_object.pop_back();
        break;
      case Kind::kArray:
        begin_array();
        is_object.push_back(false);
        if (next_element()) continue;
        is_object.pop_back();
        break;
      case Kind::kString: append_string(scratch); break;
      case Kind::kNumber: skip_number(); break;
      case Kind::kBool: skip_literal(text_[pos_] == 't' ? "true" : "false"); break;
      case Kind::kNull: skip_literal("null"); break;
    }
    scratch.clear();
    // A value is complete: close the containers it ends.
    for (;;) {
      if (is_object.empty()) return text_.substr(start, pos_ - start);
      if (is_object.back() ? next_member(scratch) : next_element()) break;
      is_object.pop_back();
    }
  }
}

void JsonReader::finish() {
  skip_ws();
  if (pos_ != text_.size()) fail("unexpected text after the top-level value");
}

std::string JsonReader::where(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

}  // namespace rllm::tok
