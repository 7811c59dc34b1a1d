#include <doctest/doctest.h>

#include <string>

#include "engine/model.h"
#include "engine/tensor.h"

using namespace rllm;

TEST_CASE("buffer pool: a freed activation buffer is reused for the next tensor of its size class") {
  auto pool = BufferPool::create(1 << 20);
  ScopedBufferPool scope(pool.get());
  const void* first;
  {
    Tensor a = Tensor::uninit(DType::f32, {1000});  // 4000 bytes -> class 4096
    first = a.data();
  }
  CHECK(pool->stats().misses == 1);
  CHECK(pool->stats().cached_bytes == 4096);
  Tensor b = Tensor::uninit(DType::f32, {1020});  // 4080 bytes, the same class
  CHECK(b.data() == first);
  CHECK(pool->stats().hits == 1);
  CHECK(pool->stats().cached_bytes == 0);
  Tensor c = Tensor::uninit(DType::f32, {2000});  // 8000 bytes -> class 8192: a new buffer
  CHECK(c.data() != first);
  CHECK(pool->stats().misses == 2);
}

TEST_CASE("buffer pool: nothing is cached past the cap, and tensors may outlive the pool's owner") {
  Tensor kept;
  {
    auto pool = BufferPool::create(0);
    ScopedBufferPool scope(pool.get());
    { Tensor a = Tensor::uninit(DType::u8, {100}); }
    CHECK(pool->stats().cached_bytes == 0);
    Tensor b = Tensor::uninit(DType::u8, {100});
    CHECK(pool->stats().hits == 0);
    kept = Tensor(DType::i32, {3});  // zero-filled, from the pool
  }
  CHECK(kept.as<int32_t>()[2] == 0);
  // Outside any scope tensors come from the system.
  Tensor plain = Tensor::uninit(DType::f32, {4});
  CHECK(plain.data() != nullptr);
}

TEST_CASE("buffer pool: a decode step after the first allocates no new activation buffer") {
  ModelOptions mo;
  mo.threads = 1;
  auto model = Model::load(std::string(RLLM_BINARY_DIR) + "/models/stories260K-fp32", mo);
  REQUIRE_MESSAGE(model.ok(), model.status().message());
  KvCache cache((*model)->kv_config());
  int seq = cache.new_sequence();
  REQUIRE((*model)->forward(cache, {seq}, {{1, 403, 407}}).ok());
  REQUIRE((*model)->forward(cache, {seq}, {{261}}).ok());
  auto after_first = (*model)->activation_buffer_stats();
  REQUIRE((*model)->forward(cache, {seq}, {{378}}).ok());
  auto after_second = (*model)->activation_buffer_stats();
  CHECK(after_second.misses == after_first.misses);
  CHECK(after_second.hits > after_first.hits);
}
