#include "engine/tokenizer/bpe.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <queue>

#include "engine/tokenizer/factories.h"
#include "engine/tokenizer/utf8.h"

namespace rllm::tok {

Result<std::unique_ptr<BpeModel>> BpeModel::create(TokenTable vocab, const MergeList& merges, BpeConfig config) {
  auto m = std::unique_ptr<BpeModel>(new BpeModel());
  m->vocab_ = std::move(vocab);
  const std::string& prefix = config.continuing_subword_prefix;
  const size_t n = merges.entries.size();
  m->merges_.reserve(n);
  // Chunks of merges: their left, right and merged tokens looked up together (the
  // lookups overlap), then inserted with the pair slots prefetched.
  constexpr size_t kChunk = 4096, kAhead = 16;
  std::vector<std::string_view> tokens;
  std::vector<int32_t> ids(3 * kChunk);
  std::vector<std::string> joined(prefix.empty() ? 0 : kChunk);
  for (size_t c0 = 0; c0 < n; c0 += kChunk) {
    const size_t c1 = std::min(n, c0 + kChunk);
    tokens.clear();
    for (size_t r = c0; r < c1; ++r) {
      const MergeList::Entry& e = merges.entries[r];
      const std::string_view b = merges.right(e);
      tokens.push_back(merges.left(e));
      tokens.push_back(b);
      if (!prefix.empty() && b.starts_with(prefix)) {
        std::string& j = joined[r - c0];
        j.assign(merges.left(e));
        j.append(b.substr(prefix.size()));
        tokens.push_back(j);
      } else {
        tokens.push_back(merges.joined(e));
      }
    }
    m->vocab_.find_many(tokens, ids);
    const size_t count = c1 - c0;
    for (size_t k = 0; k < count; ++k) {
      if (k + kAhead < count) m->merges_.prefetch(ids[3 * (k + kAhead)], ids[3 * (k + kAhead) + 1]);
      const int32_t ia = ids[3 * k], ib = ids[3 * k + 1], ij = ids[3 * k + 2];
      if (ia < 0 || ib < 0 || ij < 0) {
        return Status::error("tokenizer: merge \"" + std::string(tokens[3 * k]) + " " + std::string(tokens[3 * k + 1]) +
                             "\" (rank " + std::to_string(c0 + k) + ") uses a token missing from the vocabulary");
      }
      m->merges_.insert_or_assign(ia, ib, MergeTable::Merge{static_cast<int32_t>(c0 + k), ij});
    }
  }
  m->byte_fallback_ids_.assign(256, -1);
  if (config.byte_fallback) {
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      m->byte_fallback_ids_[static_cast<size_t>(b)] = m->token_to_id(name);
    }
  }
  m->small_char_ids_.assign(512, -1);
  for (uint32_t cp = 0; cp < 512; ++cp) {
    std::string s;
    utf8_append(s, cp);
    m->small_char_ids_[cp] = m->token_to_id(s);
  }
  m->config_ = std::move(config);
  return m;
}

const std::string& BpeModel::id_to_token(int32_t id) const { return vocab_.token(id); }

int32_t BpeModel::token_to_id(std::string_view token) const { return vocab_.find(token); }

