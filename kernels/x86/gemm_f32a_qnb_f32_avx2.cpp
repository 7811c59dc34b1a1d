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

template <int kBits, int kBs, ZeroPoints kZp>
void run_f32a(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0, int64_t n1, const float* bias,
              float* Y, int64_t ldy) {
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
