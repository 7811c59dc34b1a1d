// AMX int8 tile, up to 16 rows x 32 columns (two adjacent 16-column panels):
// a quad_s8 panel is already a B tile (one 64-byte row per group of 4 k: 16
// columns x 4 values), A's rows load with their stride, and tdpbusd (u8 x s8)
// accumulates all of K in the int32 C tiles. Exact int32 sums, as the VNNI
// tiles.
#include <immintrin.h>

#include "kernels/int8/int8_kernel.h"
#include "kernels/x86/amx_tile_config.h"

namespace rllm::kernels::int8 {
namespace {

static_assert(kMaxMr == 16, "one C tile holds the 16 rows of a call");

using amx::TileConfig;

// tmm0, tmm1: C [mr, 16] int32; tmm2: A [mr, 64]; tmm3, tmm4: B [16, 64] (64 k);
// tmm5: A [mr, rem]; tmm6, tmm7: B [rem / 4, 64], for the last rem = kp % 64.
// ldtilecfg zeroes every tile, so one configuration serves the whole call.
void configure(int mr, int rem) {
  alignas(64) TileConfig c;
  c.rows[0] = c.rows[1] = c.rows[2] = uint8_t(mr);
  c.colsb[0] = c.colsb[1] = c.colsb[2] = 64;
  c.rows[3] = c.rows[4] = 16;
  c.colsb[3] = c.colsb[4] = 64;
  if (rem > 0) {
    c.rows[5] = uint8_t(mr);
    c.colsb[5] = uint16_t(rem);
    c.rows[6] = c.rows[7] = uint8_t(rem / 4);
    c.colsb[6] = c.colsb[7] = 64;
  }
  _tile_loadconfig(&c);
}

// raw [mr][16] of panel b0, and with kTwo at kMaxMr * 16 the same of panel b1.
template <bool kTwo>
void amx_tile(const uint8_t* a, int64_t as, int mr, const int8_t* b0, int64_t kp, int32_t* raw) {
  const int8_t* b1 = b0 + kp * 16;  // the next panel (int8_kernel.h)
  const int rem = int(kp % 64);
  configure(mr, rem);
  int64_t k = 0;
  for (; k + 64 <= kp; k += 64) {
    _tile_loadd(2, a + k, as);
    _tile_loadd(3, b0 + k * 16, 64);
    _tile_dpbusd(0, 2, 3);
    if constexpr (kTwo) {
      _tile_loadd(4, b1 + k * 16, 64);
      _tile_dpbusd(1, 2, 4);
    }
  }
  if (rem > 0) {
    _tile_loadd(5, a + k, as);
    _tile_loadd(6, b0 + k * 16, 64);
    _tile_dpbusd(0, 5, 6);
    if constexpr (kTwo) {
      _tile_loadd(7, b1 + k * 16, 64);
      _tile_dpbusd(1, 5, 7);
    }
  }
  _tile_stored(0, raw, 64);
  if constexpr (kTwo) _tile_stored(1, raw + kMaxMr * 16, 64);
  _tile_release();
}

}  // namespace

void tile_u8s8_i32_16x16_avx512amx(const uint8_t* a, int64_t as, int mr, const void* panel, int64_t kp,
                                   int32_t* raw) {
  amx_tile<false>(a, as, mr, static_cast<const int8_t*>(panel), kp, raw);
}

void tile_u8s8_i32_16x32_avx512amx(const uint8_t* a, int64_t as, int mr, const void* panel, int64_t kp,
                                   int32_t* raw) {
  amx_tile<true>(a, as, mr, static_cast<const int8_t*>(panel), kp, raw);
}

}  // namespace rllm::kernels::int8
