#include "dtype.h"

namespace rllm {

int dtype_bits(DType t) {
  switch (t) {
    case DType::f64: case DType::i64: case DType::u64: return 64;
    case DType::f32: case DType::i32: case DType::u32: return 32;
    case DType::f16: case DType::bf16: case DType::i16: case DType::u16: return 16;
    case DType::u8: case DType::i8: case DType::boolean: return 8;
    case DType::u4: case DType::i4: return 4;
    case DType::undefined: case DType::string: return 0;
  }
  return 0;
}

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::undefined: return "undefined";
    case DType::f32: return "f32";
    case DType::u8: return "u8";
    case DType::i8: return "i8";
    case DType::u16: return "u16";
    case DType::i16: return "i16";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
    case DType::string: return "string";
    case DType::boolean: return "bool";
    case DType::f16: return "f16";
    case DType::f64: return "f64";
    case DType::u32: return "u32";
    case DType::u64: return "u64";
    case DType::bf16: return "bf16";
    case DType::u4: return "u4";
    case DType::i4: return "i4";
  }
  return "unknown";
}

bool dtype_known(int32_t v) {
  switch (static_cast<DType>(v)) {
    case DType::f32: case DType::u8: case DType::i8: case DType::u16: case DType::i16:
    case DType::i32: case DType::i64: case DType::string: case DType::boolean: case DType::f16:
    case DType::f64: case DType::u32: case DType::u64: case DType::bf16: case DType::u4:
    case DType::i4:
      return true;
    default:
      return false;
  }
}

}  // namespace rllm
