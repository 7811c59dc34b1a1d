#include "engine/quantize/block_quant.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/kernels.h"

namespace rllm::quant {
namespace {

// Round half away from zero, computed like quant.py: sign(x) * floor(|x| + 0.5) in f32.
float round_away(float x) {
  float r = std::floor(std::fabs(x) + 0.5f);
  return x < 0 ? -r : r;
}

uint8_t clamp_code(float v, int qmax) {
  return static_cast<uint8_t>(std::min(std::max(v, 0.0f), static_cast<float>(qmax)));
}

// Packs codes of one row along its last axis: 8 bit as is, 4 bit low nibble first.
void pack_codes(const uint8_t* q, int64_t n, int bits, uint8_t* out) {
  if (bits == 8) {
    std::copy(q, q + n, out);
    return;
  }
  for (int64_t i = 0; i < n; i += 2) {
    uint8_t hi = i + 1 < n ? q[i + 1] : 0;
    out[i / 2] = static_cast<uint8_t>((q[i] & 0xF) | ((hi & 0xF) << 4));
  }
}

}  // namespace

Status check_quant_params(int bits, int block) {
  if (bits != 4 && bits != 8)
    return Status::error("unsupported bit width " + std::to_string(bits) + " (4 or 8)");
  if (block < 16 || block > 256 || (block & (block - 1)) != 0)
    return Status::error("block size " + std::to_string(block) + " must be a power of two in 16..256");
  return ok_status();
}

BlockQuantized quantize_blocks(const float* w, int64_t N, int64_t K, int bits, int block, bool asym) {
  BlockQuantized r;
  r.N = N;
  r.K = K;
  r.bits = bits;
  r.block = block;
  const int64_t nb = r.n_blocks();
  const int64_t block_bytes = block * bits / 8;
  const int qmax = (1 << bits) - 1;
  r.b.assign(static_cast<size_t>(N * nb * block_bytes), 0);
  r.scales.assign(static_cast<size_t>(N * nb), 0.0f);
  std::vector<uint8_t> zp_codes;
  if (asym) {
    r.zero_points.assign(static_cast<size_t>(N * r.zp_row_bytes()), 0);
    zp_codes.assign(static_cast<size_t>(nb), 0);
  }
  std::vector<float> x(static_cast<size_t>(block));
  std::vector<uint8_t> q(static_cast<size_t>(block));
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t j = 0; j < nb; ++j) {
      // x: the block, zero-padded past K.
      int64_t k0 = j * block;
      int64_t len = std::min<int64_t>(block, K - k0);
      std::fill(x.begin(), x.end(), 0.0f);
      std::copy(w + n * K + k0, w + n * K + k0 + len, x.begin());
      float scale, zp;
      if (asym) {
        float mn = 0, mx = 0;
        for (float v : x) {
          mn = std::min(mn, v);
          mx = std::max(mx, v);
        }
        scale = (mx - mn) / static_cast<float>(qmax);
        float inv = scale != 0 ? 1.0f / scale : 0.0f;
        zp = std::min(std::max(round_away(-mn * inv), 0.0f), static_cast<float>(qmax));
        for (int i = 0; i < block; ++i) q[i] = clamp_code(round_away(x[i] * inv) + zp, qmax);
        zp_codes[static_cast<size_t>(j)] = static_cast<uint8_t>(zp);
      } else {
        if (bits == 4) {
          float m = x[0];
          for (float v : x)
            if (std::fabs(v) > std::fabs(m)) m = v;
          scale = m / -8.0f;
        } else {
          float amax = 0;
          for (float v : x) amax = std::max(amax, std::fabs(v));
          scale = amax / 127.0f;
        }
        float inv = scale != 0 ? 1.0f / scale : 0.0f;
        zp = static_cast<float>(1 << (bits - 1));
        for (int i = 0; i < block; ++i) q[i] = clamp_code(round_away(x[i] * inv) + zp, qmax);
      }
      r.scales[static_cast<size_t>(n * nb + j)] = scale;
      pack_codes(q.data(), block, bits, r.b.data() + (n * nb + j) * block_bytes);
    }
    if (asym) pack_codes(zp_codes.data(), nb, bits, r.zero_points.data() + n * r.zp_row_bytes());
  }
  return r;
}

double QuantError::relative() const { return ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2); }

QuantError quant_error(const BlockQuantized& q, const float* w, bool f16_scales) {
  std::vector<uint16_t> scales16;
  kernels::NBitsWeights nw;
  nw.N = q.N;
  nw.K = q.K;
  nw.bits = q.bits;
  nw.block_size = q.block;
  nw.b = q.b.data();
  if (f16_scales) {
    scales16.resize(q.scales.size());
    kernels::f32_to_f16(q.scales.data(), scales16.data(), static_cast<int64_t>(q.scales.size()));
    nw.scales = scales16.data();
    nw.scales_f16 = true;
  } else {
    nw.scales = q.scales.data();
  }
  if (!q.zero_points.empty()) {
    nw.zero_points = q.zero_points.data();
    nw.zp = kernels::ZeroPoints::packed_u8;
  }
  std::vector<float> deq(static_cast<size_t>(q.N * q.K));
  kernels::dequantize_nbits(nw, deq.data());
  QuantError e;
  for (size_t i = 0; i < deq.size(); ++i) {
    double d = static_cast<double>(w[i]) - deq[i];
    e.diff2 += d * d;
    e.ref2 += static_cast<double>(w[i]) * w[i];
  }
  return e;
}

}  // namespace rllm::quant
