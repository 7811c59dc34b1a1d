// MatMulNBits, accuracy_level 4, blocks of 32, on AMX int8 tiles. A tile is
// one row group of ActRows (16 rows, or the last group's r) x 16 columns (a
// pair of panels): per block, one tdpbssd of the group's activations A [r, 32]
// s8 by the weights B [32, 16] s8, then the int32 tile is stored and scaled
// in fp32 on zmm as the VNNI kernel does (acc += (scale * da) * sum).
//
// The weights stay in the packed layout: a K slice of the pair of panels is
// unpacked into a B tile per block (8 rows of 64 bytes, row t = K values
// 4t..4t+3 of the 16 columns, which is what a packed quad already is) in an
// L1 buffer, shared by every row group of the row block. Integer zero points
// go into the unpacked values (4-bit q - zp in -15..15; 8-bit without zero
// points q - 128, as stored), so the tile sum is the exact integer
// dot - zp * asum; float zero points and 8-bit u8 ones (q - zp does not fit
// s8) keep the fp32 term, as in the VNNI kernel. So for integer zero points
// the result equals the VNNI kernel's bit for bit.
// Other block sizes and fewer than kMinRows rows run the VNNI kernel.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

// GCC 12 reports the deliberately undefined pass-through of avx512fintrin.h's
// unmasked forms as maybe uninitialized (see the VNNI kernel).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/x86/amx_tile_config.h"
#include "kernels/nbits/nbits_kernel.h"

