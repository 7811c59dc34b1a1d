// MatMulNBits: ONNX layout -> packed layout (nbits_kernel.h), and the two
// dequantizations used by tests, GatherBlockQuantized and fallbacks.
#include <cassert>
#include <cstdlib>
#include <cstring>

#include "kernels/nbits/nbits_kernel.h"
#include "kernels/ref/half.h"

namespace rllm::kernels {
namespace {

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Reads the ONNX tensors of one (row, block).
struct OnnxReader {
  const NBitsWeights& w;
  int64_t nb;

  float scale(int64_t n, int64_t b) const {
    int64_t i = n * nb + b;
    return w.scales_f16 ? half_to_float(static_cast<const uint16_t*>(w.scales)[i])
                        : static_cast<const float*>(w.scales)[i];
  }
  // Zero point as a float (integer-valued unless typed).
  float zero_point(int64_t n, int64_t b) const {
    switch (w.zp) {
      case ZeroPoints::none: return float(1 << (w.bits - 1));
      case ZeroPoints::packed_u8: {
        const uint8_t* zp = static_cast<const uint8_t*>(w.zero_points);
        if (w.bits == 8) return zp[n * nb + b];
        int64_t row_bytes = (nb + 1) / 2;
        uint8_t byte = zp[n * row_bytes + b / 2];
        return float(b % 2 == 0 ? byte & 0x0F : byte >> 4);
      }
      case ZeroPoints::typed: {
        int64_t i = n * nb + b;
        return w.scales_f16 ? half_to_float(static_cast<const uint16_t*>(w.zero_points)[i])
                            : static_cast<const float*>(w.zero_points)[i];
      }
    }
    return 0.0f;
  }
  // Quantized value q[n, k] in 0 .. 2^bits - 1.
  int q(int64_t n, int64_t k) const {
    int64_t bs = w.block_size;
    const uint8_t* blk = w.b + (n * nb + k / bs) * (bs * w.bits / 8);
    int64_t i = k % bs;
    if (w.bits == 8) return blk[i];
    uint8_t byte = blk[i / 2];
    return i % 2 == 0 ? byte & 0x0F : byte >> 4;
  }
};

[[maybe_unused]] bool valid(const NBitsWeights& w) {
  bool bs_ok = w.block_size >= 16 && w.block_size <= 256 && (w.block_size & (w.block_size - 1)) == 0;
  return (w.bits == 4 || w.bits == 8) && bs_ok && w.N > 0 && w.K > 0 && w.b && w.scales &&
         (w.zp == ZeroPoints::none || w.zero_points);
}

}  // namespace

void dequantize_nbits(const NBitsWeights& w, float* out) {
  assert(valid(w));
  OnnxReader r{w, (w.K + w.block_size - 1) / w.block_size};
  for (int64_t n = 0; n < w.N; ++n)
    for (int64_t k = 0; k < w.K; ++k) {
      int64_t b = k / w.block_size;
      out[n * w.K + k] = (float(r.q(n, k)) - r.zero_point(n, b)) * r.scale(n, b);
    }
}

PackedNBits pack_nbits(const NBitsWeights& w, int accuracy_level) {
  assert(valid(w));
  PackedNBits p;
  p.n_ = w.N;
  p.k_ = w.K;
  p.bits_ = w.bits;
  p.bs_ = w.block_size;
  p.accuracy_level_ = accuracy_level;
  p.zp_ = w.zp;
  p.nb_ = (w.K + w.block_size - 1) / w.block_size;
  p.kp_ = round_up(p.nb_ * w.block_size, 32);
  p.n_slots_ = round_up(p.kp_ / w.block_size, 8);

  size_t weight_bytes = size_t(w.N * p.row_bytes());
  size_t param_bytes = size_t(w.N * p.n_slots_) * sizeof(float);
  p.scales_off_ = round_up(int64_t(weight_bytes), 64);
  p.zp_off_ = p.scales_off_ + round_up(int64_t(param_bytes), 64);
  size_t zp_bytes = w.zp == ZeroPoints::none        ? 0
                    : w.zp == ZeroPoints::packed_u8 ? size_t(w.N * p.n_slots_)
                                                    : param_bytes;
  p.bytes_ = size_t(round_up(int64_t(p.zp_off_ + zp_bytes), 64));
  p.data_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, p.bytes_)));
  std::memset(p.data_.get(), 0, p.bytes_);

  OnnxReader r{w, p.nb_};
  uint8_t* wt = p.data_.get();
  float* scales = reinterpret_cast<float*>(wt + p.scales_off_);
  uint8_t* zp8 = wt + p.zp_off_;
  float* zpf = reinterpret_cast<float*>(wt + p.zp_off_);
  const int bias = w.bits == 8 ? 128 : 0;  // 8-bit values are stored as int8 q - 128
  for (int64_t n = 0; n < w.N; ++n) {
    uint8_t* row = wt + n * p.row_bytes();
    for (int64_t k = 0; k < w.K; ++k) {
      int q = r.q(n, k);
      int64_t chunk = k / 32, j = k % 32;
      if (w.bits == 8) {
        row[k] = uint8_t(q - bias);
      } else {
        uint8_t& byte = row[chunk * 16 + j % 16];
        byte = uint8_t(byte | (j < 16 ? q : q << 4));
      }
    }
    for (int64_t b = 0; b < p.nb_; ++b) {
      int64_t s = n * p.n_slots_ + nbits::slot_of_block(b, w.block_size);
      scales[s] = r.scale(n, b);
      if (w.zp == ZeroPoints::packed_u8) zp8[s] = uint8_t(r.zero_point(n, b));
      if (w.zp == ZeroPoints::typed) zpf[s] = r.zero_point(n, b);
    }
  }
  return p;
}

void dequantize_packed(const PackedNBits& p, float* out) {
  const int bias = p.bits() == 8 ? 128 : 0;
  for (int64_t n = 0; n < p.N(); ++n) {
    const uint8_t* row = p.weights() + n * p.row_bytes();
    for (int64_t k = 0; k < p.K(); ++k) {
      int64_t b = k / p.block_size();
      int64_t s = n * p.n_slots() + nbits::slot_of_block(b, p.block_size());
      int64_t chunk = k / 32, j = k % 32;
      int q = p.bits() == 8 ? int(int8_t(row[k])) + bias
                            : (j < 16 ? row[chunk * 16 + j] & 0x0F : row[chunk * 16 + j - 16] >> 4);
      float zp = p.zp_mode() == ZeroPoints::none        ? float(1 << (p.bits() - 1))
                 : p.zp_mode() == ZeroPoints::packed_u8 ? float(p.zp_u8()[s])
                                                        : p.zp_f32()[s];
      out[n * p.K() + k] = (float(q) - zp) * p.scales()[s];
    }
  }
}

}  // namespace rllm::kernels
