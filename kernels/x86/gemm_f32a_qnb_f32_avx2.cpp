// MatMulNBits, accuracy_level 0 on AVX2: f32 activations. A panel's weights
// (8 columns) are dequantized, 256 K values at a time, into an f32 tile
// [256][8] on the stack (each quad transposed to K-major with one shuffle and
// one permute); then MR = 8 rows of A run over it with one FMA per K value
// and row (8 columns per ymm lane).
#include "kernels/x86/qnb_avx2.h"

namespace rllm::kernels::nbits {
namespace {

constexpr int64_t kKc = 256;  // K values per dequantized tile (a multiple of 32 and of bs)
constexpr int64_t kMr = 8;    // activation rows per register tile

// tile[k - k0][c] = W[8p + c][k] for k in [k0, k0 + kc).
template <int kBits, int kBs, ZeroPoints kZp>
void dequant_tile(const PackedNBits& w, int64_t p, int64_t k0, int64_t kc, float* tile) {
  // In each 128-bit lane (4 columns x 4 K values, column-major) -> K-major;
  // then the 32-bit permute puts the two lanes' column groups side by side.
  const __m256i kT = _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
                                      0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  const __m256i kP = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const int64_t nbp = w.n_blocks_padded();
  const float* scales = w.scales() + p * nbp * 8;
  for (int64_t j = k0 / 32; j < (k0 + kc) / 32; ++j) {
    const uint8_t* cw = w.panel(p) + j * w.chunk_bytes();
    for (int t = 0; t < 4; ++t) {
      __m256i v[2];
      if constexpr (kBits == 4) {
        __m256i x = _mm256_load_si256(reinterpret_cast<const __m256i*>(cw + t * 32));
        v[0] = _mm256_and_si256(x, m4);
        v[1] = _mm256_and_si256(_mm256_srli_epi16(x, 4), m4);
      } else {
        v[0] = _mm256_load_si256(reinterpret_cast<const __m256i*>(cw + t * 64));
        v[1] = _mm256_load_si256(reinterpret_cast<const __m256i*>(cw + t * 64 + 32));
      }
      for (int h = 0; h < 2; ++h) {
        const int64_t k = j * 32 + h * 16 + 4 * t, b = k / kBs;
        const __m256 s = _mm256_loadu_ps(scales + b * 8);
        const __m256 zs = _mm256_mul_ps(load_zp<kBits, kZp>(w, (p * nbp + b) * 8), s);
        __m256i x = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(v[h], kT), kP);
        __m128i lo = _mm256_castsi256_si128(x), hi = _mm256_extracti128_si256(x, 1);
        __m128i q8[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
        for (int i = 0; i < 4; ++i) {
          __m256i q = kBits == 4 ? _mm256_cvtepu8_epi32(q8[i]) : _mm256_cvtepi8_epi32(q8[i]);
          _mm256_store_ps(tile + (k - k0 + i) * 8, _mm256_fmsub_ps(_mm256_cvtepi32_ps(q), s, zs));
        }
      }
    }
  }
}

// Y[m0 .. m0+MR, cols] (+)= A[m0 .. m0+MR, k0 .. k0+kc) · tile.
template <int MR>
void tile_dot(const float* tile, int64_t kc, const ActRows& act, int64_t m0, int64_t k0, bool first,
              const float* bias, float* Y, int64_t ldy, int nr) {
  const float* a[MR];
  __m256 acc[MR];
  for (int m = 0; m < MR; ++m) {
    a[m] = static_cast<const float*>(act.data(m0 + m)) + k0;
    acc[m] = _mm256_setzero_ps();
  }
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 wv = _mm256_load_ps(tile + k * 8);
    for (int m = 0; m < MR; ++m) acc[m] = _mm256_fmadd_ps(_mm256_broadcast_ss(a[m] + k), wv, acc[m]);
  }
  for (int m = 0; m < MR; ++m) {
    float* y = Y + (m0 + m) * ldy;
    if (first) {
      store_cols(y, acc[m], bias, nr);
    } else if (nr == 8) {
      _mm256_storeu_ps(y, _mm256_add_ps(acc[m], _mm256_loadu_ps(y)));
    } else {
      alignas(32) float t[8];
      _mm256_store_ps(t, acc[m]);
      for (int c = 0; c < nr; ++c) y[c] += t[c];
    }
  }
}

// vpshufb controls [4-bit, 8-bit][i]: byte i of each dword (one column's 4 K
// values) to the dword's low byte, zero above (4-bit values 0..15), or to its
// top byte (8-bit stored q - 128, then sign-extended by a shift).
struct PickTable {
  alignas(32) int8_t b[2][4][32];
};
constexpr PickTable make_pick() {
  PickTable t{};
  for (int top = 0; top < 2; ++top)
    for (int i = 0; i < 4; ++i)
      for (int d = 0; d < 8; ++d)
        for (int k = 0; k < 4; ++k)
          t.b[top][i][4 * d + k] = k == (top ? 3 : 0) ? int8_t(4 * (d % 4) + i) : int8_t(-128);
  return t;
}
constexpr PickTable kPickTable = make_pick();
constexpr const auto& kPick = kPickTable.b;

// Few rows (decode): no dequantized tile. Per block b and column c,
// y += s * (sum_k a_k q_k) - s * zp * (sum_k a_k), with sum_k a_k from the
// prepared row (asum). Each q is picked out of its quad's dword (the 4 K
// values of one column) by one byte shuffle, converted to f32 and multiplied
// by a broadcast of a_k. 4 / MR partial sums per row hide the FMA latency.
template <int kBits, int kBs, ZeroPoints kZp, int MR>
void gemv_panel(const PackedNBits& w, const ActRows& act, int64_t m0, int64_t p, int nr, const float* bias,
                float* Y, int64_t ldy) {
  constexpr int kA = MR == 1 ? 4 : MR == 2 ? 2 : 1;
  constexpr int kHalvesPerBlock = kBs / 16;
  const int64_t n_chunks = w.k_padded() / 32, nbp = w.n_blocks_padded();
  const uint8_t* wp = w.panel(p);
  const float* scales = w.scales() + p * nbp * 8;
  const float* x[MR];
  const float* as[MR];
  __m256 y[MR], acc[MR][kA];
  for (int m = 0; m < MR; ++m) {
    x[m] = static_cast<const float*>(act.data(m0 + m));
    as[m] = act.asum(m0 + m);
    y[m] = _mm256_setzero_ps();
    for (int i = 0; i < kA; ++i) acc[m][i] = _mm256_setzero_ps();
  }
  __m256i sel[4];
  for (int i = 0; i < 4; ++i) sel[i] = _mm256_load_si256(reinterpret_cast<const __m256i*>(kPick[kBits == 8][i]));
  for (int64_t j = 0; j < n_chunks; ++j) {
    const uint8_t* cw = wp + j * w.chunk_bytes();
    for (int h = 0; h < 2; ++h) {
      for (int t = 0; t < 4; ++t) {
        const __m256i v = load_quads<kBits>(cw, t, h);
        const int64_t k = j * 32 + h * 16 + 4 * t;
        for (int i = 0; i < 4; ++i) {
          __m256i q = _mm256_shuffle_epi8(v, sel[i]);
          if constexpr (kBits == 8) q = _mm256_srai_epi32(q, 24);
          const __m256 f = _mm256_cvtepi32_ps(q);
          for (int m = 0; m < MR; ++m)
            acc[m][i % kA] = _mm256_fmadd_ps(_mm256_broadcast_ss(x[m] + k + i), f, acc[m][i % kA]);
        }
      }
      if ((2 * j + h + 1) % kHalvesPerBlock == 0) {
        const int64_t b = (2 * j + h) / kHalvesPerBlock;
        const __m256 s = _mm256_loadu_ps(scales + b * 8);
        const __m256 szp = _mm256_mul_ps(s, load_zp<kBits, kZp>(w, (p * nbp + b) * 8));
        for (int m = 0; m < MR; ++m) {
          __m256 sum = acc[m][0];
          for (int i = 1; i < kA; ++i) sum = _mm256_add_ps(sum, acc[m][i]);
          y[m] = _mm256_fnmadd_ps(szp, _mm256_broadcast_ss(as[m] + b), _mm256_fmadd_ps(s, sum, y[m]));
          for (int i = 0; i < kA; ++i) acc[m][i] = _mm256_setzero_ps();
        }
      }
    }
  }
  for (int m = 0; m < MR; ++m) store_cols(Y + (m0 + m) * ldy + p * 8, y[m], bias ? bias + p * 8 : nullptr, nr);
}

template <int kBits, int kBs, ZeroPoints kZp>
void run_f32a(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0, int64_t n1, const float* bias,
              float* Y, int64_t ldy) {
  if (M < 4) {
    for (int64_t n = n0; n < n1; n += 8) {
      const int nr = n1 - n < 8 ? int(n1 - n) : 8;
      switch (M) {
        case 3: gemv_panel<kBits, kBs, kZp, 3>(w, act, 0, n / 8, nr, bias, Y, ldy); break;
        case 2: gemv_panel<kBits, kBs, kZp, 2>(w, act, 0, n / 8, nr, bias, Y, ldy); break;
        default: gemv_panel<kBits, kBs, kZp, 1>(w, act, 0, n / 8, nr, bias, Y, ldy); break;
      }
    }
    return;
  }
  alignas(32) float tile[kKc * 8];
  for (int64_t n = n0; n < n1; n += 8) {
    const int64_t p = n / 8;
    const int nr = n1 - n < 8 ? int(n1 - n) : 8;
    const float* bp = bias ? bias + n : nullptr;
    for (int64_t k0 = 0; k0 < w.k_padded(); k0 += kKc) {
      const int64_t kc = w.k_padded() - k0 < kKc ? w.k_padded() - k0 : kKc;
      dequant_tile<kBits, kBs, kZp>(w, p, k0, kc, tile);
      const bool first = k0 == 0;
      int64_t m = 0;
      for (; m + kMr <= M; m += kMr) tile_dot<kMr>(tile, kc, act, m, k0, first, bp, Y + n, ldy, nr);
      switch (M - m) {
        case 7: tile_dot<7>(tile, kc, act, m, k0, first, bp, Y + n, ldy, nr); break;
        case 6: tile_dot<6>(tile, kc, act, m, k0, first, bp, Y + n, ldy, nr); break;
        case 5: tile_dot<5>(tile, kc, act, m, k0, first, bp, Y + n, ldy, nr); break;
        case 4: tile_dot<4>(tile, kc, act, m, k0, first, bp, Y + n, ldy, nr); break;
        case 3: tile_dot<3>(tile, kc, act, m, k0, first, bp, Y + n, ldy, nr); break;
        case 2: tile_dot<2>(tile, kc, act, m, k0, first, bp, Y + n, ldy, nr); break;
        case 1: tile_dot<1>(tile, kc, act, m, k0, first, bp, Y + n, ldy, nr); break;
        default: break;
      }
    }
  }
}

template <int kBits, int kBs>
NBitsKernelFn pick_zp(ZeroPoints zp) {
  switch (zp) {
    case ZeroPoints::none: return run_f32a<kBits, kBs, ZeroPoints::none>;
    case ZeroPoints::packed_u8: return run_f32a<kBits, kBs, ZeroPoints::packed_u8>;
    case ZeroPoints::typed: return run_f32a<kBits, kBs, ZeroPoints::typed>;
  }
  return nullptr;
}

template <int kBits>
NBitsKernelFn pick_bs(int bs, ZeroPoints zp) {
  switch (bs) {
    case 16: return pick_zp<kBits, 16>(zp);
    case 32: return pick_zp<kBits, 32>(zp);
    case 64: return pick_zp<kBits, 64>(zp);
    case 128: return pick_zp<kBits, 128>(zp);
    default: return pick_zp<kBits, 256>(zp);
  }
}

}  // namespace

void gemm_f32a_qnb_f32_avx2(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0,
                            int64_t n1, const float* bias, float* Y, int64_t ldy) {
  NBitsKernelFn fn = w.bits() == 4 ? pick_bs<4>(w.block_size(), w.zp_mode()) : pick_bs<8>(w.block_size(), w.zp_mode());
  fn(w, act, M, n0, n1, bias, Y, ldy);
}

}  // namespace rllm::kernels::nbits
