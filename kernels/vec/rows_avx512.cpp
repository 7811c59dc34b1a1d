// Row kernels over xsimd at 512-bit width, compiled for AVX-512 F+BW+VL (this
// file only: the CPUs of Isa::avx512vnni and avx512amx); vec/rows.cpp
// dispatches here, to the AVX2 build or to the scalar twins in ref/rows_ref.cpp.
// xsimd's avx512f arch, and no AVX-512DQ instruction (dispatch does not check
// for DQ; the compiler refuses DQ intrinsics under these flags). fp16
// conversion and int8 rounding use AVX-512F intrinsics, with masked tails
// (BW+VL for the 16-bit lanes).
// GCC 12 warns that the self-initialized `__Y` of its _mm512_undefined_*
// helpers is used uninitialized wherever they inline (GCC bug 105593); the
// warning is off for the intrinsics headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cmath>
#include <xsimd/xsimd.hpp>

#include "kernels/vec/rows_isa.h"

namespace rllm::kernels::avx512 {
namespace {

using arch = xsimd::avx512f;

// The first r of 16 lanes, 0 <= r <= 16.
__mmask16 first(int64_t r) { return __mmask16((1u << r) - 1); }

// The hooks of rows_xsimd.inc for 16 lanes (see there).
xsimd::batch<float, arch> fmadd(xsimd::batch<float, arch> a, xsimd::batch<float, arch> b,
                                xsimd::batch<float, arch> c) {
  return _mm512_fmadd_ps(a, b, c);
}
float hsum(xsimd::batch<float, arch> v) { return _mm512_reduce_add_ps(v); }
float hmax(xsimd::batch<float, arch> v) {
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  if (nan == 0xFFFF) return v.get(0);
  return _mm512_reduce_max_ps(_mm512_mask_blend_ps(nan, v, _mm512_set1_ps(-INFINITY)));
}
xsimd::batch<float, arch> load_partial(const float* p, int64_t r, float fill) {
  return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), first(r), p);
}
// A masked store's 64 bytes end at p + r: a later load of what follows p + r
// (the next row) would otherwise wait for the store to retire, as masked
// stores do not forward (2x the time of a 31-wide softmax over contiguous
// rows). Lanes rotate up by 16 - r; the masked-off lanes before p are not
// accessed.
void store_partial(float* p, int64_t r, xsimd::batch<float, arch> v) {
  const __m512i up = _mm512_and_si512(_mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                                       _mm512_set1_epi32(int(r))),
                                      _mm512_set1_epi32(15));
  float* end = reinterpret_cast<float*>(reinterpret_cast<uintptr_t>(p + r) - 64);
  _mm512_mask_storeu_ps(end, __mmask16(~first(16 - r)), _mm512_permutexvar_ps(up, v));
}

#include "kernels/vec/rows_xsimd.inc"

void f16_to_f32(const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = first(std::min<int64_t>(16, n - i));
    _mm512_mask_storeu_ps(y + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i)));
  }
}

void f32_to_f16(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = first(std::min<int64_t>(16, n - i));
    _mm256_mask_storeu_epi16(y + i, m, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT));
  }
}

void quantize_row_i8(const float* x, int64_t n, int64_t block, int8_t* q, float* scales) {
  for (int64_t b0 = 0, bi = 0; b0 < n; b0 += block, ++bi) {
    const int64_t len = b0 + block < n ? block : n - b0;
    const float d = absmax(x + b0, len) / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    scales[bi] = d;
    for (int64_t i = 0; i < len; i += 16) {
      const __mmask16 m = first(std::min<int64_t>(16, len - i));
      // cvtps rounds to nearest even, as nearbyint in the scalar twin; |x * id| <= 127.
      const __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + b0 + i), _mm512_set1_ps(id)));
      _mm512_mask_cvtsepi32_storeu_epi8(q + b0 + i, m, v);
    }
  }
}

}  // namespace rllm::kernels::avx512
