// Integer GEMM micro-kernels for MatMulInteger-style products (internal to
// kernels/ and its tests).
//
// Packed B (PackedInt8, built by pack_int8), panels of 16 columns, K padded
// with zeros to kp (a multiple of 4):
//   quad_s8:  int8 [N/16][kp/4][16][4]: 64 bytes per group of 4 k, column c's
//             four values at bytes 4c..4c+3 (the vpdpbusd / vpmaddubsw order);
//             uint8 weights are stored as b - 128 with zero point zp - 128.
//   pair_s16: int16 [N/16][kp/2][16][2] of b - zp (exact in int16).
// A is prepared per call into rows of kp elements, zero-padded:
//   quad_s8: the uint8 values as given, with their row sums;
//   pair_s16: int16 a - a_zp.
// A tile kernel writes raw[r * 16 + c] for mr rows and one panel:
//   quad_s8: Σ_k a[k] · b'[k, c] (b' the stored int8), the zero-point terms
//            being added by the driver;
//   pair_s16: Σ_k (a[k] - a_zp)(b[k, c] - zp), final.
#pragma once

#include <cstdint>
#include <span>

#include "kernels/kernels.h"

namespace rllm::kernels::int8 {

using Int8TileFn = void (*)(const uint8_t* a, int64_t a_stride, int mr, const void* panel, int64_t kp,
                            int32_t* raw);
// Two adjacent panels (panel and the next, panel bytes apart) in one pass over
// A: raw[r * 16 + c] for the first, raw[kMaxMr * 16 + r * 16 + c] for the second.

// Finishes a tile of mr rows x nc (<= 16) columns, per row r and column c:
//   v = raw[r*16 + c] + col_term[c] - zp[c] * row_sums[r]   (int32, wrapping)
// then c_out[r*ld + c] = v, or y[r*ld + c] = float(v) * scale[c] (+ bias[c]),
// the multiply and the add each rounded to f32 (no FMA).
struct TileEpilogue {
  const int32_t* col_term;  // [16]: K * a_zp * zp - a_zp * column sum (quad_s8), 0 (pair_s16)
  const int32_t* zp;        // [16]: stored zero points (0 for pair_s16)
  const int32_t* row_sums;  // [mr]
  const float* scale;       // [16], or null: int32 out
  const float* bias;        // [16] or null
};
using Int8EpilogueFn = void (*)(const int32_t* raw, int mr, int nc, const TileEpilogue& e, int32_t* c_out,
                                float* y, int64_t ld);

struct Int8Kernel {
  const char* name;
  Isa isa;
  PackedInt8::Layout layout;
  bool saturates;  // int16-saturating pairs (vpmaddubsw): only for int8 weights
  int mr;          // rows per tile call, at most kMaxMr
  Int8TileFn fn;
  Int8EpilogueFn epilogue;
  Int8TileFn fn2;  // two panels at once (the layout above), or null
};
constexpr int kMaxMr = 16;

// Every micro-kernel compiled into this build, scalar twins first.
std::span<const Int8Kernel> int8_kernel_list();
// The kernel gemm_u8x8 uses for these weights on `isa`.
const Int8Kernel& choose_int8_kernel(const PackedInt8& w, Isa isa);
// gemm_u8x8 with an explicit kernel (tests and bench walk the list).
void gemm_u8x8_with(const Int8Kernel& k, const PackedInt8& w, const uint8_t* A, int64_t lda,
                    uint8_t a_zp, int64_t M, const Int8Output& out, ThreadPool& pool);

void tile_quad_s8_ref(const uint8_t*, int64_t, int, const void*, int64_t, int32_t*);
void tile_pair_s16_ref(const uint8_t*, int64_t, int, const void*, int64_t, int32_t*);
void epilogue_ref(const int32_t*, int, int, const TileEpilogue&, int32_t*, float*, int64_t);
#if defined(__x86_64__)
void tile_u8s8_i32_4x16_avx2(const uint8_t*, int64_t, int, const void*, int64_t, int32_t*);
void tile_s16s16_i32_4x16_avx2(const uint8_t*, int64_t, int, const void*, int64_t, int32_t*);
void tile_u8s8_i32_8x16_avx512vnni(const uint8_t*, int64_t, int, const void*, int64_t, int32_t*);
void tile_u8s8_i32_8x32_avx512vnni(const uint8_t*, int64_t, int, const void*, int64_t, int32_t*);
void tile_u8s8_i32_16x16_avx512amx(const uint8_t*, int64_t, int, const void*, int64_t, int32_t*);
void tile_u8s8_i32_16x32_avx512amx(const uint8_t*, int64_t, int, const void*, int64_t, int32_t*);
void epilogue_avx2(const int32_t*, int, int, const TileEpilogue&, int32_t*, float*, int64_t);
void minmax_with_zero_avx2(const float* x, int64_t n, float* mn, float* mx);
void quantize_u8_avx2(const float* x, int64_t n, float scale, uint8_t zp, uint8_t* q);
#elif defined(__aarch64__)
void tile_u8s8_i32_4x16_neon_dot(const uint8_t*, int64_t, int, const void*, int64_t, int32_t*);
#endif

}  // namespace rllm::kernels::int8
