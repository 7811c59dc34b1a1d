#include "kernels/dense/dense_kernel.h"

namespace rllm::kernels::dense {
namespace {
constexpr DenseKernel kKernels[] = {
    {"gemm_f32_ref", Isa::scalar, gemm_packed_f32_ref, gemm_strided_f32_ref},
};
}  // namespace

std::span<const DenseKernel> dense_kernel_list() { return kKernels; }

}  // namespace rllm::kernels::dense
