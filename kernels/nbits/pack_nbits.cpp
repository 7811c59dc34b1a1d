// MatMulNBits: ONNX layout -> packed layout (nbits_kernel.h), and the two
// dequantizations used by tests, GatherBlockQuantized and fallbacks.
#include <algorithm>
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

namespace {

// 4 nibbles n0..n3 of x (low first) -> the low nibbles of 4 bytes.
inline uint32_t spread_nibbles(uint32_t x) {
  uint32_t v = (x & 0x00FFu) | ((x & 0xFF00u) << 8);
  return (v & 0x000F000Fu) | ((v & 0x00F000F0u) << 4);
}

// Chunk j (K values 32j .. 32j + 31) of column c from src (the ONNX row's
// bytes for those values: 16 for 4-bit, 32 for 8-bit) into a packed chunk.
void pack_chunk(const uint8_t* src, int bits, int64_t c, uint8_t* chunk) {
  if (bits == 4) {
    for (int t = 0; t < 4; ++t) {
      uint32_t lo = src[2 * t] | uint32_t(src[2 * t + 1]) << 8;          // values 4t .. 4t+3
      uint32_t hi = src[8 + 2 * t] | uint32_t(src[8 + 2 * t + 1]) << 8;  // values 16+4t ..
      uint32_t out = spread_nibbles(lo) | spread_nibbles(hi) << 4;
      std::memcpy(chunk + t * 32 + c * 4, &out, 4);
    }
  } else {
    for (int t = 0; t < 4; ++t) {
      uint32_t lo, hi;
      std::memcpy(&lo, src + 4 * t, 4);
      std::memcpy(&hi, src + 16 + 4 * t, 4);
      lo ^= 0x80808080u;  // u8 q -> int8 q - 128
      hi ^= 0x80808080u;
      std::memcpy(chunk + 2 * t * 32 + c * 4, &lo, 4);
      std::memcpy(chunk + (2 * t + 1) * 32 + c * 4, &hi, 4);
    }
  }
}

// Destination arrays of a PackedNBits being built.
struct PackOut {
  uint8_t* weights;
  float* scales;
  uint8_t* zp8;
  float* zpf;
};

// Packs panels [p0, p1) of w (p gives the layout).
void pack_panels(const NBitsWeights& w, const PackedNBits& p, const PackOut& o, int64_t p0, int64_t p1) {
  OnnxReader r{w, p.n_blocks()};
  const int64_t row_len = p.n_blocks() * w.block_size * w.bits / 8;  // ONNX bytes per row
  const int64_t src_chunk = 32 * w.bits / 8, n_chunks = p.k_padded() / 32, nbp = p.n_blocks_padded();
  for (int64_t pi = p0; pi < p1; ++pi) {
    uint8_t* panel = o.weights + pi * p.panel_bytes();
    for (int64_t c = 0; c < 8 && pi * 8 + c < w.N; ++c) {
      const int64_t n = pi * 8 + c;
      const uint8_t* row = w.b + n * row_len;
      for (int64_t j = 0; j < n_chunks; ++j) {
        const uint8_t* src = row + j * src_chunk;
        uint8_t tail[32] = {};
        if ((j + 1) * src_chunk > row_len) {  // past the last block (bs 16): zeros
          std::memcpy(tail, src, size_t(row_len - j * src_chunk));
          src = tail;
        }
        pack_chunk(src, w.bits, c, panel + j * p.chunk_bytes());
      }
      for (int64_t b = 0; b < p.n_blocks(); ++b) {
        const int64_t i = (pi * nbp + b) * 8 + c;
        o.scales[i] = r.scale(n, b);
        if (w.zp == ZeroPoints::packed_u8) o.zp8[i] = uint8_t(r.zero_point(n, b));
        if (w.zp == ZeroPoints::typed) o.zpf[i] = r.zero_point(n, b);
      }
    }
  }
}

}  // namespace

