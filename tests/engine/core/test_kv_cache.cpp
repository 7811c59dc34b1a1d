#include <doctest/doctest.h>

#include <cstring>

#include "engine/kv_cache/paged_kv_cache.h"

using namespace rllm;

namespace {

KvCacheConfig small(int64_t max_blocks) {
  KvCacheConfig c;
  c.n_layers = 2;
  c.kv_heads = 2;
  c.head_dim = 4;
  c.block_tokens = 4;
  c.max_blocks = max_blocks;
  c.max_context = 64;
  return c;
}

// Writes a value identifying (seq tag, layer, kv, head, pos) into every slot.
void fill(KvCache& kv, int seq, float tag, int64_t from, int64_t to) {
  for (int64_t p = from; p < to; ++p)
    for (int l = 0; l < 2; ++l)
      for (int k = 0; k < 2; ++k)
        for (int h = 0; h < 2; ++h)
          for (int d = 0; d < 4; ++d) kv.at(seq, l, k, h, p)[d] = tag + p * 100 + l * 10 + k * 5 + h * 2 + d * 0.1f;
}

float expect(float tag, int64_t p, int l, int k, int h, int d) { return tag + p * 100 + l * 10 + k * 5 + h * 2 + d * 0.1f; }

}  // namespace

TEST_CASE("kv cache: memory grows with tokens held, one block per block_tokens") {
  KvCache kv(small(100));
  int s = kv.new_sequence();
  CHECK(kv.blocks_in_use() == 0);
  REQUIRE(kv.append(s, 1).ok());
  CHECK(kv.blocks_in_use() == 1);
  REQUIRE(kv.append(s, 3).ok());
  CHECK(kv.blocks_in_use() == 1);
  REQUIRE(kv.append(s, 1).ok());
  CHECK(kv.blocks_in_use() == 2);
  CHECK(kv.length(s) == 5);
  // 2 layers x (k, v) x 2 heads x 4 tokens x 4 dims x 4 bytes per block.
  CHECK(kv.block_bytes() == 2 * 2 * 2 * 4 * 4 * 4);
  REQUIRE(kv.append(s, 40).ok());
  CHECK(kv.blocks_in_use() == 12);  // 45 tokens, far past one block
  fill(kv, s, 0, 0, 45);
  CHECK(kv.at(s, 1, 1, 1, 44)[3] == doctest::Approx(expect(0, 44, 1, 1, 1, 3)));
  CHECK(kv.at(s, 0, 0, 0, 0)[0] == doctest::Approx(expect(0, 0, 0, 0, 0, 0)));
}

TEST_CASE("kv cache: a fork shares every block, copies only the one it writes into") {
  KvCache kv(small(100));
  int a = kv.new_sequence();
  REQUIRE(kv.append(a, 10).ok());  // blocks 0, 1 full; block 2 holds 2 tokens
  fill(kv, a, 0, 0, 10);
  int b = kv.fork(a);
  CHECK(kv.blocks_in_use() == 3);
  for (int64_t i = 0; i < 3; ++i) CHECK(kv.refcount(b, i) == 2);

  REQUIRE(kv.append(b, 1).ok());  // b writes position 10, inside shared block 2
  CHECK(kv.blocks_in_use() == 4);
  CHECK(kv.refcount(b, 0) == 2);
  CHECK(kv.refcount(b, 1) == 2);
  CHECK(kv.refcount(b, 2) == 1);
  CHECK(kv.refcount(a, 2) == 1);
  fill(kv, b, 1000, 10, 11);
  // The copy kept a's earlier tokens of that block; a's block is untouched.
  CHECK(kv.at(b, 1, 0, 1, 9)[2] == doctest::Approx(expect(0, 9, 1, 0, 1, 2)));
  CHECK(kv.at(b, 1, 0, 1, 10)[2] == doctest::Approx(expect(1000, 10, 1, 0, 1, 2)));
  REQUIRE(kv.append(a, 1).ok());
  fill(kv, a, 2000, 10, 11);
  CHECK(kv.at(b, 0, 1, 0, 10)[1] == doctest::Approx(expect(1000, 10, 0, 1, 0, 1)));
  CHECK(kv.at(a, 0, 1, 0, 10)[1] == doctest::Approx(expect(2000, 10, 0, 1, 0, 1)));
  // Both still read the shared prefix from the same memory.
  CHECK(kv.at(a, 0, 0, 0, 3) == kv.at(b, 0, 0, 0, 3));
}

TEST_CASE("kv cache: freeing and truncating return blocks to the pool") {
  KvCache kv(small(100));
  int a = kv.new_sequence();
  REQUIRE(kv.append(a, 16).ok());
  int b = kv.fork(a);
  CHECK(kv.blocks_in_use() == 4);
  kv.free_sequence(a);
  CHECK(kv.blocks_in_use() == 4);  // b still holds them
  kv.truncate(b, 5);
  CHECK(kv.blocks_in_use() == 2);
  kv.free_sequence(b);
  CHECK(kv.blocks_in_use() == 0);
  int c = kv.new_sequence();
  REQUIRE(kv.append(c, 8).ok());
  CHECK(kv.blocks_allocated() == 4);  // reused, not allocated again
}

TEST_CASE("kv cache: pool exhaustion and context overflow are errors, and leave the sequence as it was") {
  KvCache kv(small(3));
  int a = kv.new_sequence();
  REQUIRE(kv.append(a, 12).ok());
  Status full = kv.append(a, 1);
  REQUIRE_FALSE(full.ok());
  CHECK(full.message().find("KV cache is full: all 3 blocks of 4 tokens are in use") != std::string::npos);
  CHECK(kv.length(a) == 12);

  KvCache big(small(1000));
  int s = big.new_sequence();
  Status over = big.append(s, 65);
  REQUIRE_FALSE(over.ok());
  CHECK(over.message().find("context overflow: 65 tokens exceed the context length of 64") != std::string::npos);
  CHECK(big.length(s) == 0);
}

TEST_CASE("kv cache: an f16 cache takes half the bytes and keeps a block's tokens contiguous") {
  KvCacheConfig c = small(100);
  c.dtype = DType::f16;
  KvCache kv(c);
  CHECK(kv.block_bytes() == 2 * 2 * 2 * 4 * 4 * 2);
  int s = kv.new_sequence();
  REQUIRE(kv.append(s, 10).ok());
  // Positions 5..7 share block 1; position 8 starts block 2.
  CHECK(kv.contiguous(5, 10) == 3);
  CHECK(kv.contiguous(8, 10) == 2);
  CHECK(kv.contiguous(0, 2) == 2);
  auto* p5 = static_cast<uint16_t*>(kv.slot(s, 1, 1, 1, 5));
  auto* p6 = static_cast<uint16_t*>(kv.slot(s, 1, 1, 1, 6));
  CHECK(p6 - p5 == 4);  // head_dim elements apart
}
