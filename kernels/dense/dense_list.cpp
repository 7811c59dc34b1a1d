#include "kernels/dense/dense_kernel.h"

namespace rllm::kernels::dense {
namespace {
constexpr DenseKernel kKernels[] = {
    {"gemm_f32_ref", Isa::scalar, gemm_packed_ref<float>, gemm_packed_ref<uint16_t>, gemm_packed_ref<Bf16>,
     gemm_strided_f32_ref},
#if defined(__x86_64__)
    {"gemm_f32_4x16_avx2", Isa::avx2, gemm_packed_avx2<float>, gemm_packed_avx2<uint16_t>, gemm_packed_avx2<Bf16>,
     gemm_strided_f32_avx2},
    {"gemm_f32_8x32_avx512", Isa::avx512vnni, gemm_packed_avx512<float>, gemm_packed_avx512<uint16_t>, gemm_packed_avx512<Bf16>,
     gemm_strided_f32_avx512},
#elif defined(__aarch64__)
    {"gemm_f32_4x16_neon", Isa::neon, gemm_packed_neon<float>, gemm_packed_neon<uint16_t>, gemm_packed_neon<Bf16>,
     gemm_strided_f32_neon},
#endif
};
}  // namespace

std::span<const DenseKernel> dense_kernel_list() { return kKernels; }

}  // namespace rllm::kernels::dense
