// Helpers shared by the op implementations.
#pragma once

#include <string>
#include <vector>

#include "engine/graph/op.h"

namespace rllm::ops {

bool is_float(DType t);  // f32, f16, bf16, f64

// The tensor as f32: itself when already f32, else a converted copy.
Result<Tensor> to_f32(const Tensor& t);
// Converts an f32 tensor to `target` (f16, bf16, f64); returns it unchanged
// when target is f32 or already its type.
Tensor from_f32(const Tensor& t, DType target);

// Integer tensor (i64, i32) values, e.g. shapes, axes, indices.
Result<std::vector<int64_t>> to_ints(const Tensor& t, const std::string& what);
// A 1-D i64 tensor.
Tensor ints_tensor(const std::vector<int64_t>& v, Shape shape);

// Normalises a possibly negative axis against rank; error if out of range.
Result<int> norm_axis(int64_t axis, int rank);

// Numpy-style broadcast of two shapes.
Result<Shape> broadcast(const Shape& a, const Shape& b);

// Input i must be present and hold data.
Status need(std::span<const Tensor> in, size_t i, const char* name);

}  // namespace rllm::ops
