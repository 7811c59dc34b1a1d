#include "tensor.h"

#include <bit>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>

namespace rllm {

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return -1;
  }
  return n;
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

int64_t dtype_bytes(DType t, int64_t n) {
  if (n < 0) return -1;
  int64_t bits = dtype_bits(t);
  int64_t total = 0;
  if (__builtin_mul_overflow(n, bits, &total)) return -1;
  return (total + 7) / 8;
}

void AlignedFree::operator()(void* p) const { std::free(p); }

AlignedBuffer aligned_alloc_bytes(size_t n) {
  size_t rounded = (n + kTensorAlign - 1) / kTensorAlign * kTensorAlign;
  void* p = std::aligned_alloc(kTensorAlign, rounded == 0 ? kTensorAlign : rounded);
  if (p == nullptr) throw std::bad_alloc();
  return AlignedBuffer(static_cast<uint8_t*>(p));
}

namespace {

thread_local BufferPool* installed_pool = nullptr;

// Rounds up to one of 8 steps between consecutive powers of two (<= 12.5%
// more), and to the tensor alignment.
size_t size_class(size_t n) {
  if (n <= 1024) return (n + kTensorAlign - 1) / kTensorAlign * kTensorAlign + (n == 0 ? kTensorAlign : 0);
  size_t step = std::bit_floor(n) / 8;
  return (n + step - 1) / step * step;
}

}  // namespace

struct BufferPool::State {
  mutable std::mutex mu;
  std::unordered_map<size_t, std::vector<uint8_t*>> free;
  Stats stats;
};

BufferPool::BufferPool(size_t max_cached_bytes) : state_(std::make_unique<State>()), max_cached_(max_cached_bytes) {}

std::shared_ptr<BufferPool> BufferPool::create(size_t max_cached_bytes) {
  return std::shared_ptr<BufferPool>(new BufferPool(max_cached_bytes));
}

BufferPool::~BufferPool() {
  for (auto& [size, list] : state_->free)
    for (uint8_t* p : list) std::free(p);
}

std::shared_ptr<uint8_t[]> BufferPool::take(size_t bytes) {
  const size_t cls = size_class(bytes);
  uint8_t* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    auto it = state_->free.find(cls);
    if (it != state_->free.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
      state_->stats.cached_bytes -= cls;
      ++state_->stats.hits;
    } else {
      ++state_->stats.misses;
    }
  }
  if (p == nullptr) p = aligned_alloc_bytes(cls).release();
  // The deleter keeps the pool alive: a tensor may outlive the plan's run.
  return std::shared_ptr<uint8_t[]>(p, [pool = shared_from_this(), cls](uint8_t* q) { pool->give(q, cls); });
}

void BufferPool::give(uint8_t* p, size_t cls) {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->stats.cached_bytes + cls <= max_cached_) {
      state_->free[cls].push_back(p);
      state_->stats.cached_bytes += cls;
      return;
    }
  }
  std::free(p);
}

BufferPool::Stats BufferPool::stats() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->stats;
}

ScopedBufferPool::ScopedBufferPool(BufferPool* pool) : previous_(installed_pool) { installed_pool = pool; }

ScopedBufferPool::~ScopedBufferPool() { installed_pool = previous_; }

Tensor Tensor::uninit(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  int64_t bytes = dtype_bytes(dtype, shape_numel(t.shape_));
  assert(bytes >= 0);
  auto buf = installed_pool != nullptr
                 ? installed_pool->take(static_cast<size_t>(bytes))
                 : std::shared_ptr<uint8_t[]>(aligned_alloc_bytes(static_cast<size_t>(bytes)).release(), AlignedFree());
  t.data_ = buf.get();
  t.keep_ = std::shared_ptr<const void>(buf, buf.get());
  return t;
}

Tensor::Tensor(DType dtype, Shape shape) {
  *this = uninit(dtype, std::move(shape));
  std::memset(mutable_data(), 0, static_cast<size_t>(nbytes()));
}

Tensor Tensor::view(DType dtype, Shape shape, const void* data, std::shared_ptr<const void> keep) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = data;
  t.keep_ = std::move(keep);
  return t;
}

Shape Tensor::strides() const {
  Shape st(shape_.size(), 1);
  for (int i = rank() - 2; i >= 0; --i) st[i] = st[i + 1] * shape_[i + 1];
  return st;
}

Tensor Tensor::reshaped(Shape shape) const {
  assert(shape_numel(shape) == numel());
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

}  // namespace rllm