int32_t BpeModel::char_id(std::string_view ch) const {
  size_t i = 0;
  const uint32_t cp = utf8_next(ch, i);
  if (cp < 512 && i == ch.size()) return small_char_ids_[cp];
  return token_to_id(ch);
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (config_.ignore_merges) {
    const int32_t id = token_to_id(word);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  if (word.size() > kMaxCachedWord) {
    merge_word(word, out);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(word);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t mark = out.size();
  merge_word(word, out);
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() < kCacheCapacity) cache_.emplace(std::string(word), std::vector<int32_t>(out.begin() + static_cast<ptrdiff_t>(mark), out.end()));
}

void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  struct Sym {
    int32_t id;
    int32_t prev, next;
    bool alive;
  };
  std::vector<Sym> syms;
  syms.reserve(word.size());
  auto add = [&](int32_t id) {
    const auto n = static_cast<int32_t>(syms.size());
    syms.push_back({id, n - 1, n + 1, true});
  };

  // Initial symbols (HF BPE::merge_word): characters, else their bytes as <0xNN>,
  // else unk (consecutive unknowns fused when fuse_unk).
  bool pending_unk = false;
  const std::string& prefix = config_.continuing_subword_prefix;
  const std::string& suffix = config_.end_of_word_suffix;
  std::string affixed;
  for (size_t i = 0; i < word.size();) {
    const size_t end = std::min(word.size(), i + utf8_len(static_cast<unsigned char>(word[i])));
    std::string_view ch = word.substr(i, end - i);
    int32_t id;
    if (prefix.empty() && suffix.empty()) {
      id = char_id(ch);
    } else {
      affixed.assign(i > 0 ? prefix : std::string());
      affixed += ch;
      if (end == word.size()) affixed += suffix;
      ch = affixed;
      id = token_to_id(ch);
    }
    i = end;
    if (id >= 0) {
      if (pending_unk) add(config_.unk_id);
      pending_unk = false;
      add(id);
      continue;
    }
    if (config_.byte_fallback) {
      bool all = true;
      for (char c : ch) all = all && byte_fallback_ids_[static_cast<unsigned char>(c)] >= 0;
      if (all) {
        if (pending_unk) add(config_.unk_id);
        pending_unk = false;
        for (char c : ch) add(byte_fallback_ids_[static_cast<unsigned char>(c)]);
        continue;
      }
    }
    if (config_.unk_id >= 0) {
      if (pending_unk && !config_.fuse_unk) add(config_.unk_id);
      pending_unk = true;
    }
  }
  if (pending_unk) add(config_.unk_id);
  if (syms.empty()) return;
  syms.back().next = -1;

  // Lowest rank first, then leftmost (HF's Merge ordering).
  struct Cand {
    int32_t rank, pos, new_id;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> queue;
  auto consider = [&](int32_t left) {
    const int32_t right = syms[static_cast<size_t>(left)].next;
    if (right < 0) return;
    const MergeTable::Merge* m = merges_.find(syms[static_cast<size_t>(left)].id, syms[static_cast<size_t>(right)].id);
    if (m) queue.push({m->rank, left, m->new_id});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) consider(i);
  while (!queue.empty()) {
    const Cand top = queue.top();
    queue.pop();
    Sym& left = syms[static_cast<size_t>(top.pos)];
    if (!left.alive || left.next < 0) continue;
    Sym& right = syms[static_cast<size_t>(left.next)];
    const MergeTable::Merge* m = merges_.find(left.id, right.id);
    // Stale entry: one side has merged since this candidate was queued.
    if (!m || m->new_id != top.new_id) continue;
    left.id = top.new_id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) syms[static_cast<size_t>(right.next)].prev = top.pos;
    if (left.prev >= 0) consider(left.prev);
    consider(top.pos);
  }
  for (int32_t i = 0; i >= 0; i = syms[static_cast<size_t>(i)].next) out.push_back(syms[static_cast<size_t>(i)].id);
}

Result<std::unique_ptr<Model>> make_bpe_model(const nlohmann::json& j, const VocabList& vocab_list,
                                              const MergeList& merges) {
  if (j.contains("dropout") && !j["dropout"].is_null() && j["dropout"].get<double>() != 0.0) {
    return Status::error("tokenizer.json: BPE dropout is a training-time option and is not supported");
  }
  RLLM_ASSIGN_OR_RETURN(TokenTable vocab, TokenTable::create(vocab_list, "tokenizer.json: model.vocab"));
  BpeConfig config;
  config.byte_fallback = j.value("byte_fallback", false);
  config.fuse_unk = j.value("fuse_unk", false);
  config.ignore_merges = j.value("ignore_merges", false);
  auto str_or_empty = [&](const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
  };
  config.continuing_subword_prefix = str_or_empty("continuing_subword_prefix");
  config.end_of_word_suffix = str_or_empty("end_of_word_suffix");
  const std::string unk = str_or_empty("unk_token");
  if (!unk.empty()) {
    config.unk_id = vocab.find(unk);
    if (config.unk_id < 0) return Status::error("tokenizer.json: unk_token \"" + unk + "\" is not in the vocabulary");
  }
  RLLM_ASSIGN_OR_RETURN(auto model, BpeModel::create(std::move(vocab), merges, std::move(config)));
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace rllm::tok
