// The encode / decode pipeline over the stages in components.h.
#include "engine/tokenizer/tokenizer.h"

#include "engine/tokenizer/components.h"
#include "engine/tokenizer/utf8.h"

namespace rllm {

Tokenizer::Tokenizer(std::unique_ptr<tok::Parts> parts) : parts_(std::move(parts)) {}
Tokenizer::~Tokenizer() = default;

Result<std::vector<int32_t>> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  const size_t bad = tok::utf8_invalid_at(text);
  if (bad != std::string_view::npos) {
    return Status::error("tokenizer: input is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  }
  const tok::Parts& p = *parts_;
  std::vector<int32_t> ids;
  if (add_special_tokens) ids = p.post.prefix;

  std::vector<tok::AddedVocabulary::Span> raw, normalized;
  std::vector<tok::PreToken> pieces;
  p.added.split(text, false, raw);
  for (const auto& span : raw) {
    if (span.id >= 0) {
      ids.push_back(span.id);
      continue;
    }
    std::string piece(text.substr(span.begin, span.end - span.begin));
    if (p.normalizer) p.normalizer->normalize(piece);
    normalized.clear();
    p.added.split(piece, true, normalized);
    for (const auto& sub : normalized) {
      if (sub.id >= 0) {
        ids.push_back(sub.id);
        continue;
      }
      pieces.clear();
      pieces.push_back({piece.substr(sub.begin, sub.end - sub.begin), span.begin == 0 && sub.begin == 0});
      if (p.pre_tokenizer) p.pre_tokenizer->split(pieces);
      for (const tok::PreToken& w : pieces) p.model->tokenize(w.text, ids);
    }
  }
  if (add_special_tokens) ids.insert(ids.end(), p.post.suffix.begin(), p.post.suffix.end());
  return ids;
}

Result<std::vector<int32_t>> Tokenizer::encode_truncated(std::string_view text, size_t max_length,
                                                        bool& truncated) const {
  RLLM_ASSIGN_OR_RETURN(std::vector<int32_t> plain, encode(text, false));
  const tok::PostTemplate& post = parts_->post;
  const size_t specials = post.prefix.size() + post.suffix.size();
  const size_t room = max_length > specials ? max_length - specials : 0;
  truncated = plain.size() > room;
  if (truncated) plain.resize(room);
  std::vector<int32_t> ids = post.prefix;
  ids.insert(ids.end(), plain.begin(), plain.end());
  ids.insert(ids.end(), post.suffix.begin(), post.suffix.end());
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  const tok::Parts& p = *parts_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (const tok::AddedToken* t = p.added.by_id(id)) {
      if (!(skip_special_tokens && t->special)) tokens.push_back(t->content);
      continue;
    }
    if (id < 0 || id >= p.model->vocab_size()) continue;
    tokens.push_back(p.model->id_to_token(id));
  }
  if (!p.decoder) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  p.decoder->decode_chain(tokens);
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

int32_t Tokenizer::vocab_size() const {
  return std::max(parts_->model->vocab_size(), parts_->added.max_id() + 1);
}
int32_t Tokenizer::bos_id() const { return parts_->bos_id; }
std::vector<int32_t> Tokenizer::eos_ids() const { return parts_->eos_ids; }
bool Tokenizer::is_special(int32_t id) const { return parts_->added.is_special(id); }
const std::string& Tokenizer::chat_template() const { return parts_->chat_template; }
int64_t Tokenizer::truncation_max_length() const { return parts_->truncation_max_length; }
int32_t Tokenizer::pad_id() const { return parts_->pad_id; }

const std::string& Tokenizer::id_to_token(int32_t id) const {
  if (const tok::AddedToken* t = parts_->added.by_id(id)) return t->content;
  return parts_->model->id_to_token(id);
}

int32_t Tokenizer::token_to_id(std::string_view token) const {
  const int32_t added = parts_->added.id_of(token);
  return added >= 0 ? added : parts_->model->token_to_id(token);
}

}  // namespace rllm
