#include "engine/kv_cache/paged_kv_cache.h"

#include <cassert>
#include <cstring>

namespace rllm {

KvCache::KvCache(const KvCacheConfig& cfg) : cfg_(cfg) {
  // Block layout: [layer][k|v][kv_head][token][head_dim].
  assert(cfg.dtype == DType::f32 || cfg.dtype == DType::f16);
  elem_bytes_ = cfg.dtype == DType::f16 ? 2 : 4;
  block_bytes_ = static_cast<size_t>(cfg.n_layers) * 2 * cfg.kv_heads * cfg.block_tokens * cfg.head_dim * elem_bytes_;
  if (cfg_.max_blocks == 0)
    cfg_.max_blocks = (cfg.max_context + cfg.block_tokens - 1) / cfg.block_tokens;
}

int KvCache::new_sequence() {
  for (size_t i = 0; i < seqs_.size(); ++i)
    if (!seqs_[i].live) {
      seqs_[i] = Sequence{{}, 0, true};
      return static_cast<int>(i);
    }
  seqs_.push_back(Sequence{{}, 0, true});
  return static_cast<int>(seqs_.size() - 1);
}

int KvCache::fork(int seq) {
  int child = new_sequence();
  seqs_[child].blocks = seqs_[seq].blocks;
  seqs_[child].length = seqs_[seq].length;
  for (int32_t b : seqs_[child].blocks) ++refs_[b];
  return child;
}

void KvCache::free_sequence(int seq) {
  for (int32_t b : seqs_[seq].blocks) release_block(b);
  seqs_[seq] = Sequence{};
}

void KvCache::truncate(int seq, int64_t n) {
  Sequence& s = seqs_[seq];
  assert(n <= s.length);
  size_t keep = static_cast<size_t>((n + cfg_.block_tokens - 1) / cfg_.block_tokens);
  while (s.blocks.size() > keep) {
    release_block(s.blocks.back());
    s.blocks.pop_back();
  }
  s.length = n;
}

Result<int32_t> KvCache::take_block() {
  if (!free_.empty()) {
    int32_t b = free_.back();
    free_.pop_back();
    refs_[b] = 1;
    return b;
  }
  if (static_cast<int64_t>(storage_.size()) >= cfg_.max_blocks)
    return Status::error("KV cache is full: all " + std::to_string(cfg_.max_blocks) + " blocks of " +
                         std::to_string(cfg_.block_tokens) + " tokens are in use");
  storage_.push_back(aligned_alloc_bytes(block_bytes_));
  refs_.push_back(1);
  return static_cast<int32_t>(storage_.size() - 1);
}

void KvCache::release_block(int32_t b) {
  if (--refs_[b] == 0) free_.push_back(b);
}

Status KvCache::append(int seq, int64_t n) {
  Sequence& s = seqs_[seq];
  int64_t end = s.length + n;
  if (cfg_.max_context > 0 && end > cfg_.max_context)
    return Status::error("context overflow: " + std::to_string(end) + " tokens exceed the context length of " +
                         std::to_string(cfg_.max_context));
  // Copy-on-write for a shared block the new tokens land in.
  int64_t first = s.length / cfg_.block_tokens;
  for (int64_t bi = first; bi < static_cast<int64_t>(s.blocks.size()) && bi * cfg_.block_tokens < end; ++bi) {
    int32_t b = s.blocks[bi];
    if (refs_[b] == 1) continue;
    RLLM_ASSIGN_OR_RETURN(int32_t copy, take_block());
    std::memcpy(block_ptr(copy), block_ptr(b), block_bytes_);
    --refs_[b];
    s.blocks[bi] = copy;
  }
  while (static_cast<int64_t>(s.blocks.size()) * cfg_.block_tokens < end) {
    RLLM_ASSIGN_OR_RETURN(int32_t b, take_block());
    s.blocks.push_back(b);
  }
  s.length = end;
  return ok_status();
}

void* KvCache::slot(int seq, int layer, int kv, int head, int64_t pos) {
  return const_cast<void*>(static_cast<const KvCache*>(this)->slot(seq, layer, kv, head, pos));
}

const void* KvCache::slot(int seq, int layer, int kv, int head, int64_t pos) const {
  const Sequence& s = seqs_[seq];
  int64_t bt = cfg_.block_tokens;
  assert(pos < static_cast<int64_t>(s.blocks.size()) * bt);
  size_t off = ((static_cast<size_t>(layer) * 2 + kv) * cfg_.kv_heads + head) * bt + pos % bt;
  return block_ptr(s.blocks[pos / bt]) + off * cfg_.head_dim * elem_bytes_;
}

float* KvCache::at(int seq, int layer, int kv, int head, int64_t pos) {
  assert(cfg_.dtype == DType::f32);
  return static_cast<float*>(slot(seq, layer, kv, head, pos));
}

const float* KvCache::at(int seq, int layer, int kv, int head, int64_t pos) const {
  assert(cfg_.dtype == DType::f32);
  return static_cast<const float*>(slot(seq, layer, kv, head, pos));
}

int64_t KvCache::blocks_in_use() const {
  return static_cast<int64_t>(storage_.size() - free_.size());
}

int KvCache::refcount(int seq, int64_t block_index) const {
  return refs_[seqs_[seq].blocks[block_index]];
}

}  // namespace rllm
