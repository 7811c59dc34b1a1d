// MatMulNBits, accuracy_level 4 with AVX512-VNNI (VL): the q8a kernel body of
// gemm_q8a_qnb_impl.h with vpdpbusd on ymm registers, which fuses the
// u8 x s8 multiply, the pairwise int16 add and the int32 accumulate.
#include <cstring>

// GCC 12 reports the deliberately undefined pass-through of avx512fintrin.h's
// unmasked forms (_mm512_undefined_*, `__Y = __Y`) as maybe uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/x86/gemm_q8a_qnb_impl.h"

namespace rllm::kernels::nbits {
namespace {

// On ymm0-31 (AVX-512VL), so tiles take more rows (kMr).
struct DotVnni {
  static constexpr int kRegs = 32;
  static __m256i quad4(__m256i acc, __m256i w, __m256i a) { return _mm256_dpbusd_epi32(acc, w, a); }
  static __m256i widen4(__m256i acc) { return acc; }  // already int32
  // 8-bit: the stored q - 128 turned back into q (u8, one xor per weight
  // vector shared by the rows) times the s8 activations, no saturation; the
  // zero point is then taken as given (load_zp's kUnsigned8).
  static constexpr bool kUnsigned8 = true;
  using W8 = __m256i;
  static W8 prep8(__m256i v) { return _mm256_xor_si256(v, _mm256_set1_epi8(char(0x80))); }
  static __m256i quad8(__m256i acc, W8 w, __m256i a) { return _mm256_dpbusd_epi32(acc, w, a); }
  static void pin(__m256i& v) { __asm__("" : "+v"(v)); }
};

// Blocks of 32 on zmm: a tile is MR rows x two adjacent panels (16 columns),
// each zmm holding the same quad of both panels, so one activation broadcast
// feeds 16 columns and the per-block f32 work (convert, scales) is done once
// per 16 columns instead of once per 8. Per row and block: 8 vpdpbusd and 3
// f32 ops (convert, scale product, FMA) on the two vector ports, plus the
// weight unpacking (a shuffle and one or two logic ops per weight vector)
// shared by the MR rows: 16 rows (16 integer sums of the 32 zmm) make that
// about 1 per row.
// A tile is one row group of ActRows (kVnniRowGroup rows, or the last
// group's MR), whose rows' chunks lie next to each other: one pointer.
constexpr int kMr2 = kVnniRowGroup;

template <int kBits, ZeroPoints kZp, int MR>
void tile2_q8a(const PackedNBits& w, const ActRows& act, int64_t g, int64_t p, int nr, const float* bias,
               float* Y, int64_t ldy) {
  const int64_t n_chunks = w.k_padded() / 32, nbp = w.n_blocks_padded(), pb = w.panel_bytes(), m0 = g * kMr2;
  const uint8_t* wp = w.panel(p);
  const float* scales = w.scales() + p * nbp * 8;  // panel p + 1's: nbp * 8 further
  const int8_t* q = act.gq(g);       // [n_chunks][MR][32]
  const float* da = act.gda(g, MR);  // [nbp][MR], as asum and zsum
  [[maybe_unused]] const float* as = act.gasum(g, MR);
  [[maybe_unused]] const int32_t* zs = act.gzsum(g, MR);
  // acc [MR][16] in memory, as in tile_q8a.
  alignas(64) float acc_buf[MR * 16];
  float* acc = acc_buf;
  for (int m = 0; m < MR; ++m) _mm512_store_ps(acc + m * 16, _mm512_setzero_ps());
  // [lo | hi] as lanes 0-1 of each (a shuffle, not vinsert*: GCC 12 warns on
  // the undefined upper half inside _mm512_insert*).
  auto both = [](__m256 lo, __m256 hi) {
    return _mm512_shuffle_f32x4(_mm512_castps256_ps512(lo), _mm512_castps256_ps512(hi), 0x44);
  };
  auto both_i = [](const uint8_t* lo, const uint8_t* hi) {
    return _mm512_shuffle_i64x2(_mm512_castsi256_si512(_mm256_load_si256(reinterpret_cast<const __m256i*>(lo))),
                                _mm512_castsi256_si512(_mm256_load_si256(reinterpret_cast<const __m256i*>(hi))), 0x44);
  };
  for (int64_t j = 0; j < n_chunks; ++j) {
    __asm__ volatile("" : "+r"(acc));
    const uint8_t* cw = wp + j * (kBits == 4 ? 128 : 256);
    const int8_t* qj = q + j * MR * 32;
    // Without zero points the integer sums start from -zp * asum (zsum), so
    // the f32 work has no zero-point term.
    __m512i s0[MR];
    for (int m = 0; m < MR; ++m)
      s0[m] = kZp == ZeroPoints::none ? _mm512_set1_epi32(zs[j * MR + m]) : _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int t = 0; t < 4; ++t) {
      for (int h = 0; h < 2; ++h) {
        __m512i v;
        if constexpr (kBits == 4) {
          const __m512i raw = both_i(cw + t * 32, cw + pb + t * 32);
          v = _mm512_and_si512(h == 1 ? _mm512_srli_epi16(raw, 4) : raw, _mm512_set1_epi8(0x0F));
        } else {
          const int off = t * 64 + h * 32;
          v = _mm512_xor_si512(both_i(cw + off, cw + pb + off), _mm512_set1_epi8(char(0x80)));  // q - 128 -> q (u8)
        }
        for (int m = 0; m < MR; ++m) {
          int32_t x;
          std::memcpy(&x, qj + m * 32 + h * 16 + 4 * t, 4);
          s0[m] = _mm512_dpbusd_epi32(s0[m], v, _mm512_set1_epi32(x));
          __asm__("" : "+v"(s0[m]));
        }
      }
    }
    // Block j: acc[m] += (scale * da) * (sum - zp * asum), zp as given.
    const __m512 s = both(_mm256_loadu_ps(scales + j * 8), _mm256_loadu_ps(scales + (nbp + j) * 8));
    [[maybe_unused]] __m512 zp;
    if constexpr (kZp != ZeroPoints::none)
      zp = both(load_zp<kBits, kZp, true>(w, (p * nbp + j) * 8), load_zp<kBits, kZp, true>(w, ((p + 1) * nbp + j) * 8));
    for (int m = 0; m < MR; ++m) {
      __m512 t = _mm512_cvtepi32_ps(s0[m]);
      if constexpr (kZp != ZeroPoints::none) t = _mm512_fnmadd_ps(zp, _mm512_set1_ps(as[j * MR + m]), t);
      const __m512 sum = _mm512_fmadd_ps(_mm512_mul_ps(s, _mm512_set1_ps(da[j * MR + m])), t, _mm512_load_ps(acc + m * 16));
      _mm512_store_ps(acc + m * 16, sum);
    }
  }
  const __mmask16 mask = __mmask16((1u << nr) - 1);
  for (int m = 0; m < MR; ++m) {
    __m512 v = _mm512_load_ps(acc + m * 16);
    if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, bias + p * 8));
    _mm512_mask_storeu_ps(Y + (m0 + m) * ldy + p * 8, mask, v);
  }
}

