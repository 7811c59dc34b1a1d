// MatMulNBits micro-kernel interface (internal to kernels/ and its tests).
//
// Packed weight layout (PackedNBits), built by pack_nbits. W's rows (output
// columns n) go in panels of 8; K is padded with zeros to kp (a multiple of 32
// and of the block size) and cut into chunks of 32 values. A chunk of a panel
// holds 8 "quads" of 4 consecutive K values, each quad as 32 bytes: byte
// 4c + i = q[8p + c][k0 + i] (column c, so one vpmaddubsw / vpdpbusd against a
// broadcast of 4 activation bytes yields 8 column partial sums, no horizontal
// reduction). Quad t (K values 4t..4t+3 of the chunk) and quad t + 4 (values
// 16 + 4t..) are stored together:
//   4-bit: 128 bytes per chunk; 32-byte vector t = quad t | quad t+4 << 4
//          (AND 0x0F and >> 4 give both, values 0..15);
//   8-bit: 256 bytes per chunk; vector 2t = quad t, 2t + 1 = quad t + 4, int8 q - 128.
// Columns past N are zero. Per panel and block (n_blocks_padded of them), 8
// scales f32 and, when present, 8 zero points (u8, or f32 when typed), the ONNX
// values; padding blocks and columns have scale 0.
//   W[n, k] = (q - zp) * scale.
//
// Activations are prepared per row of A into a workspace row (ActRows):
//   data [kp]: int8 (q8a kernels: symmetric per weight block, quantize_row_i8)
//              or f32 (f32a kernels), zero-padded;
//   da [n_blocks_padded]: activation block scale (q8a only);
//   asum [n_blocks_padded]: sum of the block's int8 values (q8a) or f32
//        values (f32a; the AVX2 few-row kernel factors the zero point out);
//   zsum [n_blocks_padded]: int32 -2^(bits-1) * asum (q8a only), the zero
//        point term of weights without zero points (4-bit 8, 8-bit 128),
//        which the VNNI kernel starts its integer block sums from.
// q8a kernels with a row group G (NBitsKernel::row_group) also get the rows
// in groups of G interleaved, so a tile of G rows reads one stream through
// one pointer: group g (rows gG .. gG + r - 1, r = min(G, M - gG)) at
// groups + g * group_stride holds
//   q [kp/32][r][32] int8 (chunk j of each row in turn),
//   then da, asum (f32) and zsum (int32), each [nbp][r].
// The q8a kernels compute, per output, sum_b da_b * scale_b * (dot_b - zp_b * asum_b)
// with dot_b the integer block dot (4-bit values 0..15, 8-bit values q - 128 and
// zp - 128); the f32a kernels dequantize W and run an fp32 dot.
#pragma once

#include <cstdint>
#include <span>

#include "kernels/kernels.h"

namespace rllm::kernels::nbits {

// Value q (0 .. 2^bits - 1) of column n, K index k of the packed weights.
inline int packed_q(const PackedNBits& w, int64_t n, int64_t k) {
  const uint8_t* chunk = w.panel(n / 8) + k / 32 * w.chunk_bytes();
  int64_t r = k % 32, t = r % 16 / 4, c = n % 8, i = r % 4;
  bool upper = r >= 16;  // quad t + 4
  if (w.bits() == 8) return int(int8_t(chunk[(2 * t + upper) * 32 + c * 4 + i])) + 128;
  uint8_t byte = chunk[t * 32 + c * 4 + i];
  return upper ? byte >> 4 : byte & 0x0F;
}

// Scale / zero point of column n, block b (zp as the ONNX value, as a float).
inline float packed_scale(const PackedNBits& w, int64_t n, int64_t b) {
  return w.scales()[(n / 8 * w.n_blocks_padded() + b) * 8 + n % 8];
}
inline float packed_zp(const PackedNBits& w, int64_t n, int64_t b) {
  int64_t i = (n / 8 * w.n_blocks_padded() + b) * 8 + n % 8;
  switch (w.zp_mode()) {
    case ZeroPoints::none: return float(1 << (w.bits() - 1));
    case ZeroPoints::packed_u8: return float(w.zp_u8()[i]);
    case ZeroPoints::typed: return w.zp_f32()[i];
  }
  return 0.0f;
}

struct ActRows {
  const uint8_t* base = nullptr;
  int64_t stride = 0;  // bytes between rows
  int64_t da_off = 0, asum_off = 0, zsum_off = 0;
  const void* data(int64_t m) const { return base + m * stride; }
  const int32_t* zsum(int64_t m) const { return reinterpret_cast<const int32_t*>(base + m * stride + zsum_off); }
  const float* da(int64_t m) const { return reinterpret_cast<const float*>(base + m * stride + da_off); }
  const float* asum(int64_t m) const { return reinterpret_cast<const float*>(base + m * stride + asum_off); }

