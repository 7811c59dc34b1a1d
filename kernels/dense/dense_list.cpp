#include "kernels/dense/dense_kernel.h"

namespace rllm::kernels::dense {
namespace {
constexpr DenseKernel kKernels[] = {
    {"gemm_f32_ref", Isa::scalar, gemm_packed_f32_ref, gemm_packed_f16_ref, gemm_strided_f32_ref},
#if defined(__x86_64__)
    {"gemm_f32_4x16_avx2", Isa::avx2, gemm_packed_f32_avx2, gemm_packed_f16_avx2, gemm_strided_f32_avx2},
    {"gemm_f32_8x32_avx512", Isa::avx512vnni, gemm_packed_f32_avx512, gemm_packed_f16_avx512, gemm_strided_f32_avx512},
#elif defined(__aarch64__)
    {"gemm_f32_4x16_neon", Isa::neon, gemm_packed_f32_neon, gemm_packed_f16_neon, gemm_strided_f32_neon},
#endif
};
}  // namespace

std::span<const DenseKernel> dense_kernel_list() { return kKernels; }

}  // namespace rllm::kernels::dense
