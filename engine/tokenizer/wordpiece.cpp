// WordPiece (HF `tokenizers` WordPiece model and decoder): each pre-tokenized word is
// cut greedily into the longest vocabulary entries from the left, pieces after the
// first carrying the continuing-subword prefix ("##"). A word with a part that no
// entry matches, or longer than max_input_chars_per_word characters, is one [UNK].
#include <nlohmann/json.hpp>

#include "engine/tokenizer/factories.h"
#include "engine/tokenizer/token_table.h"
#include "engine/tokenizer/utf8.h"

namespace rllm::tok {

namespace {

using nlohmann::json;

class WordPieceModel final : public Model {
 public:
  WordPieceModel(TokenTable vocab, int32_t unk_id, std::string prefix, size_t max_chars)
      : vocab_(std::move(vocab)),
        unk_id_(unk_id),
        prefix_(std::move(prefix)),
        max_chars_(max_chars) {}

  void tokenize(std::string_view word, std::vector<int32_t>& out) const override {
    size_t chars = 0;
    for (size_t i = 0; i < word.size(); i += utf8_len(static_cast<unsigned char>(word[i]))) ++chars;
    if (chars > max_chars_) {
      out.push_back(unk_id_);
      return;
    }
    const size_t mark = out.size();
    std::string probe;
    for (size_t start = 0; start < word.size();) {
      size_t end = word.size();
      int32_t found = -1;
      while (start < end) {
        probe.assign(start > 0 ? prefix_ : std::string());
        probe.append(word.substr(start, end - start));
        found = vocab_.find(probe);
        if (found >= 0) break;
        // Drop the last character of the candidate.
        do --end;
        while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
      }
      if (found < 0) {
        out.resize(mark);
        out.push_back(unk_id_);
        return;
      }
      out.push_back(found);
      start = end;
    }
  }

  int32_t vocab_size() const override { return static_cast<int32_t>(vocab_.id_count()); }
  const std::string& id_to_token(int32_t id) const override { return vocab_.token(id); }
  int32_t token_to_id(std::string_view token) const override { return vocab_.find(token); }

 private:
  TokenTable vocab_;
  int32_t unk_id_;
  std::string prefix_;
  size_t max_chars_;
};

// HF wordpiece.rs cleanup: undoes the spaces BERT's tokenization put before punctuation
// and inside contractions.
std::string cleanup(std::string s) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."},    {" ?", "?"},        {" !", "!"},          {" ,", ","},    {" ' ", "'"},   {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
  };
  for (const auto& [from, to] : kRules) {
    const std::string f(from), t(to);
    std::string out;
    size_t done = 0;
    for (size_t at = s.find(f); at != std::string::npos; at = s.find(f, done)) {
      out.append(s, done, at - done);
      out += t;
      done = at + f.size();
    }
    out.append(s, done);
    s = std::move(out);
  }
  return s;
}

std::string spaced(const std::string& t) {
  std::string s;
  s.reserve(t.size() + 1);
  s += ' ';
  s += t;
  return s;
}

// Tokens after the first lose the prefix, or are preceded by a space when they do
// not carry it.
class WordPieceDecoder final : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        if (t.compare(0, prefix_.size(), prefix_) == 0) t.erase(0, prefix_.size());
        else t = spaced(t);
      }
      if (cleanup_) t = cleanup(std::move(t));
    }
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

}  // namespace

Result<std::unique_ptr<Model>> make_wordpiece_model(const json& j, const VocabList& vocab_list) {
  RLLM_ASSIGN_OR_RETURN(TokenTable vocab, TokenTable::create(vocab_list, "tokenizer.json: WordPiece vocabulary"));
  const std::string unk = j.value("unk_token", "[UNK]");
  const int32_t unk_id = vocab.find(unk);
  if (unk_id < 0) return Status::error("tokenizer.json: WordPiece unk_token \"" + unk + "\" is not in the vocabulary");
  const int64_t max_chars = j.value("max_input_chars_per_word", int64_t{100});
  if (max_chars < 0) return Status::error("tokenizer.json: WordPiece max_input_chars_per_word must not be negative");
  return std::unique_ptr<Model>(new WordPieceModel(std::move(vocab), unk_id,
                                                   j.value("continuing_subword_prefix", "##"),
                                                   static_cast<size_t>(max_chars)));
}

std::unique_ptr<Decoder> make_wordpiece_decoder(const json& j) {
  return std::unique_ptr<Decoder>(new WordPieceDecoder(j.value("prefix", "##"), j.value("cleanup", true)));
}

}  // namespace rllm::tok
