// Load-time rewrites of the float patterns of BERT-style encoder exports
// (PyTorch's and our converter's), each into one op that reads its input
// once instead of one pass per node:
//
//  GELU:      (x * (1 + Erf(x / sqrt(2)))) * 0.5 or (x * 0.5) * (1 + Erf(x / sqrt(2)))
//                                                -> com.microsoft Gelu(x) (vectorised erf)
//  attention: Transpose(q [B,S,H,D], 0213) · Transpose(k [B,T,H,D], 0231)
//             -> Div(·, c) -> Add(·, mask) -> Softmax(-1)
//             -> MatMul(·, Transpose(v [B,T,H,D], 0213)) -> Transpose(0213)
//                                               -> run_llm EncoderSelfAttention(q, k, v, c, mask)
//                                                  [B,S,H,D], engine/ops/encoder_ops.cpp
//
// Intermediate values must have no other reader and not be graph outputs, so
// a rewrite never changes what the graph computes beyond float rounding
// (onnxruntime's own optimizer fuses the same patterns).
#pragma once

#include <memory>

#include "formats/onnx_model.h"

namespace rllm {

inline constexpr const char* kRunLlmDomain = "run_llm";

// The rewritten model, or null when no pattern matched.
std::shared_ptr<const OnnxModel> fuse_encoder_patterns(const OnnxModel& model);

}  // namespace rllm
