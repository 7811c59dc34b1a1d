// Tensor core: a dtype, a shape and a pointer. A Tensor either views memory
// owned elsewhere (an mmap'd initializer, an arena slot) or owns a 64-byte
// aligned buffer. Dense row-major; strides are derived, views of sub-ranges
// along the first axis stay dense.
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
  bool empty() const { return data_ == nullptr && numel() != 0; }

  const void* data() const { return data_; }
  // Views of read-only memory must not be written: mutable access is for
  // owned tensors and arena slots.
  void* mutable_data() const { return const_cast<void*>(data_); }
  template <typename T> const T* as() const { return static_cast<const T*>(data_); }
  template <typename T> T* mut() const { return static_cast<T*>(mutable_data()); }
  template <typename T> std::span<const T> span() const {
    return {as<T>(), static_cast<size_t>(numel())};
  }

  // Same data, new shape with the same element count.
  Tensor reshaped(Shape shape) const;
  // Rows [begin, end) of the first axis.
  Tensor slice0(int64_t begin, int64_t end) const;

 private:
  DType dtype_ = DType::undefined;
  Shape shape_;
  const void* data_ = nullptr;
  std::shared_ptr<const void> keep_;
};

// Bump allocator for activations: reset() between steps reuses one block.
class Arena {
 public:
  explicit Arena(size_t capacity = 0);
  // nullptr when the arena is full: callers fall back to owned tensors.
  void* allocate(size_t bytes);
  void reset() { used_ = 0; }
  void reserve(size_t capacity);
  size_t used() const { return used_; }
  size_t capacity() const { return capacity_; }
  size_t high_water() const { return high_water_; }

 private:
  AlignedBuffer buf_;
  size_t capacity_ = 0;
  size_t used_ = 0;
  size_t high_water_ = 0;
};

}  // namespace rllm
