// MatMulNBits, accuracy_level 0 on AVX2: f32 activations. Weights of 4 rows
// are dequantized (zero point and scale folded in) into a 4 x 256 f32 tile on
// the stack, then a 2x4 register-blocked FMA dot runs over all rows of A.
#include "kernels/x86/qnb_avx2.h"

namespace rllm::kernels::nbits {
namespace {

constexpr int64_t kNr = 4;    // weight rows per tile
constexpr int64_t kKc = 256;  // K values per dequantized tile

template <int kBits, ZeroPoints kZp>
float zero_point(const PackedNBits& w, int64_t s) {
  constexpr float kShift = kBits == 8 ? 128.0f : 0.0f;
  if constexpr (kZp == ZeroPoints::none) return float(1 << (kBits - 1)) - kShift;
  else if constexpr (kZp == ZeroPoints::packed_u8) return float(w.zp_u8()[s]) - kShift;
  else return w.zp_f32()[s] - kShift;
}

// out[0..31] = (q - zp) * scale for chunk c of row n.
template <int kBits, int kBs, ZeroPoints kZp>
void dequant_chunk(const PackedNBits& w, int64_t n, int64_t c, float* out) {
  const uint8_t* row = w.weights() + n * w.row_bytes();
  __m128i q8[2];  // values 0..15 and 16..31 as 16 bytes each
  constexpr bool is_signed = kBits == 8;
  if constexpr (!is_signed) {
    __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + c * 16));
    __m128i mask = _mm_set1_epi8(0x0F);
    q8[0] = _mm_and_si128(t, mask);
    q8[1] = _mm_and_si128(_mm_srli_epi16(t, 4), mask);
  } else {
    q8[0] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + c * 32));
    q8[1] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + c * 32 + 16));
  }
  for (int h = 0; h < 2; ++h) {
    int64_t b = (c * 32 + h * 16) / kBs;
    int64_t s = n * w.n_slots() + slot_of_block(b, kBs);
    __m256 scale = _mm256_set1_ps(w.scales()[s]);
    __m256 nzs = _mm256_set1_ps(-zero_point<kBits, kZp>(w, s) * w.scales()[s]);
    __m128i lo = q8[h], hi = _mm_srli_si128(q8[h], 8);
    __m256i i0 = is_signed ? _mm256_cvtepi8_epi32(lo) : _mm256_cvtepu8_epi32(lo);
    __m256i i1 = is_signed ? _mm256_cvtepi8_epi32(hi) : _mm256_cvtepu8_epi32(hi);
    _mm256_store_ps(out + h * 16, _mm256_fmadd_ps(_mm256_cvtepi32_ps(i0), scale, nzs));
    _mm256_store_ps(out + h * 16 + 8, _mm256_fmadd_ps(_mm256_cvtepi32_ps(i1), scale, nzs));
  }
}

// Y[m, n .. n+3] += A[m, k0 .. k0+kc) · tile for m in [0, M).
void dot_tile(const float (*tile)[kKc], int64_t kc, const ActRows& act, int64_t M, int64_t k0,
              float* Y, int64_t ldy, int64_t n, int64_t nr) {
  int64_t m = 0;
  for (; m + 2 <= M; m += 2) {
    const float* a0 = static_cast<const float*>(act.data(m)) + k0;
    const float* a1 = static_cast<const float*>(act.data(m + 1)) + k0;
    __m256 acc[2][kNr];
    for (int r = 0; r < kNr; ++r) acc[0][r] = acc[1][r] = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; k += 8) {
      __m256 x0 = _mm256_loadu_ps(a0 + k), x1 = _mm256_loadu_ps(a1 + k);
      for (int r = 0; r < kNr; ++r) {
        __m256 wv = _mm256_load_ps(tile[r] + k);
        acc[0][r] = _mm256_fmadd_ps(x0, wv, acc[0][r]);
        acc[1][r] = _mm256_fmadd_ps(x1, wv, acc[1][r]);
      }
    }
    for (int64_t r = 0; r < nr; ++r) {
      Y[m * ldy + n + r] += hsum(acc[0][r]);
      Y[(m + 1) * ldy + n + r] += hsum(acc[1][r]);
    }
  }
  for (; m < M; ++m) {
    const float* a0 = static_cast<const float*>(act.data(m)) + k0;
    __m256 acc[kNr];
    for (int r = 0; r < kNr; ++r) acc[r] = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; k += 8) {
      __m256 x0 = _mm256_loadu_ps(a0 + k);
      for (int r = 0; r < kNr; ++r) acc[r] = _mm256_fmadd_ps(x0, _mm256_load_ps(tile[r] + k), acc[r]);
    }
    for (int64_t r = 0; r < nr; ++r) Y[m * ldy + n + r] += hsum(acc[r]);
  }
}

template <int kBits, int kBs, ZeroPoints kZp>
void run_f32a(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0, int64_t n1, const float* bias,
              float* Y, int64_t ldy) {
  alignas(32) float tile[kNr][kKc];
  for (int64_t n = n0; n < n1; n += kNr) {
    const int64_t nr = n1 - n < kNr ? n1 - n : kNr;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t r = 0; r < nr; ++r) Y[m * ldy + n + r] = bias ? bias[n + r] : 0.0f;
    for (int64_t k0 = 0; k0 < w.k_padded(); k0 += kKc) {
      const int64_t kc = w.k_padded() - k0 < kKc ? w.k_padded() - k0 : kKc;
      for (int64_t r = 0; r < kNr; ++r)
        for (int64_t c = 0; c < kc / 32; ++c) {
          if (r < nr) dequant_chunk<kBits, kBs, kZp>(w, n + r, k0 / 32 + c, tile[r] + c * 32);
          else for (int j = 0; j < 32; ++j) tile[r][c * 32 + j] = 0.0f;
        }
      dot_tile(tile, kc, act, M, k0, Y, ldy, n, nr);
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
