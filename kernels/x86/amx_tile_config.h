// The 64-byte operand of ldtilecfg (AMX palette 1), shared by the AMX tiles.
#pragma once

#include <cstdint>

namespace rllm::kernels::amx {

struct TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64);

}  // namespace rllm::kernels::amx
