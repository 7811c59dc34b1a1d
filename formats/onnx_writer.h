// ONNX ModelProto written from an OnnxModel: the subset formats/onnx_model.h
// reads (graph, nodes and attributes incl. tensors and subgraphs, initializers,
// inputs/outputs/value_info with symbolic dims, opset imports, metadata).
// Initializers larger than `inline_limit` go to one external data file beside
// the model, each at an offset aligned to `alignment` bytes; attribute tensors
// and small initializers stay inline as raw_data.
#pragma once

#include <cstddef>
#include <string>

#include "onnx_model.h"
#include "status.h"

namespace rllm {

struct OnnxWriteOptions {
  std::string data_file;      // location of the external data; "" = "<model file name>.data"
  size_t inline_limit = 1024;  // initializers of at most this many bytes stay in the .onnx
  size_t alignment = 64;
};

// Writes `path` and its external data file. Both are first written under a
// temporary name and then renamed, so `model` may be a mapping of the files
// being replaced.
Status write_onnx_model(const OnnxModel& model, const std::string& path,
                        const OnnxWriteOptions& options = {});

}  // namespace rllm