namespace rllm::kernels::nbits {
namespace {

constexpr int kG = kVnniRowGroup;      // rows per A tile (row group)
constexpr int64_t kMinRows = 16;       // fewer: the VNNI kernel (bench_kernels)
constexpr int64_t kSliceBlocks = 64;   // B buffer: 64 blocks x 512 bytes = 32 KB (L1)
constexpr int64_t kMaxGroups = 8;      // row groups per row block (f32 sums: 16 KB)

using amx::TileConfig;

// tmm0, tmm1: C [r, 16] int32; tmm2, tmm3: A [r, 32] s8; tmm4, tmm5: B (8 quads x 16 columns).
void configure(int r) {
  alignas(64) TileConfig c;
  for (int t : {0, 1, 2, 3}) {
    c.rows[t] = uint8_t(r);
    c.colsb[t] = t < 2 ? 64 : 32;
  }
  for (int t : {4, 5}) {
    c.rows[t] = 8;
    c.colsb[t] = 64;
  }
  _tile_loadconfig(&c);
}

// Whether the zero point goes into the unpacked integer values.
template <int kBits, ZeroPoints kZp>
constexpr bool kIntZp = kZp == ZeroPoints::none || (kBits == 4 && kZp == ZeroPoints::packed_u8);

// 32 bytes at lo (panel p) and at hi (panel p + 1, or zeros when absent).
// (Masked load and insert: GCC 12's unmasked _mm512_inserti64x4 and 256->512
// casts pass an undefined vector that -Wuninitialized reports.)
inline __m512i both_i(const uint8_t* lo, const uint8_t* hi) {
  const __m512i a = _mm512_maskz_loadu_epi64(__mmask8(0x0f), lo);
  const __m256i b = hi ? _mm256_load_si256(reinterpret_cast<const __m256i*>(hi)) : _mm256_setzero_si256();
  return _mm512_mask_inserti64x4(a, __mmask8(0xff), a, b, 1);
}

inline __m512 both_f(const float* lo, const float* hi) {
  const __m512i a = _mm512_castps_si512(_mm512_maskz_loadu_ps(__mmask16(0x00ff), lo));
  const __m256 b = hi ? _mm256_loadu_ps(hi) : _mm256_setzero_ps();
  return _mm512_castsi512_ps(_mm512_mask_inserti64x4(a, __mmask8(0xff), a, _mm256_castps_si256(b), 1));
}

// Blocks [j0, j1) of panels p, p + 1 (has_hi) as B tiles: bt [j1 - j0][8][64].
// Without panel p + 1 its columns hold -zp: never stored (see run_amx).
template <int kBits, ZeroPoints kZp>
void unpack(const PackedNBits& w, int64_t p, bool has_hi, int64_t j0, int64_t j1, int8_t* bt) {
  const int64_t nbp = w.n_blocks_padded(), cb = w.chunk_bytes();
  const uint8_t* lo = w.panel(p);
  const uint8_t* hi = has_hi ? w.panel(p + 1) : nullptr;
  for (int64_t j = j0; j < j1; ++j) {
    int8_t* out = bt + (j - j0) * 512;
    const uint8_t* cl = lo + j * cb;
    const uint8_t* ch = hi ? hi + j * cb : nullptr;
    if constexpr (kBits == 4) {
      // Byte 4c + i of either half: the zero point of column c.
      __m512i zp = _mm512_set1_epi8(8);
      if constexpr (kZp == ZeroPoints::packed_u8) {
        const uint8_t* z = w.zp_u8();
        uint64_t zl, zh = 0;
        std::memcpy(&zl, z + (p * nbp + j) * 8, 8);
        if (has_hi) std::memcpy(&zh, z + ((p + 1) * nbp + j) * 8, 8);
        const __m512i z32 = _mm512_cvtepu8_epi32(_mm_set_epi64x(int64_t(zh), int64_t(zl)));
        zp = _mm512_mullo_epi32(z32, _mm512_set1_epi32(0x01010101));
      }
      for (int t = 0; t < 4; ++t) {
        const __m512i raw = both_i(cl + t * 32, ch ? ch + t * 32 : nullptr);
        __m512i l = _mm512_and_si512(raw, _mm512_set1_epi8(0x0F));
        __m512i h = _mm512_and_si512(_mm512_srli_epi16(raw, 4), _mm512_set1_epi8(0x0F));
        if constexpr (kIntZp<kBits, kZp>) {
          l = _mm512_sub_epi8(l, zp);
          h = _mm512_sub_epi8(h, zp);
        }
        _mm512_store_si512(out + t * 64, l);
        _mm512_store_si512(out + (t + 4) * 64, h);
      }
    } else {
      // Stored q - 128: vector 2t = quad t, 2t + 1 = quad t + 4.
      for (int t = 0; t < 4; ++t) {
        _mm512_store_si512(out + t * 64, both_i(cl + t * 64, ch ? ch + t * 64 : nullptr));
        _mm512_store_si512(out + (t + 4) * 64, both_i(cl + t * 64 + 32, ch ? ch + t * 64 + 32 : nullptr));
      }
    }
  }
}

// Row group g (R rows; R = 0: r rows, known at run time) x blocks [j0, j1)
// of the 16 columns from panel p, acc [16][16] f32 in and out.
// A block's int32 tile goes to one of 4 buffers and is scaled two blocks
// later: a vector load right after a tile store to the same bytes waits for
// the store to commit, so the tile work of the next blocks runs meanwhile.
template <int kBits, ZeroPoints kZp, int R>
void group_blocks(const PackedNBits& w, const ActRows& act, int64_t g, int r, int64_t p, bool has_hi, int64_t j0,
                  int64_t j1, const int8_t* bt, float* acc_io) {
  const int rows = R > 0 ? R : r;
  const int64_t nbp = w.n_blocks_padded();
  const float* sl = w.scales() + p * nbp * 8;
  const float* sh = has_hi ? sl + nbp * 8 : nullptr;
  const int8_t* q = act.gq(g);          // [n_chunks][r][32]
  const float* da = act.gda(g, r);      // [nbp][r], as asum
  [[maybe_unused]] const float* as = act.gasum(g, r);
  __m512 acc[kG];
#pragma GCC unroll 16
  for (int m = 0; m < rows; ++m) acc[m] = _mm512_load_ps(acc_io + m * 16);
  alignas(64) int32_t c[4][kG * 16];
  auto scale = [&](int64_t j) {
    const int32_t* cj = c[(j - j0) & 3];
    const __m512 s = both_f(sl + j * 8, sh ? sh + j * 8 : nullptr);
    [[maybe_unused]] __m512 zp;
    if constexpr (!kIntZp<kBits, kZp>) {
      constexpr float kShift = kBits == 8 ? 128.0f : 0.0f;
      if constexpr (kZp == ZeroPoints::packed_u8) {
        uint64_t zl, zh = 0;
        std::memcpy(&zl, w.zp_u8() + (p * nbp + j) * 8, 8);
        if (has_hi) std::memcpy(&zh, w.zp_u8() + ((p + 1) * nbp + j) * 8, 8);
        zp = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_set_epi64x(int64_t(zh), int64_t(zl))));
      } else {
        zp = both_f(w.zp_f32() + (p * nbp + j) * 8, has_hi ? w.zp_f32() + ((p + 1) * nbp + j) * 8 : nullptr);
      }
      zp = _mm512_sub_ps(zp, _mm512_set1_ps(kShift));
    }
#pragma GCC unroll 16
    for (int m = 0; m < rows; ++m) {
      __m512 t = _mm512_cvtepi32_ps(_mm512_load_si512(cj + m * 16));
      if constexpr (!kIntZp<kBits, kZp>) t = _mm512_fnmadd_ps(zp, _mm512_set1_ps(as[j * r + m]), t);
      acc[m] = _mm512_fmadd_ps(_mm512_mul_ps(s, _mm512_set1_ps(da[j * r + m])), t, acc[m]);
    }
  };
  // Block j on tiles 0, 2, 4 or (second) 1, 3, 5, so consecutive blocks
  // overlap. Inline asm rather than the intrinsics, whose "memory" clobber
  // keeps acc in memory: each names the bytes it reads or writes instead.
  auto tile = [&](int64_t j, bool second) {
    const int8_t* a = q + j * r * 32;
    const int8_t* b = bt + (j - j0) * 512;
    int32_t* out = c[(j - j0) & 3];
    const auto& av = *reinterpret_cast<const int8_t(*)[kG * 32]>(a);
    const auto& bv = *reinterpret_cast<const int8_t(*)[512]>(b);
    auto& ov = *reinterpret_cast<int32_t(*)[kG * 16]>(out);
    if (!second)
      __asm__ volatile(
          "tileloadd (%1,%4,1), %%tmm2\n\t"
          "tileloadd (%2,%5,1), %%tmm4\n\t"
          "tilezero %%tmm0\n\t"
          "tdpbssd %%tmm4, %%tmm2, %%tmm0\n\t"
          "tilestored %%tmm0, (%3,%5,1)"
          : "=m"(ov)
          : "r"(a), "r"(b), "r"(out), "r"(int64_t(32)), "r"(int64_t(64)), "m"(av), "m"(bv));
    else
      __asm__ volatile(
          "tileloadd (%1,%4,1), %%tmm3\n\t"
          "tileloadd (%2,%5,1), %%tmm5\n\t"
          "tilezero %%tmm1\n\t"
          "tdpbssd %%tmm5, %%tmm3, %%tmm1\n\t"
          "tilestored %%tmm1, (%3,%5,1)"
          : "=m"(ov)
          : "r"(a), "r"(b), "r"(out), "r"(int64_t(32)), "r"(int64_t(64)), "m"(av), "m"(bv));
  };
  // Straight-line steady state (GCC keeps acc in registers only without branches in it).
  tile(j0, false);
  if (j0 + 1 < j1) tile(j0 + 1, true);
  int64_t j = j0 + 2;
  for (; j + 2 <= j1; j += 2) {
    tile(j, false);
    scale(j - 2);
    tile(j + 1, true);
    scale(j - 1);
  }
  if (j < j1) {
    tile(j, false);
    scale(j - 2);
    ++j;
  }
  for (int64_t k = std::max(j0, j - 2); k < j1; ++k) scale(k);
#pragma GCC unroll 16
  for (int m = 0; m < rows; ++m) _mm512_store_ps(acc_io + m * 16, acc[m]);
}

