#include <cstdio>
#include <string>
#include <vector>

#include "engine/cli/commands.h"
#include "kernels/kernels.h"

namespace {

void usage() {
  std::fprintf(stderr,
               "usage:\n"
               "  run-llm [MODEL] --prompt TEXT [options]   generate text (run-llm --prompt x --help: options)\n"
               "  run-llm inspect MODEL     print what a model folder or .onnx file holds\n"
               "  run-llm tokenize MODEL|tokenizer.json (--text T | --file F)   print token ids\n"
               "  run-llm quantize IN OUT --bits 4|8   weights to MatMulNBits (--help for options)\n"
               "  run-llm perplexity MODEL --file TEXT [--ctx N]   perplexity over a text\n"
               "  run-llm bench MODEL [-p 128,512] [-n 128] [-t 1,2]   prefill/decode speed table\n"
               "  run-llm embed MODEL (--text T | --file F)   sentence embeddings (--help for options)\n"
               "  run-llm --version         version and the kernel ISA in use\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    usage();
    return 2;
  }
  if (args[0] == "--version") {
    std::printf("run-llm 0.1.0 (kernels: %s%s)\n", rllm::kernels::isa_name(rllm::kernels::active_isa()),
                rllm::kernels::isa_note());
    return 0;
  }
  if (args[0] == "bench") return rllm::cli::cmd_bench({args.begin() + 1, args.end()});
  if (args[0] == "inspect") return rllm::cli::cmd_inspect({args.begin() + 1, args.end()});
  if (args[0] == "tokenize") return rllm::cli::cmd_tokenize({args.begin() + 1, args.end()});
  if (args[0] == "quantize") return rllm::cli::cmd_quantize({args.begin() + 1, args.end()});
  if (args[0] == "embed") return rllm::cli::cmd_embed({args.begin() + 1, args.end()});
  if (args[0] == "perplexity") return rllm::cli::cmd_perplexity({args.begin() + 1, args.end()});
  if (args[0] == "--help" || args[0] == "-h") {
    usage();
    return 0;
  }
  return rllm::cli::cmd_generate(args);
}
