// NEON dotprod int8 tile, 4 rows x 16 columns, u8 x s8 on quad_s8 panels.
// sdot multiplies signed bytes only, so each byte of A goes in as a - 128
// (a ^ 0x80) and 128 · Σ_k b[k, c] is added back at the end, the column sums
// taken by sdot against ones as the panel streams past: the int32 sums are
// exact, as the VNNI tile's.
#include <arm_neon.h>

#include <cstring>

#include "kernels/int8/int8_kernel.h"

namespace rllm::kernels::int8 {
namespace {

// One group of 4 k (64 panel bytes, columns 4j..4j+3 in vector j) against
// the 4 bytes at lane G of each row's av.
template <int MR, int G>
inline void group(const int8_t* bp, const int8x16_t (&av)[MR], int32x4_t (&acc)[MR][4], int32x4_t (&sum)[4]) {
  const int8x16_t ones = vdupq_n_s8(1);
  for (int j = 0; j < 4; ++j) {
    const int8x16_t bj = vld1q_s8(bp + 16 * j);
    sum[j] = vdotq_s32(sum[j], bj, ones);
    for (int r = 0; r < MR; ++r) acc[r][j] = vdotq_laneq_s32(acc[r][j], bj, av[r], G);
  }
}

template <int MR>
void quad_tile(const uint8_t* a, int64_t as, const int8_t* b, int64_t kp, int32_t* raw) {
  int32x4_t acc[MR][4], sum[4];
  for (int j = 0; j < 4; ++j) {
    sum[j] = vdupq_n_s32(0);
    for (int r = 0; r < MR; ++r) acc[r][j] = vdupq_n_s32(0);
  }
  const uint8x16_t flip = vdupq_n_u8(0x80);
  int8x16_t av[MR];
  int64_t k = 0;
  for (; k + 16 <= kp; k += 16, b += 4 * 64) {
    for (int r = 0; r < MR; ++r) av[r] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(a + r * as + k), flip));
    group<MR, 0>(b, av, acc, sum);
    group<MR, 1>(b + 64, av, acc, sum);
    group<MR, 2>(b + 128, av, acc, sum);
    group<MR, 3>(b + 192, av, acc, sum);
  }
  for (; k < kp; k += 4, b += 64) {
    for (int r = 0; r < MR; ++r) {
      uint32_t v;
      std::memcpy(&v, a + r * as + k, 4);
      av[r] = vreinterpretq_s8_u8(veorq_u8(vreinterpretq_u8_u32(vdupq_n_u32(v)), flip));
    }
    group<MR, 0>(b, av, acc, sum);
  }
  for (int j = 0; j < 4; ++j) {
    const int32x4_t back = vshlq_n_s32(sum[j], 7);
    for (int r = 0; r < MR; ++r) vst1q_s32(raw + r * 16 + 4 * j, vaddq_s32(acc[r][j], back));
  }
}

}  // namespace

void tile_u8s8_i32_4x16_neon_dot(const uint8_t* a, int64_t as, int mr, const void* panel, int64_t kp, int32_t* raw) {
  const auto* b = static_cast<const int8_t*>(panel);
  switch (mr) {
    case 1: return quad_tile<1>(a, as, b, kp, raw);
    case 2: return quad_tile<2>(a, as, b, kp, raw);
    case 3: return quad_tile<3>(a, as, b, kp, raw);
    default: return quad_tile<4>(a, as, b, kp, raw);
  }
}

}  // namespace rllm::kernels::int8