// Row group g (r rows) x panels p, p + 1.
template <int kBits, ZeroPoints kZp, int MR = kMr2>
void group2_q8a(const PackedNBits& w, const ActRows& act, int64_t g, int r, int64_t p, int nr, const float* bias,
                float* Y, int64_t ldy) {
  if (r == MR) tile2_q8a<kBits, kZp, MR>(w, act, g, p, nr, bias, Y, ldy);
  else if constexpr (MR > 1) group2_q8a<kBits, kZp, MR - 1>(w, act, g, r, p, nr, bias, Y, ldy);
}

// Pairs of panels on zmm; a last odd panel on the ymm tile (rows as
// run_q8a). Rows go in blocks of row groups with ~512 KB of activations (L2
// is 1-2 MB on AVX-512 cores): a block's tiles share each panel pair from
// L1/L2, and the weights are read from L3 or DRAM once per block.
template <int kBits, ZeroPoints kZp>
void run2_q8a(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0, int64_t n1, const float* bias,
              float* Y, int64_t ldy) {
  constexpr int64_t kActBlockBytes = 512 << 10;
  const int64_t n_groups = (M + kMr2 - 1) / kMr2;
  const int64_t gb = std::max<int64_t>(1, kActBlockBytes / act.group_stride);
  for (int64_t g0 = 0; g0 < n_groups; g0 += gb) {
    const int64_t g1 = std::min(n_groups, g0 + gb);
    for (int64_t n = n0; n < n1; n += 16) {
      if (n1 - n > 8) {
        const int nr = int(std::min<int64_t>(16, n1 - n));
        for (int64_t g = g0; g < g1; ++g)
          group2_q8a<kBits, kZp>(w, act, g, int(std::min<int64_t>(kMr2, M - g * kMr2)), n / 8, nr, bias, Y, ldy);
      } else {
        rows_q8a<DotVnni, kBits, 32, kZp, kMr<DotVnni, 32>>(w, act, g0 * kMr2, std::min(M, g1 * kMr2), n / 8,
                                                             int(n1 - n), bias, Y, ldy);
      }
    }
  }
}

template <int kBits>
NBitsKernelFn pick2_zp(ZeroPoints zp) {
  switch (zp) {
    case ZeroPoints::none: return run2_q8a<kBits, ZeroPoints::none>;
    case ZeroPoints::packed_u8: return run2_q8a<kBits, ZeroPoints::packed_u8>;
    case ZeroPoints::typed: return run2_q8a<kBits, ZeroPoints::typed>;
  }
  return nullptr;
}

}  // namespace

void gemm_q8a_qnb_f32_avx512vnni(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0,
                                 int64_t n1, const float* bias, float* Y, int64_t ldy) {
  if (w.block_size() == 32) {
    (w.bits() == 4 ? pick2_zp<4>(w.zp_mode()) : pick2_zp<8>(w.zp_mode()))(w, act, M, n0, n1, bias, Y, ldy);
    return;
  }
  pick_q8a<DotVnni>(w)(w, act, M, n0, n1, bias, Y, ldy);
}

}  // namespace rllm::kernels::nbits
