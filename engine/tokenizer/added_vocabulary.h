// Added tokens (special and not) are cut out of the text before normalization and
// pre-tokenization, by leftmost-longest match, as HF `AddedVocabulary` does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rllm::tok {

class Normalizer;

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;  // matched against normalized text rather than raw text
  bool special = false;
  // Cut out of input text. SentencePiece control pieces (<s>, </s>) are not: the
  // sentencepiece library encodes "<s>" in text as ordinary characters.
  bool in_text = true;
};

class AddedVocabulary {
 public:
  // A run of the input: an added token (id >= 0) or plain text (id == -1).
  struct Span {
    int32_t id;
    size_t begin, end;
  };

  void add(AddedToken token);
  // Builds the matchers; tokens with normalized=true are matched in their normalized
  // form, so the normalizer (may be null) must be known.
  void build(const Normalizer* normalizer);

  // Splits `text` into spans using the raw (normalized=false) or the normalized set.
  void split(std::string_view text, bool normalized_set, std::vector<Span>& out) const;

  const AddedToken* by_id(int32_t id) const;
  int32_t id_of(std::string_view content) const;  // -1 if absent
  bool is_special(int32_t id) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  int32_t max_id() const;

 private:
  struct Trie {
    struct Node {
      std::vector<std::pair<unsigned char, int32_t>> next;  // sorted by byte
      int32_t token = -1;                                    // index into tokens_
    };
    std::vector<Node> nodes{Node{}};
    bool first_byte[256] = {};
    void insert(std::string_view key, int32_t token);
    // Longest key starting at text[pos]: returns its token index and sets `len`.
    int32_t longest(std::string_view text, size_t pos, size_t& len) const;
  };

  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> by_id_;
  std::unordered_map<std::string, int32_t> by_content_;
  Trie raw_, normalized_;
};

}  // namespace rllm::tok
