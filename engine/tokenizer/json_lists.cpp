#include "engine/tokenizer/json_lists.h"

#include <cstdint>
#include <limits>

namespace rllm::tok {

namespace {

int32_t read_int32(JsonReader& r, const char* what) {
  if (r.peek() != JsonReader::Kind::kNumber) r.fail(std::string(what) + " must be an integer");
  int64_t v;
  try {
    v = r.read_integer();
  } catch (const JsonError& e) {
    throw JsonError(std::string(what) + ": " + e.what(), e.offset());
  }
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
    r.fail(std::string(what) + " is out of range");
  return static_cast<int32_t>(v);
}

uint32_t checked_size(JsonReader& r, size_t n) {
  if (n > std::numeric_limits<uint32_t>::max()) r.fail("token longer than 4 GB");
  return static_cast<uint32_t>(n);
}

}  // namespace

VocabList read_vocab(JsonReader& r) {
  if (r.peek() != JsonReader::Kind::kObject) r.fail("model.vocab must be an object of token: id");
  VocabList v;
  r.begin_object();
  for (;;) {
    const size_t offset = v.arena.size();
    if (!r.next_member_append(v.arena)) break;
    const uint32_t size = checked_size(r, v.arena.size() - offset);
    v.entries.push_back({offset, size, read_int32(r, "model.vocab: a token's id")});
  }
  return v;
}

MergeList read_merges(JsonReader& r) {
  if (r.peek() != JsonReader::Kind::kArray) r.fail("model.merges must be an array");
  MergeList m;
  r.begin_array();
  while (r.next_element()) {
    const size_t offset = m.arena.size();
    if (r.peek() == JsonReader::Kind::kString) {
      r.append_string(m.arena);
      const std::string_view s = std::string_view(m.arena).substr(offset);
      const size_t sp = s.find(' ');
      if (sp == std::string_view::npos || s.find(' ', sp + 1) != std::string_view::npos)
        r.fail("merge \"" + std::string(s) + "\" is not two tokens separated by one space");
      m.arena.erase(offset + sp, 1);
      m.entries.push_back({offset, checked_size(r, sp), checked_size(r, m.arena.size() - offset - sp)});
      continue;
    }
    if (r.peek() != JsonReader::Kind::kArray) r.fail("malformed merge: expected \"left right\" or [\"left\", \"right\"]");
    r.begin_array();
    size_t sizes[2] = {0, 0};
    for (size_t& size : sizes) {
      if (!r.next_element() || r.peek() != JsonReader::Kind::kString) r.fail("malformed merge: expected two strings");
      const size_t before = m.arena.size();
      r.append_string(m.arena);
      size = m.arena.size() - before;
    }
    if (r.next_element()) r.fail("malformed merge: more than two strings");
    m.entries.push_back({offset, checked_size(r, sizes[0]), checked_size(r, sizes[1])});
  }
  return m;
}

std::vector<AddedToken> read_added_tokens(JsonReader& r) {
  std::vector<AddedToken> tokens;
  if (r.peek() == JsonReader::Kind::kNull) {
    r.skip_value();
    return tokens;
  }
  if (r.peek() != JsonReader::Kind::kArray) r.fail("added_tokens must be an array");
  std::string key;
  r.begin_array();
  while (r.next_element()) {
    if (r.peek() != JsonReader::Kind::kObject) r.fail("added_tokens: expected an object");
    AddedToken t;
    bool has_id = false, has_content = false;
    r.begin_object();
    while (r.next_member(key)) {
      if (key == "id") {
        t.id = read_int32(r, "added_tokens: id");
        has_id = true;
      } else if (key == "content") {
        if (r.peek() != JsonReader::Kind::kString) r.fail("added_tokens: content must be a string");
        r.read_string(t.content);
        has_content = true;
      } else if (key == "single_word") {
        t.single_word = r.read_bool();
      } else if (key == "lstrip") {
        t.lstrip = r.read_bool();
      } else if (key == "rstrip") {
        t.rstrip = r.read_bool();
      } else if (key == "normalized") {
        t.normalized = r.read_bool();
      } else if (key == "special") {
        t.special = r.read_bool();
      } else {
        r.skip_value();
      }
    }
    if (!has_id || !has_content) r.fail("added_tokens: a token without id or content");
    tokens.push_back(std::move(t));
  }
  return tokens;
}

}  // namespace rllm::tok
