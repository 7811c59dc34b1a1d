// Where a model's files are: MODEL is an ORT GenAI folder (genai_config.json)
// or a single .onnx with its tokenizer beside it.
#pragma once

#include <optional>
#include <string>

#include "formats/genai_config.h"
#include "formats/status.h"

namespace rllm {

struct ModelFiles {
  std::string dir;                    // folder holding the model and tokenizer
  std::string onnx_path;              // the decoder graph
  std::optional<GenAiConfig> config;  // absent for a bare .onnx

  static Result<ModelFiles> locate(const std::string& model);
};

}  // namespace rllm
