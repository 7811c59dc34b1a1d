// Incremental detokenization by diffing window decodes: decode(ids[prefix..read]) is
// text already emitted, decode(ids[prefix..]) extends it; the difference is emitted once
// it does not end in U+FFFD (an incomplete UTF-8 sequence from byte-level or
// byte-fallback tokens). Keeping the previous tokens in the window makes leading-space
// rules (Strip, Metaspace) act on them rather than on the new token. A trailing run of
// <0xNN> tokens is held back until it ends: HF's ByteFallback turns a whole run into
// U+FFFDs when any byte of it is invalid, so later bytes can change earlier text.
#include "engine/tokenizer/tokenizer.h"

namespace rllm {

namespace {

bool ends_incomplete(const std::string& s) { return s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0; }

bool is_byte_token(const std::string& t) { return t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>'; }

}  // namespace

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_(skip_special_tokens) {}

std::string StreamDecoder::push(int32_t id) {
  ids_.push_back(id);
  // A skipped special token adds no text and does not end a byte run either.
  if (is_byte_token(tokenizer_.id_to_token(id)) || (skip_special_ && tokenizer_.is_special(id))) return {};
  const std::span<const int32_t> all(ids_);
  const std::string prefix = tokenizer_.decode(all.subspan(prefix_offset_, read_offset_ - prefix_offset_), skip_special_);
  const std::string text = tokenizer_.decode(all.subspan(prefix_offset_), skip_special_);
  if (text.size() <= prefix.size() || ends_incomplete(text) || text.compare(0, prefix.size(), prefix) != 0) return {};
  prefix_offset_ = read_offset_;
  read_offset_ = ids_.size();
  return text.substr(prefix.size());
}

std::string StreamDecoder::flush() {
  const std::span<const int32_t> all(ids_);
  const std::string prefix = tokenizer_.decode(all.subspan(prefix_offset_, read_offset_ - prefix_offset_), skip_special_);
  const std::string text = tokenizer_.decode(all.subspan(prefix_offset_), skip_special_);
  prefix_offset_ = read_offset_ = ids_.size();
  if (text.size() <= prefix.size() || text.compare(0, prefix.size(), prefix) != 0) return {};
  return text.substr(prefix.size());
}

}  // namespace rllm
