// SentencePiece unigram encoding (unigram_model.cc, EncodeOptimized): Viterbi over
// every piece that starts at each character, scoring user-defined pieces so that they
// always win, and an unknown character as min_score - 10. Adjacent unknown characters
// come out as one <unk> (or as their bytes under byte fallback).
#include <cfloat>

#include "engine/tokenizer/sentencepiece_spec.h"
#include "engine/tokenizer/utf8.h"

namespace rllm::tok::sp {

namespace {

constexpr float kUnkPenalty = 10.0f;

class Unigram final : public Vocab {
 public:
  explicit Unigram(const Spec& s) : Vocab(s) {
    for (const Piece& p : s.pieces) {
      if (p.type == kNormal) {
        min_score_ = std::min(min_score_, p.score);
        max_score_ = std::max(max_score_, p.score);
      }
      if (p.type == kNormal || p.type == kUserDefined || p.type == kUnused) max_len_ = std::max(max_len_, p.text.size());
    }
  }

  void tokenize(std::string_view text, std::vector<int32_t>& out) const override {
    struct Best {
      int32_t id = -1;
      float score = 0;
      int64_t starts_at = -1;
    };
    const size_t n = text.size();
    std::vector<Best> best(n + 1);
    const float unk_score = min_score_ - kUnkPenalty;
    for (size_t start = 0; start < n;) {
      const float here = best[start].score;
      const size_t mblen = std::min(utf8_len(static_cast<unsigned char>(text[start])), n - start);
      bool has_single = false;
      // Prefixes in increasing length, as the trie walk visits them.
      for (size_t end = start + 1; end <= n && end - start <= max_len_; ++end) {
        auto it = pieces_.find(text.substr(start, end - start));
        if (it == pieces_.end()) continue;
        const auto id = static_cast<size_t>(it->second);
        if (types_[id] == kUnused) continue;
        const float len = static_cast<float>(end - start);
        const float score = types_[id] == kUserDefined ? len * max_score_ - 0.1f : scores_[id];
        const float candidate = score + here;
        Best& target = best[end];
        if (target.starts_at == -1 || candidate > target.score) target = {it->second, candidate, static_cast<int64_t>(start)};
        if (end - start == mblen) has_single = true;
      }
      if (!has_single) {
        Best& target = best[start + mblen];
        const float candidate = unk_score + here;
        if (target.starts_at == -1 || candidate > target.score) target = {unk_id_, candidate, static_cast<int64_t>(start)};
      }
      start += mblen;
    }
    std::vector<std::pair<size_t, size_t>> spans;  // backwards
    bool prev_unk = false;
    for (size_t end = n; end > 0;) {
      const size_t begin = static_cast<size_t>(best[end].starts_at);
      const bool unk = best[end].id == unk_id_;
      if (unk && prev_unk) spans.back().first = begin;
      else spans.emplace_back(begin, end);
      prev_unk = unk;
      end = begin;
    }
    for (auto it = spans.rbegin(); it != spans.rend(); ++it) emit_piece(text.substr(it->first, it->second - it->first), out);
  }

 private:
  float min_score_ = FLT_MAX;
  float max_score_ = FLT_MIN;
  size_t max_len_ = 1;
};

}  // namespace

std::unique_ptr<Model> make_unigram(const Spec& s) { return std::make_unique<Unigram>(s); }

}  // namespace rllm::tok::sp
