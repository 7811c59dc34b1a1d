#include "tensor.h"

#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>

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

Tensor Tensor::uninit(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  int64_t bytes = dtype_bytes(dtype, shape_numel(t.shape_));
  assert(bytes >= 0);
  auto buf = std::shared_ptr<uint8_t[]>(aligned_alloc_bytes(static_cast<size_t>(bytes)).release(),
                                        AlignedFree());
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
