#include "engine/tokenizer/added_vocabulary.h"

#include <algorithm>

#include "engine/tokenizer/components.h"
#include "engine/tokenizer/unicode.h"
#include "engine/tokenizer/utf8.h"

namespace rllm::tok {

void AddedVocabulary::Trie::insert(std::string_view key, int32_t token) {
  if (key.empty()) return;
  first_byte[static_cast<unsigned char>(key[0])] = true;
  int32_t n = 0;
  for (char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    auto& next = nodes[n].next;
    auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(c, int32_t{-1}));
    if (it != next.end() && it->first == c) {
      n = it->second;
    } else {
      const auto child = static_cast<int32_t>(nodes.size());
      next.insert(it, {c, child});
      nodes.emplace_back();
      n = child;
    }
  }
  // The first token registered with some content wins, like HF's map from content.
  if (nodes[n].token < 0) nodes[n].token = token;
}

int32_t AddedVocabulary::Trie::longest(std::string_view text, size_t pos, size_t& len) const {
  int32_t best = -1;
  int32_t n = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const auto& next = nodes[n].next;
    auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(c, int32_t{-1}));
    if (it == next.end() || it->first != c) break;
    n = it->second;
    if (nodes[n].token >= 0) {
      best = nodes[n].token;
      len = i + 1 - pos;
    }
  }
  return best;
}

void AddedVocabulary::add(AddedToken token) {
  by_id_[token.id] = tokens_.size();
  by_content_.emplace(token.content, token.id);
  tokens_.push_back(std::move(token));
}

void AddedVocabulary::build(const Normalizer* normalizer) {
  raw_ = Trie{};
  normalized_ = Trie{};
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i];
    if (!t.in_text) continue;
    if (t.normalized && normalizer) {
      std::string content = t.content;
      normalizer->normalize(content);
      normalized_.insert(content, static_cast<int32_t>(i));
    } else if (t.normalized) {
      normalized_.insert(t.content, static_cast<int32_t>(i));
    } else {
      raw_.insert(t.content, static_cast<int32_t>(i));
    }
  }
}

void AddedVocabulary::split(std::string_view text, bool normalized_set,
                            std::vector<Span>& out) const {
  const Trie& trie = normalized_set ? normalized_ : raw_;
  size_t done = 0;  // text before this offset has been emitted
  size_t pos = 0;
  while (pos < text.size()) {
    if (!trie.first_byte[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    size_t len = 0;
    const int32_t ti = trie.longest(text, pos, len);
    if (ti < 0) {
      ++pos;
      continue;
    }
    const AddedToken& t = tokens_[static_cast<size_t>(ti)];
    size_t start = pos, stop = pos + len;
    if (t.single_word && !(is_word_boundary_before(text, start) && is_word_boundary_after(text, stop))) {
      ++pos;
      continue;
    }
    if (t.lstrip) start = std::max(done, skip_whitespace_back(text, start));
    if (t.rstrip) stop = skip_whitespace_forward(text, stop);
    if (start > done) out.push_back({-1, done, start});
    out.push_back({t.id, start, stop});
    done = pos = stop;
  }
  if (done < text.size()) out.push_back({-1, done, text.size()});
}

const AddedToken* AddedVocabulary::by_id(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

int32_t AddedVocabulary::id_of(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? -1 : it->second;
}

bool AddedVocabulary::is_special(int32_t id) const {
  const AddedToken* t = by_id(id);
  return t && t->special;
}

int32_t AddedVocabulary::max_id() const {
  int32_t m = -1;
  for (const auto& t : tokens_) m = std::max(m, t.id);
  return m;
}

}  // namespace rllm::tok
