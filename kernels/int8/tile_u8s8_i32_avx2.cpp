// AVX2 int8 tiles, 4 rows x 16 columns:
//  - u8 x s8 on quad_s8 panels with vpmaddubsw + vpmaddwd(1): each pair of
//    products (k, k+1) saturates to int16 as in onnxruntime's MLAS U8S8 AVX2
//    kernel, which pairs the same k (groups of 4 from k = 0);
//  - s16 x s16 on pair_s16 panels with vpmaddwd: exact (|a - zp|, |b - zp| <= 255).
#include <immintrin.h>

#include <cstring>

#include "kernels/int8/int8_kernel.h"

namespace rllm::kernels::int8 {
namespace {

inline __m256i bcast32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

template <int MR>
void quad_tile(const uint8_t* a, int64_t as, const int8_t* b, int64_t kp, int32_t* raw) {
  __m256i acc[MR][2];
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t k = 0; k < kp; k += 4, b += 64) {
    // b0: columns 0..7, b1: columns 8..15, 4 k each.
    const __m256i b0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b));
    const __m256i b1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + 32));
    for (int r = 0; r < MR; ++r) {
      const __m256i av = bcast32(a + r * as + k);
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(_mm256_maddubs_epi16(av, b0), ones));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(_mm256_maddubs_epi16(av, b1), ones));
    }
  }
  for (int r = 0; r < MR; ++r) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(raw + r * 16), acc[r][0]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(raw + r * 16 + 8), acc[r][1]);
  }
}

template <int MR>
void pair_tile(const uint8_t* a, int64_t as, const int16_t* b, int64_t kp, int32_t* raw) {
  __m256i acc[MR][2];
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  for (int64_t k = 0; k < kp; k += 2, b += 32) {
    const __m256i b0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b));
    const __m256i b1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + 16));
    for (int r = 0; r < MR; ++r) {
      const __m256i av = bcast32(a + r * as + k * 2);
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(av, b0));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(av, b1));
    }
  }
  for (int r = 0; r < MR; ++r) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(raw + r * 16), acc[r][0]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(raw + r * 16 + 8), acc[r][1]);
  }
}

}  // namespace

void tile_u8s8_i32_4x16_avx2(const uint8_t* a, int64_t as, int mr, const void* panel, int64_t kp, int32_t* raw) {
  const auto* b = static_cast<const int8_t*>(panel);
  switch (mr) {
    case 1: return quad_tile<1>(a, as, b, kp, raw);
    case 2: return quad_tile<2>(a, as, b, kp, raw);
    case 3: return quad_tile<3>(a, as, b, kp, raw);
    default: return quad_tile<4>(a, as, b, kp, raw);
  }
}

void tile_s16s16_i32_4x16_avx2(const uint8_t* a, int64_t as, int mr, const void* panel, int64_t kp, int32_t* raw) {
  const auto* b = static_cast<const int16_t*>(panel);
  switch (mr) {
    case 1: return pair_tile<1>(a, as, b, kp, raw);
    case 2: return pair_tile<2>(a, as, b, kp, raw);
    case 3: return pair_tile<3>(a, as, b, kp, raw);
    default: return pair_tile<4>(a, as, b, kp, raw);
  }
}

void epilogue_avx2(const int32_t* raw, int mr, int nc, const TileEpilogue& e, int32_t* c_out, float* y,
                   int64_t ld) {
  // Full tiles store straight to the output; a partial tile (nc < 16) goes
  // through vi / vf.
  const bool full = nc == 16;
  for (int r = 0; r < mr; ++r) {
    const __m256i rs = _mm256_set1_epi32(e.row_sums[r]);
    alignas(32) int32_t vi[16];
    alignas(32) float vf[16];
    int32_t* di = full && e.scale == nullptr ? c_out + r * ld : vi;
    float* df = full && e.scale != nullptr ? y + r * ld : vf;
    for (int h = 0; h < 16; h += 8) {
      const __m256i raw8 = _mm256_load_si256(reinterpret_cast<const __m256i*>(raw + r * 16 + h));
      const __m256i ct = _mm256_load_si256(reinterpret_cast<const __m256i*>(e.col_term + h));
      const __m256i zp = _mm256_load_si256(reinterpret_cast<const __m256i*>(e.zp + h));
      const __m256i v = _mm256_sub_epi32(_mm256_add_epi32(raw8, ct), _mm256_mullo_epi32(zp, rs));
      if (e.scale == nullptr) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(di + h), v);
        continue;
      }
      __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(v), _mm256_load_ps(e.scale + h));
      if (e.bias != nullptr) f = _mm256_add_ps(f, _mm256_load_ps(e.bias + h));
      _mm256_storeu_ps(df + h, f);
    }
    if (full) continue;
    if (e.scale == nullptr) std::memcpy(c_out + r * ld, vi, size_t(nc) * 4);
    else std::memcpy(y + r * ld, vf, size_t(nc) * 4);
  }
}

}  // namespace rllm::kernels::int8
