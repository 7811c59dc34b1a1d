// MatMulNBits, accuracy_level 4 with AVX512-VNNI (VL): the q8a kernel body of
// gemm_q8a_qnb_impl.h with vpdpbusd on ymm registers, which fuses the
// u8 x s8 multiply, the pairwise int16 add and the int32 accumulate.
#include "kernels/x86/gemm_q8a_qnb_impl.h"

namespace rllm::kernels::nbits {
namespace {

struct DotVnni {
  static __m256i quad4(__m256i acc, __m256i w, __m256i a) { return _mm256_dpbusd_epi32(acc, w, a); }
  static __m256i widen4(__m256i acc) { return acc; }  // already int32
  // Unsigned operand |w| with w's sign moved onto a (|a| <= 127).
  static __m256i quad8(__m256i acc, __m256i w_abs, __m256i w, __m256i a) {
    return _mm256_dpbusd_epi32(acc, w_abs, _mm256_sign_epi8(a, w));
  }
};

}  // namespace

void gemm_q8a_qnb_f32_avx512vnni(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0,
                                 int64_t n1, const float* bias, float* Y, int64_t ldy) {
  pick_q8a<DotVnni>(w)(w, act, M, n0, n1, bias, Y, ldy);
}

}  // namespace rllm::kernels::nbits
