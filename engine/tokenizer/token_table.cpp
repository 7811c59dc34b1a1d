#include "engine/tokenizer/token_table.h"

#include <algorithm>
#include <bit>
#include <functional>

namespace rllm::tok {

namespace {

// Slots for `n` entries at most half full.
int bits_for(size_t n) { return std::max(4, static_cast<int>(std::bit_width(std::max<size_t>(n, 1) * 2 - 1))); }

}  // namespace

Result<TokenTable> TokenTable::create(const VocabList& vocab, const std::string& what) {
  const size_t n = vocab.entries.size();
  int64_t max_id = -1;
  for (const auto& e : vocab.entries) {
    if (e.id < 0) {
      return Status::error(what + ": negative id " + std::to_string(e.id) + " for token \"" +
                           std::string(vocab.token(e)) + "\"");
    }
    max_id = std::max<int64_t>(max_id, e.id);
  }
  // Real vocabularies are dense; this bounds what a corrupt id can make us allocate.
  if (max_id >= static_cast<int64_t>(4 * n + 65536)) {
    return Status::error(what + ": id " + std::to_string(max_id) + " is far beyond the " + std::to_string(n) +
                         " tokens (ids index the vocabulary)");
  }
  TokenTable t;
  t.id_to_token_.resize(static_cast<size_t>(max_id + 1));
  t.slots_.assign(size_t{1} << bits_for(n), Slot{0, -1});
  // Hashes run kAhead entries ahead of the inserts, their slots prefetched.
  uint64_t ring[kAhead];
  for (size_t i = 0; i < n + kAhead; ++i) {
    if (i >= kAhead) {
      const auto& e = vocab.entries[i - kAhead];
      t.insert(vocab.token(e), e.id, ring[i % kAhead]);
    }
    if (i < n) {
      ring[i % kAhead] = hash_of(vocab.token(vocab.entries[i]));
      __builtin_prefetch(&t.home_slot(ring[i % kAhead]));
    }
  }
  return t;
}

uint64_t TokenTable::hash_of(std::string_view s) { return std::hash<std::string_view>{}(s); }

void TokenTable::insert(std::string_view token, int32_t id, uint64_t h) {
  const size_t mask = slots_.size() - 1;
  const auto tag = static_cast<uint32_t>(h >> 32);
  for (size_t i = static_cast<size_t>(h) & mask;; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.id == -1) break;
    if (s.id >= 0 && s.tag == tag && id_to_token_[static_cast<size_t>(s.id)] == token) {
      // A repeated token: the later id wins and the earlier id loses its string. The
      // slot becomes a tombstone (-2) that probes pass over.
      if (s.id == id) return;
      id_to_token_[static_cast<size_t>(s.id)].clear();
      s.id = -2;
      break;
    }
  }
  std::string& owner = id_to_token_[static_cast<size_t>(id)];
  if (!owner.empty() || find(token, h) >= 0) {
    shared_id_.insert_or_assign(std::string(token), id);
    return;
  }
  owner.assign(token);
  for (size_t i = static_cast<size_t>(h) & mask;; i = (i + 1) & mask) {
    if (slots_[i].id == -1) {
      slots_[i] = Slot{tag, id};
      return;
    }
  }
}

int32_t TokenTable::find(std::string_view token) const { return find(token, hash_of(token)); }

void TokenTable::find_many(std::span<const std::string_view> tokens, std::span<int32_t> ids) const {
  // Three stages kAhead apart, the oldest first so its hash is read before its ring
  // entry is reused: compare; read the slot and prefetch its string; hash and
  // prefetch the slot.
  const size_t n = tokens.size();
  uint64_t ring[2 * kAhead];
  for (size_t i = 0; i < n + 2 * kAhead; ++i) {
    if (i >= 2 * kAhead) {
      const size_t j = i - 2 * kAhead;
      ids[j] = find(tokens[j], ring[j % (2 * kAhead)]);
    }
    if (i >= kAhead && i - kAhead < n) {
      const Slot& s = home_slot(ring[(i - kAhead) % (2 * kAhead)]);
      if (s.id >= 0) __builtin_prefetch(&id_to_token_[static_cast<size_t>(s.id)]);
    }
    if (i < n) {
      ring[i % (2 * kAhead)] = hash_of(tokens[i]);
      __builtin_prefetch(&home_slot(ring[i % (2 * kAhead)]));
    }
  }
}

int32_t TokenTable::find(std::string_view token, uint64_t h) const {
  const size_t mask = slots_.size() - 1;
  const auto tag = static_cast<uint32_t>(h >> 32);
  for (size_t i = static_cast<size_t>(h) & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.id == -1) break;
    if (s.id >= 0 && s.tag == tag && id_to_token_[static_cast<size_t>(s.id)] == token) return s.id;
  }
  if (shared_id_.empty()) return -1;
  auto it = shared_id_.find(token);
  return it == shared_id_.end() ? -1 : it->second;
}

const std::string& TokenTable::token(int32_t id) const {
  static const std::string empty;
  return id >= 0 && static_cast<size_t>(id) < id_to_token_.size() ? id_to_token_[static_cast<size_t>(id)] : empty;
}

void MergeTable::reserve(size_t n) {
  const int bits = bits_for(n);
  if (bits > 64 - shift_) rehash(bits);
}

void MergeTable::rehash(int bits) {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(size_t{1} << bits, Slot{kEmpty, {}});
  mask_ = slots_.size() - 1;
  shift_ = 64 - bits;
  for (const Slot& s : old) {
    if (s.key == kEmpty) continue;
    size_t i = slot_of(s.key);
    while (slots_[i].key != kEmpty) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

void MergeTable::insert_or_assign(int32_t left, int32_t right, Merge m) {
  if ((count_ + 1) * 2 > slots_.size()) rehash(64 - shift_ + 1);
  const uint64_t key = pair_key(left, right);
  size_t i = slot_of(key);
  while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask_;
  if (slots_[i].key == kEmpty) ++count_;
  slots_[i] = Slot{key, m};
}

}  // namespace rllm::tok
