// Protocol-buffers wire format, read in place. Every length is checked against
// the end of the enclosing message; nothing is copied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rllm {

enum class WireType : uint8_t { varint = 0, fixed64 = 1, bytes = 2, fixed32 = 5 };

struct WireField {
  uint32_t number = 0;
  WireType type = WireType::varint;
  uint64_t value = 0;             // varint, fixed32 and fixed64 payloads
  const uint8_t* data = nullptr;  // bytes payload
  size_t size = 0;

  std::string_view bytes() const { return {reinterpret_cast<const char*>(data), size}; }
};

class WireReader {
 public:
  WireReader(const uint8_t* begin, size_t size) : p_(begin), begin_(begin), end_(begin + size) {}

  // Reads the next field. Returns false at the end of the message or on error;
  // error() tells which.
  bool next(WireField& f);
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  size_t offset() const { return static_cast<size_t>(p_ - begin_); }

 private:
  bool varint(uint64_t& v);
  bool fail(std::string message);

  const uint8_t* p_;
  const uint8_t* begin_;
  const uint8_t* end_;
  std::string error_;
};

// Decodes a packed repeated field (or one unpacked element) into `out` through
// `push(value)`. Returns false on a malformed packed payload.
template <typename Push>
bool read_packed_varints(const WireField& f, Push push) {
  if (f.type == WireType::varint) {
    push(f.value);
    return true;
  }
  if (f.type != WireType::bytes) return false;
  const uint8_t* p = f.data;
  const uint8_t* end = f.data + f.size;
  while (p < end) {
    uint64_t v = 0;
    int shift = 0;
    for (;;) {
      if (p >= end || shift > 63) return false;
      uint8_t b = *p++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7;
    }
    push(v);
  }
  return true;
}

}  // namespace rllm