PackedNBits nbits_layout(const NBitsWeights& w, int accuracy_level) {
  PackedNBits p;
  p.n_ = w.N;
  p.k_ = w.K;
  p.bits_ = w.bits;
  p.bs_ = w.block_size;
  p.accuracy_level_ = accuracy_level;
  p.zp_ = w.zp;
  p.nb_ = (w.K + w.block_size - 1) / w.block_size;
  p.kp_ = round_up(p.nb_ * w.block_size, 32);
  size_t weight_bytes = size_t(p.n_panels() * p.panel_bytes());
  size_t params = size_t(p.n_panels() * p.n_blocks_padded() * 8);
  p.scales_off_ = round_up(int64_t(weight_bytes), 64);
  p.zp_off_ = p.scales_off_ + round_up(int64_t(params * sizeof(float)), 64);
  size_t zp_bytes = w.zp == ZeroPoints::none ? 0 : w.zp == ZeroPoints::packed_u8 ? params : params * sizeof(float);
  p.bytes_ = size_t(round_up(int64_t(p.zp_off_ + zp_bytes), 64));
  return p;
}

PackedNBits adopt_packed_nbits(const NBitsWeights& w, int accuracy_level, std::shared_ptr<const uint8_t> bytes,
                               size_t size) {
  PackedNBits p = nbits_layout(w, accuracy_level);
  if (size != p.bytes_ || bytes == nullptr || reinterpret_cast<uintptr_t>(bytes.get()) % 64 != 0) return {};
  p.data_ = std::move(bytes);
  return p;
}

PackedNBits pack_nbits(const NBitsWeights& w, int accuracy_level, ThreadPool* pool,
                       const std::function<void(int64_t, int64_t)>& rows_packed,
                       const std::function<std::shared_ptr<uint8_t>(size_t)>& allocate) {
  assert(valid(w));
  PackedNBits p = nbits_layout(w, accuracy_level);
  const int64_t panels = p.n_panels();
  const size_t weight_bytes = size_t(panels * p.panel_bytes());
  std::shared_ptr<uint8_t> buffer = allocate ? allocate(p.bytes_) : nullptr;
  if (buffer == nullptr) buffer = std::shared_ptr<uint8_t>(static_cast<uint8_t*>(std::aligned_alloc(64, p.bytes_)), AlignedFree{});
  uint8_t* data = buffer.get();
  assert(reinterpret_cast<uintptr_t>(data) % 64 == 0);
  p.data_ = std::move(buffer);
  // Only the tail panel's missing columns and the padding blocks stay zero:
  // clear the parameter arrays and the last panel, the rest is overwritten.
  std::memset(data + (panels - 1) * p.panel_bytes(), 0, size_t(p.panel_bytes()));
  std::memset(data + weight_bytes, 0, p.bytes_ - weight_bytes);
  PackOut o{data, reinterpret_cast<float*>(data + p.scales_off_), data + p.zp_off_,
            reinterpret_cast<float*>(data + p.zp_off_)};
  // In slices of 256 panels (2048 rows): the pool hands each thread one large
  // range, and a caller releasing the source as it goes keeps one slice of it resident.
  auto run = [&](int64_t p0, int64_t p1) {
    for (int64_t s = p0; s < p1; s += 256) {
      const int64_t e = std::min(p1, s + 256);
      pack_panels(w, p, o, s, e);
      if (rows_packed) rows_packed(s * PackedNBits::kPanel, std::min(e * PackedNBits::kPanel, w.N));
    }
  };
  if (pool != nullptr) pool->parallel_for(panels, 16, run);
  else run(0, panels);
  return p;
}

void dequantize_packed_row(const PackedNBits& p, int64_t n, float* out) {
  for (int64_t k = 0; k < p.K(); ++k) {
    int64_t b = k / p.block_size();
    float q = float(nbits::packed_q(p, n, k));
    out[k] = (q - nbits::packed_zp(p, n, b)) * nbits::packed_scale(p, n, b);
  }
}

void dequantize_packed(const PackedNBits& p, float* out) {
  for (int64_t n = 0; n < p.N(); ++n) dequantize_packed_row(p, n, out + n * p.K());
}

}  // namespace rllm::kernels
