// AVX512-VNNI int8 tile, 8 rows x 32 columns (two adjacent 16-column
// panels): each broadcast of A feeds two vpdpbusd, 10 loads per 16
// instructions where the 8x16 tile has 9 per 8. Exact int32 sums, as the
// 8x16 tile.
#include <immintrin.h>

#include <cstring>

#include "kernels/int8/int8_kernel.h"

namespace rllm::kernels::int8 {
namespace {

// raw [MR][16] of panel b0, then at kMaxMr * 16 the same of panel b1.
template <int MR>
void quad_tile2(const uint8_t* a, int64_t as, const int8_t* b0, const int8_t* b1, int64_t kp, int32_t* raw) {
  __m512i acc0[MR], acc1[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) acc0[r] = acc1[r] = _mm512_setzero_si512();
  for (int64_t k = 0; k < kp; k += 4, b0 += 64, b1 += 64) {
    const __m512i bv0 = _mm512_load_si512(b0), bv1 = _mm512_load_si512(b1);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      int32_t v;
      std::memcpy(&v, a + r * as + k, 4);
      const __m512i av = _mm512_set1_epi32(v);
      acc0[r] = _mm512_dpbusd_epi32(acc0[r], av, bv0);
      acc1[r] = _mm512_dpbusd_epi32(acc1[r], av, bv1);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    _mm512_store_si512(raw + r * 16, acc0[r]);
    _mm512_store_si512(raw + kMaxMr * 16 + r * 16, acc1[r]);
  }
}

}  // namespace

void tile_u8s8_i32_8x32_avx512vnni(const uint8_t* a, int64_t as, int mr, const void* panel, int64_t kp,
                                   int32_t* raw) {
  // Panels of kp/4 groups of 64 bytes (int8_kernel.h): the next one starts kp * 16 bytes on.
  const auto* b0 = static_cast<const int8_t*>(panel);
  const int8_t* b1 = b0 + kp * 16;
  switch (mr) {
    case 1: return quad_tile2<1>(a, as, b0, b1, kp, raw);
    case 2: return quad_tile2<2>(a, as, b0, b1, kp, raw);
    case 3: return quad_tile2<3>(a, as, b0, b1, kp, raw);
    case 4: return quad_tile2<4>(a, as, b0, b1, kp, raw);
    case 5: return quad_tile2<5>(a, as, b0, b1, kp, raw);
    case 6: return quad_tile2<6>(a, as, b0, b1, kp, raw);
    case 7: return quad_tile2<7>(a, as, b0, b1, kp, raw);
    default: return quad_tile2<8>(a, as, b0, b1, kp, raw);
  }
}

}  // namespace rllm::kernels::int8
