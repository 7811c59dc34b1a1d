// Byte-pair encoding by merge rank (HF `tokenizers` BPE model): initial symbols are the
// word's characters (or <0xNN> byte-fallback tokens), then the lowest-ranked adjacent
// pair is merged until no pair has a rank. Words are cached.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/components.h"
#include "engine/tokenizer/string_map.h"
#include "engine/tokenizer/token_table.h"

namespace rllm::tok {

struct BpeConfig {
  bool byte_fallback = false;
  bool fuse_unk = false;
  bool ignore_merges = false;  // a word that is itself in the vocabulary is one token
  int32_t unk_id = -1;
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
};

class BpeModel final : public Model {
 public:
  // `merges` are (left, right) token strings in rank order; a merge whose parts or
  // result are not in the vocabulary is an error, as in HF.
  static Result<std::unique_ptr<BpeModel>> create(TokenTable vocab, const MergeList& merges, BpeConfig config);

  void tokenize(std::string_view word, std::vector<int32_t>& out) const override;
  int32_t vocab_size() const override { return static_cast<int32_t>(vocab_.id_count()); }
  const std::string& id_to_token(int32_t id) const override;
  int32_t token_to_id(std::string_view token) const override;

 private:
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;
  int32_t char_id(std::string_view ch) const;

  TokenTable vocab_;
  MergeTable merges_;
  BpeConfig config_;
  std::vector<int32_t> byte_fallback_ids_;  // <0xNN> ids, -1 where absent
  std::vector<int32_t> small_char_ids_;     // id of code points < 512 (the byte-level alphabet)

  static constexpr size_t kCacheCapacity = 10000;
  static constexpr size_t kMaxCachedWord = 256;
  mutable std::mutex cache_mutex_;
  mutable StringMap<std::vector<int32_t>> cache_;
};

}  // namespace rllm::tok
