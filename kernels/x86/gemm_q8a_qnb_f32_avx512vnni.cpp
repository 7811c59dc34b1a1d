// MatMulNBits, accuracy_level 4 with AVX512-VNNI (VL): the q8a kernel body of
// gemm_q8a_qnb_impl.h with vpdpbusd on ymm registers, which fuses the
// u8 x s8 multiply, the pairwise int16 add and the int32 accumulate.
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

}  // namespace

void gemm_q8a_qnb_f32_avx512vnni(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0,
                                 int64_t n1, const float* bias, float* Y, int64_t ldy) {
  pick_q8a<DotVnni>(w)(w, act, M, n0, n1, bias, Y, ldy);
}

}  // namespace rllm::kernels::nbits
