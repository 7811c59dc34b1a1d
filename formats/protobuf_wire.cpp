#include "protobuf_wire.h"

namespace rllm {

bool WireReader::fail(std::string message) {
  error_ = std::move(message) + " at byte " + std::to_string(offset());
  p_ = end_;
  return false;
}

bool WireReader::varint(uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p_ >= end_) return fail("truncated varint");
    uint8_t b = *p_++;
    if (shift == 63 && (b & 0x7e)) return fail("varint overflows 64 bits");
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return fail("varint longer than 10 bytes");
}

bool WireReader::next(WireField& f) {
  if (p_ >= end_ || failed()) return false;
  uint64_t key = 0;
  if (!varint(key)) return false;
  uint64_t number = key >> 3;
  if (number == 0 || number > 0x1fffffff) return fail("invalid field number " + std::to_string(number));
  f.number = static_cast<uint32_t>(number);
  f.data = nullptr;
  f.size = 0;
  f.value = 0;
  switch (key & 7) {
    case 0:
      f.type = WireType::varint;
      return varint(f.value);
    case 1:
      f.type = WireType::fixed64;
      if (end_ - p_ < 8) return fail("truncated fixed64");
      for (int i = 0; i < 8; ++i) f.value |= static_cast<uint64_t>(p_[i]) << (8 * i);
      p_ += 8;
      return true;
    case 2: {
      f.type = WireType::bytes;
      uint64_t len = 0;
      if (!varint(len)) return false;
      if (len > static_cast<uint64_t>(end_ - p_))
        return fail("field " + std::to_string(number) + " length " + std::to_string(len) +
                    " runs past the end of its message");
      f.data = p_;
      f.size = static_cast<size_t>(len);
      p_ += len;
      return true;
    }
    case 5:
      f.type = WireType::fixed32;
      if (end_ - p_ < 4) return fail("truncated fixed32");
      for (int i = 0; i < 4; ++i) f.value |= static_cast<uint64_t>(p_[i]) << (8 * i);
      p_ += 4;
      return true;
    default:
      return fail("unsupported wire type " + std::to_string(key & 7) + " for field " +
                  std::to_string(number));
  }
}

}  // namespace rllm
