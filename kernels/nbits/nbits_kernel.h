// MatMulNBits micro-kernel interface (internal to kernels/ and its tests).
//
// Packed weight layout (PackedNBits), built by pack_nbits:
//   weights [N, row_bytes]: each row is K padded with zeros to kp (a multiple
//     of 32 and of the block size), cut into 32-value chunks:
//       4-bit: 16 bytes per chunk, byte j = q[j] | q[j+16] << 4 (so a 128-bit
//              load, AND 0x0F and >> 4 give values 0..15 and 16..31);
//       8-bit: 32 bytes per chunk, int8 q - 128.
//   scales [N, n_slots] f32 and zero points [N, n_slots] (u8, or f32 when typed;
//     the ONNX values: kernels subtract 128 for 8-bit) in *slot* order:
//     blocks go in groups of 8; in a group, block i sits at slot i for
//     bs >= 32 and at slot (i % 2) * 4 + i / 2 for bs = 16, the order in which
//     two levels of 128-bit-lane horizontal adds produce the block sums of
//     four 32-value chunks. Unused slots hold scale 0.
//   W[n, k] = (q - zp) * scale.
//
// Activations are prepared per row of A into a workspace row (ActRows):
//   data [kp]: int8 (q8a kernels: symmetric per weight block, quantize_row_i8)
//              or f32 (f32a kernels), zero-padded;
//   da [n_slots]: activation block scale (1 for f32a), slot order;
//   asum [n_slots]: sum of the block's activation values (as used: int8 or f32).
// Every kernel computes, per output, sum_b scale_b * da_b * (dot_b - zp_b * asum_b).
#pragma once

#include <cstdint>
#include <span>

#include "kernels/kernels.h"

namespace rllm::kernels::nbits {

inline int64_t slot_of_block(int64_t b, int block_size) {
  if (block_size >= 32) return b;
  int64_t i = b % 8;
  return b - i + (i % 2) * 4 + i / 2;
}

struct ActRows {
  const uint8_t* base = nullptr;
  int64_t stride = 0;  // bytes between rows
  int64_t da_off = 0, asum_off = 0;
  const void* data(int64_t m) const { return base + m * stride; }
  const float* da(int64_t m) const { return reinterpret_cast<const float*>(base + m * stride + da_off); }
  const float* asum(int64_t m) const { return reinterpret_cast<const float*>(base + m * stride + asum_off); }
};

// Y[m, n] = sum over blocks (+ bias[n]) for m in [0, M), n in [n0, n1);
// Y row stride ldy. bias may be null.
using NBitsKernelFn = void (*)(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0,
                               int64_t n1, const float* bias, float* Y, int64_t ldy);

struct NBitsKernel {
  const char* name;
  Isa isa;
  bool int8_activations;  // q8a (accuracy_level 4) or f32a
  NBitsKernelFn fn;
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
void gemm_q8a_qnb_f32_avx512vnni(const PackedNBits&, const ActRows&, int64_t, int64_t, int64_t,
                                 const float*, float*, int64_t);
#endif

}  // namespace rllm::kernels::nbits
