// AVX512-VNNI int8 tile, 8 rows x 16 columns: vpdpbusd multiplies u8 x s8
// and adds four products into int32 without intermediate saturation, so the
// sums are exact (as onnxruntime's VNNI kernels).
#include <immintrin.h>

#include <cstring>

#include "kernels/int8/int8_kernel.h"

namespace rllm::kernels::int8 {
namespace {

template <int MR>
void quad_tile(const uint8_t* a, int64_t as, const int8_t* b, int64_t kp, int32_t* raw) {
  __m512i acc[MR];
  for (int r = 0; r < MR; ++r) acc[r] = _mm512_setzero_si512();
  for (int64_t k = 0; k < kp; k += 4, b += 64) {
    const __m512i bv = _mm512_load_si512(b);
    // Fully unrolled: GCC 12 otherwise unrolls the k loop by two and copies
    // every accumulator between registers on each step.
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      int32_t v;
      std::memcpy(&v, a + r * as + k, 4);
      acc[r] = _mm512_dpbusd_epi32(acc[r], _mm512_set1_epi32(v), bv);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) _mm512_store_si512(raw + r * 16, acc[r]);
}

}  // namespace

void tile_u8s8_i32_8x16_avx512vnni(const uint8_t* a, int64_t as, int mr, const void* panel, int64_t kp,
                                   int32_t* raw) {
  const auto* b = static_cast<const int8_t*>(panel);
  switch (mr) {
    case 1: return quad_tile<1>(a, as, b, kp, raw);
    case 2: return quad_tile<2>(a, as, b, kp, raw);
    case 3: return quad_tile<3>(a, as, b, kp, raw);
    case 4: return quad_tile<4>(a, as, b, kp, raw);
    case 5: return quad_tile<5>(a, as, b, kp, raw);
    case 6: return quad_tile<6>(a, as, b, kp, raw);
    case 7: return quad_tile<7>(a, as, b, kp, raw);
    default: return quad_tile<8>(a, as, b, kp, raw);
  }
}

}  // namespace rllm::kernels::int8
