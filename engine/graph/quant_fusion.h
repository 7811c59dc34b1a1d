// Load-time rewrite of the integer MatMul patterns that onnxruntime's
// quantization tools emit into com.microsoft MatMulIntegerToFloat nodes, which
// run one integer GEMM on weights packed once (engine/ops/quant_ops.cpp):
//
//  quantize_dynamic:  DynamicQuantizeLinear(x) -> (xq, xs, xz)
//                     MatMulInteger(xq, Wq, xz, wz) -> Cast(float) -> Mul(·, Mul(xs, ws)) [-> Add(·, bias)]
//  QDQ (quantize_static):
//                     MatMul(DequantizeLinear(xq, xs, xz), DequantizeLinear(Wq, ws, wz))
//
// become MatMulIntegerToFloat(xq, Wq, xs, ws, xz, wz[, bias]) with the same
// output. Wq, ws, wz and bias must be initializers; intermediate values must
// have no other reader and not be graph outputs, so the rewrite never changes
// what the graph computes (ORT's own optimizer fuses the same patterns).
// The QDQ pairs left on activations, DequantizeLinear(QuantizeLinear(x, s, z),
// s, z) per tensor with uint8 codes, become one run_llm QuantizeDequantizeLinear
// (x, s, z) pass with the same output.
#pragma once

#include <memory>

#include "formats/onnx_model.h"

namespace rllm {

// The rewritten model, or null when no pattern matched.
std::shared_ptr<const OnnxModel> fuse_quantized_matmuls(const OnnxModel& model);

}  // namespace rllm
