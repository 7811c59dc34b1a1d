// Graph rewrites behind `run-llm quantize`:
//  - quantize_matmuls: MatMul (and Gemm with alpha 1, transA 0, a constant B
//    and an optional 1-D bias) whose B is a constant 2-D f32/f16 initializer,
//    or the Transpose of one (a tied lm_head), becomes com.microsoft
//    MatMulNBits. Norms and embeddings (Gather) are not touched. Nodes whose B
//    is not constant, or that --keep matches, are left and reported.
//  - quantize_matmuls_dynamic: the same MatMul/Gemm nodes (f32 weights)
//    become onnxruntime quantize_dynamic's form: DynamicQuantizeLinear of the
//    activation (one per distinct input), MatMulInteger with uint8 weights
//    quantized per output column (asymmetric, zero point per column), Cast to
//    float, Mul by Mul(activation scale, weight scales), and Add of Gemm's bias.
//    onnxruntime runs it natively; run-llm fuses it into one integer GEMM.
//    Gather of an f32 table (embeddings) reads the table as uint8 per tensor
//    and a DequantizeLinear follows it, as quantize_dynamic's Gather.
//  - convert_weights_fp16: every f32 initializer of 2 or more dims read by
//    MatMul, Gemm or Gather is stored as f16 and cast back to f32 by a Cast
//    node, so the graph's inputs, outputs and activations stay f32 and only
//    the weights' storage halves.
// Initializers left unused are dropped, and the com.microsoft opset is imported.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "formats/onnx_model.h"

namespace rllm::quant {

struct QuantizeOptions {
  int bits = 4;
  int block = 32;
  bool asym = false;
  int accuracy_level = -1;  // -1: attribute not written
  std::string keep;         // node or initializer name: substring or regex (ECMAScript)
};

struct TensorReport {
  std::string node;    // the node rewritten
  std::string weight;  // the initializer quantized
  int64_t N = 0, K = 0;
  double diff2 = 0, ref2 = 0;  // ‖W − dequant(quant(W))‖², ‖W‖²
  size_t bytes_before = 0, bytes_after = 0;
  double relative_error() const;
};

struct SkipReport {
  std::string node;
  std::string reason;
};

struct QuantizeReport {
  std::vector<TensorReport> tensors;
  std::vector<SkipReport> skipped;
  size_t initializer_bytes_before = 0, initializer_bytes_after = 0;
  double total_relative_error() const;  // over every tensor: sqrt(Σ diff2 / Σ ref2)
};

// Called after each tensor with its index (from 0) and the number of candidates.
using ProgressFn = std::function<void(const TensorReport&, size_t index, size_t count)>;

Result<QuantizeReport> quantize_matmuls(OnnxModel& model, const QuantizeOptions& options,
                                        const ProgressFn& progress);
Result<QuantizeReport> quantize_matmuls_dynamic(OnnxModel& model, const QuantizeOptions& options,
                                                const ProgressFn& progress);
Result<QuantizeReport> convert_weights_fp16(OnnxModel& model, const ProgressFn& progress);

}  // namespace rllm::quant
