// MatMulNBits, accuracy_level 4 on AVX2: int8 activations (per weight block)
// x 4/8-bit weights, vpmaddubsw + vpmaddwd integer dots, f32 out.
#include "kernels/x86/gemm_q8a_qnb_impl.h"

namespace rllm::kernels::nbits {

void gemm_q8a_qnb_f32_avx2(const PackedNBits& w, const ActRows& act, int64_t M, int64_t n0,
                           int64_t n1, const float* bias, float* Y, int64_t ldy) {
  pick_q8a<DotAvx2>(w)(w, act, M, n0, n1, bias, Y, ldy);
}

}  // namespace rllm::kernels::nbits
