// Tensor core: a dtype, a shape and a pointer. A Tensor either views memory
// owned elsewhere (an mmap'd initializer) or shares a 64-byte aligned buffer.
// Dense row-major; strides are derived.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "formats/dtype.h"

namespace rllm {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);
// Bytes for n elements of t (packed 4-bit types round up); -1 on overflow.
int64_t dtype_bytes(DType t, int64_t n);

constexpr size_t kTensorAlign = 64;

struct AlignedFree {
  void operator()(void* p) const;
};
using AlignedBuffer = std::unique_ptr<uint8_t[], AlignedFree>;
AlignedBuffer aligned_alloc_bytes(size_t n);

// Recycles the buffers of owned tensors: while a pool is installed on a thread
// (ScopedBufferPool), Tensor::uninit there takes a cached buffer of the same
// size class, and a buffer from the pool returns to it when its last Tensor
// goes, wherever that happens. A plan's activations thus cost no allocation
// after the first step of a shape. Size classes step by 1/8 of a power of two.
class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  struct Stats {
    int64_t hits = 0, misses = 0;
    size_t cached_bytes = 0;
  };
  // Buffers freed beyond `max_cached_bytes` go back to the system.
  static std::shared_ptr<BufferPool> create(size_t max_cached_bytes);
  ~BufferPool();
  std::shared_ptr<uint8_t[]> take(size_t bytes);
  Stats stats() const;

 private:
  explicit BufferPool(size_t max_cached_bytes);
  void give(uint8_t* p, size_t size_class);
  struct State;
  std::unique_ptr<State> state_;
  size_t max_cached_;
};

// Installs `pool` for Tensor allocations on this thread until destroyed.
class ScopedBufferPool {
 public:
  explicit ScopedBufferPool(BufferPool* pool);
  ~ScopedBufferPool();
  ScopedBufferPool(const ScopedBufferPool&) = delete;
  ScopedBufferPool& operator=(const ScopedBufferPool&) = delete;

 private:
  BufferPool* previous_;
};

class Tensor {
 public:
  Tensor() = default;
  // Owned, zero-filled storage.
  Tensor(DType dtype, Shape shape);
  // Owned storage the caller fills completely.
  static Tensor uninit(DType dtype, Shape shape);
  // A view: `keep` (may be null) holds the memory alive.
  static Tensor view(DType dtype, Shape shape, const void* data, std::shared_ptr<const void> keep = {});

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[static_cast<size_t>(i < 0 ? i + rank() : i)]; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  int64_t nbytes() const { return dtype_bytes(dtype_, numel()); }
  Shape strides() const;

  const void* data() const { return data_; }
  // Views of read-only memory must not be written: mutable access is for
  // owned tensors.
  void* mutable_data() const { return const_cast<void*>(data_); }
  template <typename T> const T* as() const { return static_cast<const T*>(data_); }
  template <typename T> T* mut() const { return static_cast<T*>(mutable_data()); }
  template <typename T> std::span<const T> span() const {
    return {as<T>(), static_cast<size_t>(numel())};
  }

  // What keeps the memory alive (null for unowned views): sub-views share it.
  const std::shared_ptr<const void>& owner() const { return keep_; }

  // Same data, new shape with the same element count.
  Tensor reshaped(Shape shape) const;

 private:
  DType dtype_ = DType::undefined;
  Shape shape_;
  const void* data_ = nullptr;
  std::shared_ptr<const void> keep_;
};

}  // namespace rllm
