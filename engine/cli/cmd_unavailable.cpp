// RLLM_MINIMAL builds leave out the subcommands a firmware image has no use for;
// these say so instead.
#include <cstdio>

#include "engine/cli/commands.h"

namespace rllm::cli {
namespace {

int unavailable(const char* name) {
  std::fprintf(stderr, "run-llm: '%s' is not part of this minimal build (configured with RLLM_MINIMAL=ON)\n", name);
  return 2;
}

}  // namespace

int cmd_bench(const std::vector<std::string>&) { return unavailable("bench"); }
int cmd_quantize(const std::vector<std::string>&) { return unavailable("quantize"); }
int cmd_perplexity(const std::vector<std::string>&) { return unavailable("perplexity"); }

}  // namespace rllm::cli
