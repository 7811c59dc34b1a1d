// Load-time rewrite of 16-bit weights that a graph widens before a MatMul:
//
//   MatMul(A f32, Cast(W, to=FLOAT))  with W a bf16 or f16 initializer [K, N]
//                                      -> MatMul(A, W)
//
// so the MatMul packs W in its own 16-bit type (kernels::pack_bf16/pack_f16,
// widened in registers) instead of the Cast folding it to fp32 at load: half
// the weight bytes per token and half the memory, the same products (the
// kernels widen exactly as Cast does). The Cast's output must have no other
// reader and not be a graph output.
#pragma once

#include <memory>

#include "formats/onnx_model.h"

namespace rllm {

// The rewritten model, or null when no pattern matched.
std::shared_ptr<const OnnxModel> fuse_widened_weights(const OnnxModel& model);

}  // namespace rllm
