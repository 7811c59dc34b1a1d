// SentencePiece BPE encoding (bpe_model.cc).
#include <queue>

#include "engine/tokenizer/sentencepiece_spec.h"
#include "engine/tokenizer/utf8.h"

namespace rllm::tok::sp {

namespace {

// bpe_model.cc: start from characters, repeatedly merge the adjacent pair whose
// concatenation is a piece with the highest score (leftmost on ties). Pieces of type
// UNUSED may be formed while merging but are split back into what formed them.
class Bpe final : public Vocab {
 public:
  explicit Bpe(const Spec& s) : Vocab(s) {}

  void tokenize(std::string_view text, std::vector<int32_t>& out) const override {
    struct Sym {
      size_t begin, len;
      int32_t prev, next;
    };
    std::vector<Sym> syms;
    for (size_t i = 0; i < text.size();) {
      const size_t n = std::min(utf8_len(static_cast<unsigned char>(text[i])), text.size() - i);
      const auto k = static_cast<int32_t>(syms.size());
      syms.push_back({i, n, k - 1, k + 1});
      i += n;
    }
    if (syms.empty()) return;
    syms.back().next = -1;

    struct Pair {
      float score;
      int32_t left, right;
      size_t len;
      bool operator<(const Pair& o) const { return score != o.score ? score < o.score : left > o.left; }
    };
    std::priority_queue<Pair> agenda;
    StringMap<std::pair<std::string, std::string>> rev_merge;
    auto piece_of = [&](const Sym& s) { return text.substr(s.begin, s.len); };
    auto maybe_add = [&](int32_t l, int32_t r) {
      if (l < 0 || r < 0) return;
      const std::string_view joined = text.substr(syms[static_cast<size_t>(l)].begin,
                                                  syms[static_cast<size_t>(l)].len + syms[static_cast<size_t>(r)].len);
      auto it = pieces_.find(joined);
      if (it == pieces_.end()) return;
      agenda.push({scores_[static_cast<size_t>(it->second)], l, r, joined.size()});
      if (types_[static_cast<size_t>(it->second)] == kUnused) {
        rev_merge.emplace(std::string(joined), std::make_pair(std::string(piece_of(syms[static_cast<size_t>(l)])),
                                                              std::string(piece_of(syms[static_cast<size_t>(r)]))));
      }
    };
    for (int32_t i = 1; i < static_cast<int32_t>(syms.size()); ++i) maybe_add(i - 1, i);
    while (!agenda.empty()) {
      const Pair top = agenda.top();
      agenda.pop();
      Sym& l = syms[static_cast<size_t>(top.left)];
      Sym& r = syms[static_cast<size_t>(top.right)];
      // Stale: a side was merged away or grew since this pair was queued.
      if (l.len == 0 || r.len == 0 || l.len + r.len != top.len) continue;
      l.len += r.len;
      l.next = r.next;
      if (r.next >= 0) syms[static_cast<size_t>(r.next)].prev = top.left;
      r.len = 0;
      maybe_add(l.prev, top.left);
      maybe_add(top.left, l.next);
    }
    for (int32_t i = 0; i >= 0; i = syms[static_cast<size_t>(i)].next) emit(piece_of(syms[static_cast<size_t>(i)]), rev_merge, out);
  }

 private:
  void emit(std::string_view piece, const StringMap<std::pair<std::string, std::string>>& rev_merge,
            std::vector<int32_t>& out) const {
    if (auto it = rev_merge.find(piece); it != rev_merge.end()) {
      emit(it->second.first, rev_merge, out);
      emit(it->second.second, rev_merge, out);
      return;
    }
    emit_piece(piece, out);
  }
};

}  // namespace

std::unique_ptr<Model> make_bpe(const Spec& s) { return std::make_unique<Bpe>(s); }

}  // namespace rllm::tok::sp
