// IEEE 754 binary16 <-> binary32, scalar (round to nearest even), and
// bfloat16 -> binary32 (exact: the upper 16 bits of a float).
#pragma once

#include <bit>
#include <cstdint>

namespace rllm::kernels {

inline float half_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t man = h & 0x3FF;
  if (exp == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (man << 13));
  if (exp == 0) {
    // Subnormal (or zero): man * 2^-24.
    float v = float(man) * 0x1p-24f;
    return sign ? -v : v;
  }
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (man << 13));
}

inline uint16_t float_to_half(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  uint16_t sign = uint16_t((x >> 16) & 0x8000);
  uint32_t ax = x & 0x7FFFFFFFu;
  if (ax >= 0x7F800000u) return uint16_t(sign | 0x7C00 | (ax > 0x7F800000u ? 0x200 : 0));  // inf/nan
  if (ax >= 0x477FF000u) return uint16_t(sign | 0x7C00);  // rounds to >= 65520: overflow
  if (ax < 0x38800000u) {
    // Result is subnormal or zero: add 0.5 (as float) so the FPU rounds at 2^-24.
    float r = std::bit_cast<float>(ax) + 0.5f;
    return uint16_t(sign | (std::bit_cast<uint32_t>(r) - 0x3F000000u));
  }
  uint32_t odd = (ax >> 13) & 1;
  ax += 0xC8000FFFu + odd;  // rebias exponent (-112 << 23) and round to nearest even
  return uint16_t(sign | (ax >> 13));
}

inline float bf16_to_float(uint16_t b) { return std::bit_cast<float>(uint32_t{b} << 16); }

}  // namespace rllm::kernels