// Row blocks of up to kMaxGroups row groups; per block, each pair of panels
// is unpacked one K slice at a time and passed over the block's groups.
template <int kBits, ZeroPoints kZp>
void run_amx(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0, int64_t n1, const float* bias, float* Y,
             int64_t ldy) {
  const int64_t n_groups = (M + kG - 1) / kG, nb = w.n_blocks_padded();
  alignas(64) int8_t bt[kSliceBlocks * 512];
  alignas(64) float acc[kMaxGroups][kG * 16];
  int configured = 0;
  for (int64_t g0 = 0; g0 < n_groups; g0 += kMaxGroups) {
    const int64_t g1 = std::min(n_groups, g0 + kMaxGroups);
    for (int64_t n = n0; n < n1; n += 16) {
      const int64_t p = n / 8;
      const int nr = int(std::min<int64_t>(16, n1 - n));
      const bool has_hi = nr > 8;
      std::memset(acc, 0, sizeof(float) * size_t(g1 - g0) * kG * 16);
      for (int64_t j0 = 0; j0 < nb; j0 += kSliceBlocks) {
        const int64_t j1 = std::min(nb, j0 + kSliceBlocks);
        unpack<kBits, kZp>(w, p, has_hi, j0, j1, bt);
        for (int64_t g = g0; g < g1; ++g) {
          const int r = int(std::min<int64_t>(kG, M - g * kG));
          if (r != configured) {
            configure(r);
            configured = r;
          }
          if (r == kG) group_blocks<kBits, kZp, kG>(w, act, g, r, p, has_hi, j0, j1, bt, acc[g - g0]);
          else group_blocks<kBits, kZp, 0>(w, act, g, r, p, has_hi, j0, j1, bt, acc[g - g0]);
        }
      }
      const __mmask16 mask = __mmask16((1u << nr) - 1);
      const __m512 b = bias ? _mm512_maskz_loadu_ps(mask, bias + n) : _mm512_setzero_ps();
      for (int64_t g = g0; g < g1; ++g) {
        const int r = int(std::min<int64_t>(kG, M - g * kG));
        for (int m = 0; m < r; ++m) {
          __m512 v = _mm512_load_ps(acc[g - g0] + m * 16);
          if (bias) v = _mm512_add_ps(v, b);
          _mm512_mask_storeu_ps(Y + (g * kG + m) * ldy + n, mask, v);
        }
      }
    }
  }
  _tile_release();
}

template <int kBits>
NBitsKernelFn pick_zp(ZeroPoints zp) {
  switch (zp) {
    case ZeroPoints::none: return run_amx<kBits, ZeroPoints::none>;
    case ZeroPoints::packed_u8: return run_amx<kBits, ZeroPoints::packed_u8>;
    case ZeroPoints::typed: return run_amx<kBits, ZeroPoints::typed>;
  }
  return nullptr;
}

}  // namespace

void gemm_q8a_qnb_f32_avx512amx(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0, int64_t n1,
                                const float* bias, float* Y, int64_t ldy) {
  if (w.block_size() != 32 || M < kMinRows) {
    gemm_q8a_qnb_f32_avx512vnni(w, act, M, n0, n1, bias, Y, ldy);
    return;
  }
  (w.bits() == 4 ? pick_zp<4>(w.zp_mode()) : pick_zp<8>(w.zp_mode()))(w, act, M, n0, n1, bias, Y, ldy);
}

}  // namespace rllm::kernels::nbits
