// Flat (open addressing) tables behind the tokenizer.json models: token string <-> id
// and merge pair -> (rank, merged id). Gemma-3's 262k tokens and 514k merges in
// std::unordered_map were ~780k node allocations at load and a pointer chase per probe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/string_map.h"
#include "formats/status.h"

namespace rllm::tok {

// model.vocab as read: token strings back to back in `arena`, in file order.
struct VocabList {
  struct Entry {
    size_t offset;
    uint32_t size;
    int32_t id;
  };
  std::string arena;
  std::vector<Entry> entries;
  std::string_view token(const Entry& e) const { return std::string_view(arena).substr(e.offset, e.size); }
};

// model.merges as read: each merge's left and right token back to back in `arena`, so
// their concatenation (the merged token when there is no continuing-subword prefix) is
// a view too.
struct MergeList {
  struct Entry {
    size_t offset;
    uint32_t left_size, right_size;
  };
  std::string arena;
  std::vector<Entry> entries;
  std::string_view left(const Entry& e) const { return std::string_view(arena).substr(e.offset, e.left_size); }
  std::string_view right(const Entry& e) const {
    return std::string_view(arena).substr(e.offset + e.left_size, e.right_size);
  }
  std::string_view joined(const Entry& e) const {
    return std::string_view(arena).substr(e.offset, e.left_size + e.right_size);
  }
};

// Token string <-> id. A slot holds an id and the top bits of its string's hash; the
// string itself is id_to_token(id), so a probe reads the slot and one string.
class TokenTable {
 public:
  // Ids must be non-negative and not far beyond the number of tokens (a corrupt id
  // must not size the id table); `what` names the vocabulary in messages. A repeated
  // token keeps its last id, as a JSON object with a repeated key does.
  static Result<TokenTable> create(const VocabList& vocab, const std::string& what);

  int32_t find(std::string_view token) const;  // -1 if absent
  // ids[i] = find(tokens[i]). A lookup in a large vocabulary is two dependent cache
  // misses (slot, then its string); issuing them ahead overlaps them. Gemma-3's 514k
  // merges look up 1.5M tokens at load.
  void find_many(std::span<const std::string_view> tokens, std::span<int32_t> ids) const;
  const std::string& token(int32_t id) const;  // "" for an id with no token
  size_t id_count() const { return id_to_token_.size(); }

 private:
  struct Slot {
    uint32_t tag;
    int32_t id;  // -1: empty
  };
  static constexpr size_t kAhead = 16;  // lookups issued ahead (prefetch distance)
  static uint64_t hash_of(std::string_view s);
  const Slot& home_slot(uint64_t hash) const { return slots_[static_cast<size_t>(hash) & (slots_.size() - 1)]; }
  int32_t find(std::string_view token, uint64_t hash) const;
  void insert(std::string_view token, int32_t id, uint64_t hash);

  std::vector<std::string> id_to_token_;
  std::vector<Slot> slots_;  // size a power of two, at most half full
  // Tokens that share an id with an earlier token: rare, and id_to_token holds one
  // string per id.
  StringMap<int32_t> shared_id_;
};

// (left id, right id) -> (rank, merged id).
class MergeTable {
 public:
  struct Merge {
    int32_t rank;
    int32_t new_id;
  };
  void reserve(size_t n);
  // A repeated pair keeps its last rank, as HF builds its merge map.
  void insert_or_assign(int32_t left, int32_t right, Merge m);
  // Brings the pair's slot into cache ahead of an insert (within the reserved size).
  void prefetch(int32_t left, int32_t right) const { __builtin_prefetch(&slots_[slot_of(pair_key(left, right))]); }
  const Merge* find(int32_t left, int32_t right) const {
    const uint64_t key = pair_key(left, right);
    for (size_t i = slot_of(key);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.merge;
      if (s.key == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // ids are non-negative
  struct Slot {
    uint64_t key;
    Merge merge;
  };
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  size_t slot_of(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_); }
  void rehash(int bits);

  static constexpr int kMinBits = 4;
  std::vector<Slot> slots_ = std::vector<Slot>(size_t{1} << kMinBits, Slot{kEmpty, {}});
  size_t mask_ = (size_t{1} << kMinBits) - 1;
  int shift_ = 64 - kMinBits;
  size_t count_ = 0;
};

}  // namespace rllm::tok
