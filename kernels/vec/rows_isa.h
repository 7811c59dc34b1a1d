// Row kernels per ISA (same signatures as kernels.h); vec/rows.cpp dispatches.
#pragma once

#include <cstdint>

namespace rllm::kernels::avx2 {
#include "kernels/vec/rows_decl.inc"
}  // namespace rllm::kernels::avx2

namespace rllm::kernels::avx512 {
#include "kernels/vec/rows_decl.inc"
}  // namespace rllm::kernels::avx512

namespace rllm::kernels::neon {
#include "kernels/vec/rows_decl.inc"
}  // namespace rllm::kernels::neon
