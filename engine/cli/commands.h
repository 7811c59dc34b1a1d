// Subcommands of the run-llm executable.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "formats/status.h"

namespace rllm::cli {

int cmd_bench(const std::vector<std::string>& args);
int cmd_inspect(const std::vector<std::string>& args);
int cmd_generate(const std::vector<std::string>& args);
int cmd_tokenize(const std::vector<std::string>& args);
int cmd_quantize(const std::vector<std::string>& args);
int cmd_perplexity(const std::vector<std::string>& args);
int cmd_embed(const std::vector<std::string>& args);
// Where the default model (SmolLM2-135M-Instruct int4) lives in the model cache.
std::string default_model_dir();

// Prints a failed status as "run-llm: <message>" and returns the exit code 1.
inline int fail(const Status& s) {
  std::fprintf(stderr, "run-llm: %s\n", s.message().c_str());
  return 1;
}

}  // namespace rllm::cli