  // Row groups (null unless the kernel asks for them).
  const uint8_t* groups = nullptr;
  int64_t group_stride = 0, kp = 0, nbp = 0;
  const int8_t* gq(int64_t g) const { return reinterpret_cast<const int8_t*>(groups + g * group_stride); }
  const float* gda(int64_t g, int r) const { return reinterpret_cast<const float*>(gq(g) + r * kp); }
  const float* gasum(int64_t g, int r) const { return gda(g, r) + r * nbp; }
  const int32_t* gzsum(int64_t g, int r) const { return reinterpret_cast<const int32_t*>(gasum(g, r) + r * nbp); }
};

// Y[m, n] (+ bias[n]) for m in [0, M), n in [n0, n1); n0 is a multiple of
// 8 (a panel boundary). Y row stride ldy. bias may be null.
using NBitsKernelFn = void (*)(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0,
                               int64_t n1, const float* bias, float* Y, int64_t ldy);

struct NBitsKernel {
  const char* name;
  Isa isa;
  bool int8_activations;  // q8a (accuracy_level 4) or f32a
  NBitsKernelFn fn;
  int row_group;  // G > 0: also wants ActRows' row groups of G (q8a only)
};

// Every micro-kernel compiled into this build, scalar twins first.
std::span<const NBitsKernel> nbits_kernel_list();

// matmul_nbits with an explicit kernel (tests and bench walk the list).
void matmul_nbits_with(const NBitsKernel& k, const PackedNBits& w, const float* A, int64_t M,
                       const float* bias, float* Y, ThreadPool& pool);

void gemm_q8a_qnb_f32_ref(const PackedNBits&, const ActRows&, int64_t, int64_t, int64_t,
                          const float*, float*, int64_t);
void gemm_f32a_qnb_f32_ref(const PackedNBits&, const ActRows&, int64_t, int64_t, int64_t,
                           const float*, float*, int64_t);
#if defined(__x86_64__)
void gemm_q8a_qnb_f32_avx2(const PackedNBits&, const ActRows&, int64_t, int64_t, int64_t,
                           const float*, float*, int64_t);
void gemm_f32a_qnb_f32_avx2(const PackedNBits&, const ActRows&, int64_t, int64_t, int64_t,
                            const float*, float*, int64_t);
constexpr int kVnniRowGroup = 16;  // rows per tile of the VNNI kernel's blocks of 32
void gemm_q8a_qnb_f32_avx512vnni(const PackedNBits&, const ActRows&, int64_t, int64_t, int64_t,
                                 const float*, float*, int64_t);
// AMX tiles for blocks of 32 and enough rows, the VNNI kernel otherwise (same row groups).
void gemm_q8a_qnb_f32_avx512amx(const PackedNBits&, const ActRows&, int64_t, int64_t, int64_t,
                                const float*, float*, int64_t);
#elif defined(__aarch64__)
void gemm_q8a_qnb_f32_neon_dot(const PackedNBits&, const ActRows&, int64_t, int64_t, int64_t,
                               const float*, float*, int64_t);
void gemm_f32a_qnb_f32_neon(const PackedNBits&, const ActRows&, int64_t, int64_t, int64_t,
                            const float*, float*, int64_t);
#endif

}  // namespace rllm::kernels::nbits
