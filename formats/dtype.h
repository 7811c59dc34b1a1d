// Element types, numbered as ONNX TensorProto.DataType so the reader can map
// them without a table. Shared by formats/ (views into files) and engine/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rllm {

enum class DType : int32_t {
  undefined = 0,
  f32 = 1,
  u8 = 2,
  i8 = 3,
  u16 = 4,
  i16 = 5,
  i32 = 6,
  i64 = 7,
  string = 8,
  boolean = 9,
  f16 = 10,
  f64 = 11,
  u32 = 12,
  u64 = 13,
  bf16 = 16,
  u4 = 21,
  i4 = 22,
};

// Size of one element in bits (4 for the packed nibble types); 0 if unknown or
// not fixed-size (string).
int dtype_bits(DType t);
std::string_view dtype_name(DType t);
bool dtype_known(int32_t onnx_type);

}  // namespace rllm
