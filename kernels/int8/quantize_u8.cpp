// Dynamic uint8 quantization of activations (DynamicQuantizeLinear), scalar
// twins and dispatch; the AVX2 versions live in quantize_u8_avx2.cpp.
#include <algorithm>
#include <cmath>

#include "kernels/int8/int8_kernel.h"

namespace rllm::kernels {

namespace ref {

void minmax_with_zero(const float* x, int64_t n, float* mn, float* mx) {
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);  // NaN is skipped: min(lo, NaN) keeps lo
    hi = std::max(hi, x[i]);
  }
  *mn = lo;
  *mx = hi;
}

void quantize_u8(const float* x, int64_t n, float scale, uint8_t zp, uint8_t* q) {
  const float vlo = 0.0f - float(zp), vhi = 255.0f - float(zp);
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i] / scale;
    v = v > vlo ? v : vlo;  // NaN goes to the low end, as MAXPS
    v = v < vhi ? v : vhi;
    q[i] = static_cast<uint8_t>(int32_t(std::nearbyint(v)) + zp);
  }
}

}  // namespace ref

void minmax_with_zero(const float* x, int64_t n, float* mn, float* mx) {
#if defined(__x86_64__)
  if (active_isa() != Isa::scalar) return int8::minmax_with_zero_avx2(x, n, mn, mx);
#endif
  ref::minmax_with_zero(x, n, mn, mx);
}

void quantize_u8(const float* x, int64_t n, float scale, uint8_t zp, uint8_t* q) {
#if defined(__x86_64__)
  if (active_isa() != Isa::scalar) return int8::quantize_u8_avx2(x, n, scale, zp, q);
#endif
  ref::quantize_u8(x, n, scale, zp, q);
}

}  // namespace rllm::kernels
