// Paged KV cache: fixed-size blocks of tokens from one pool, a block table per
// sequence, reference-counted blocks so sequences share a prefix and copy a
// block only when one of them writes into it. Memory grows with the tokens
// held, not with the context length.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/tensor.h"
#include "formats/status.h"

namespace rllm {

struct KvCacheConfig {
  int n_layers = 0;
  int kv_heads = 0;
  int head_dim = 0;
  int block_tokens = 16;
  int64_t max_blocks = 0;     // pool limit; 0 = derived from max_context
  int64_t max_context = 0;    // longest sequence allowed
  DType dtype = DType::f32;   // element type of K and V: f32 or f16
};

// Where each row of a batch stands: row b continues sequence seqs[b] at
// position n_past[b] with n_new tokens (the graph's sequence_length).
struct BatchState {
  std::vector<int> seqs;
  std::vector<int64_t> n_past;
  int64_t n_new = 0;
};

class KvCache {
 public:
  explicit KvCache(const KvCacheConfig& cfg);

  const KvCacheConfig& config() const { return cfg_; }

  int new_sequence();
  // A new sequence sharing every block of `seq` (prefix sharing).
  int fork(int seq);
  void free_sequence(int seq);
  int64_t length(int seq) const { return seqs_[seq].length; }
  // Drops tokens past n (n <= length), e.g. to restart a turn.
  void truncate(int seq, int64_t n);

  // Makes positions [length, length + n) writable: allocates blocks and copies
  // any shared block those positions fall in. Then length grows by n.
  Status append(int seq, int64_t n);

  // K or V (kv = 0 / 1) of one head at one position: head_dim elements of
  // config().dtype. Positions pos .. pos + contiguous(pos, end) - 1 of that
  // head follow each other in memory (they share a block).
  void* slot(int seq, int layer, int kv, int head, int64_t pos);
  const void* slot(int seq, int layer, int kv, int head, int64_t pos) const;
  int64_t contiguous(int64_t pos, int64_t end) const {
    return std::min(end, (pos / cfg_.block_tokens + 1) * cfg_.block_tokens) - pos;
  }
  // slot() of an f32 cache.
  float* at(int seq, int layer, int kv, int head, int64_t pos);
  const float* at(int seq, int layer, int kv, int head, int64_t pos) const;

  int64_t blocks_in_use() const;
  int64_t blocks_allocated() const { return static_cast<int64_t>(storage_.size()); }
  int refcount(int seq, int64_t block_index) const;
  size_t bytes_in_use() const { return static_cast<size_t>(blocks_in_use()) * block_bytes_; }
  size_t block_bytes() const { return block_bytes_; }

 private:
  struct Sequence {
    std::vector<int32_t> blocks;
    int64_t length = 0;
    bool live = false;
  };
  Result<int32_t> take_block();
  void release_block(int32_t b);
  uint8_t* block_ptr(int32_t b) const { return storage_[b].get(); }

  KvCacheConfig cfg_;
  size_t elem_bytes_ = 4, block_bytes_ = 0;
  std::vector<AlignedBuffer> storage_;  // blocks, allocated on first use
  std::vector<int32_t> refs_;
  std::vector<int32_t> free_;
  std::vector<Sequence> seqs_;
};

}  // namespace rllm
