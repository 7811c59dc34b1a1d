// Block-wise weight quantization into ONNX Runtime's MatMulNBits layout, with
// the rounding rules of scripts/convert/quant.py so the converter and
// `run-llm quantize` produce the same bytes:
//   symmetric 4 bit: scale = m / -8, m the block value of largest magnitude
//     (first one on ties, sign kept), no zero points (= 8): llama.cpp Q4_0;
//   symmetric 8 bit: scale = max|w| / 127, no zero points (= 128): Q8_0;
//   asymmetric: [min(w, 0), max(w, 0)] onto 0 .. 2^bits - 1, packed uint8 zero points.
// q = clamp(round(w / scale) + zp), rounding half away from zero computed as
// floor(|x| + 0.5) in float, as numpy does it there. K that is not a multiple
// of the block is zero-padded in the last block.
#pragma once

#include <cstdint>
#include <vector>

#include "formats/status.h"

namespace rllm::quant {

struct BlockQuantized {
  int64_t N = 0, K = 0;
  int bits = 4, block = 32;
  std::vector<uint8_t> b;            // [N, n_blocks, block*bits/8]
  std::vector<float> scales;         // [N, n_blocks]
  std::vector<uint8_t> zero_points;  // empty, or [N, ceil(n_blocks*bits/8)]

  int64_t n_blocks() const { return (K + block - 1) / block; }
  int64_t zp_row_bytes() const { return (n_blocks() * bits + 7) / 8; }
};

// Checks bits (4 or 8) and block (a power of two in 16..256).
Status check_quant_params(int bits, int block);

// w: W [N, K] row-major f32 (the MatMulNBits orientation: N outputs, K inputs).
BlockQuantized quantize_blocks(const float* w, int64_t N, int64_t K, int bits, int block, bool asym);

// ‖W − dequant(q)‖² and ‖W‖², dequantizing with kernels::dequantize_nbits;
// `f16_scales` rounds the scales to f16 first, as they are stored for f16 models.
struct QuantError {
  double diff2 = 0, ref2 = 0;
  double relative() const;
};
QuantError quant_error(const BlockQuantized& q, const float* w, bool f16_scales);

}  // namespace rllm::quant
