// run-llm tokenize MODEL|tokenizer.json|x.model [--text T | --file F]: ids for scripts
// and for checking against other tokenizers.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/cli/args.h"
#include "engine/cli/commands.h"
#include "engine/tokenizer/tokenizer.h"

namespace rllm::cli {
namespace {

void print_ids(const std::vector<int32_t>& ids) {
  for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? " %d" : "%d", ids[i]);
  std::printf("\n");
}

}  // namespace

int cmd_tokenize(const std::vector<std::string>& argv) {
  Args a(argv);
  std::string text = a.str("--text", "");
  std::string file = a.str("--file", "");
  bool no_special = a.flag("--no-special");
  std::string source = a.positional();
  if (!a.ok() || source.empty() || text.empty() == file.empty()) {
    std::fprintf(stderr,
                 "usage: run-llm tokenize MODEL|tokenizer.json|tokenizer.model (--text T | --file F) [--no-special]\n"
                 "  --text: one line of ids for the whole text; --file: one line of ids per input line\n");
    return 2;
  }
  std::error_code ec;
  auto tok = std::filesystem::is_directory(source, ec) ? Tokenizer::load_folder(source) : Tokenizer::load_file(source);
  if (!tok.ok()) return fail(tok.status());
  auto encode = [&](const std::string& s) -> bool {
    auto ids = (*tok)->encode(s, !no_special);
    if (!ids.ok()) {
      fail(ids.status());
      return false;
    }
    print_ids(ids.value());
    return true;
  };
  if (!text.empty()) return encode(text) ? 0 : 1;
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(Status::error(file + ": cannot open"));
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!encode(line)) {
      std::fprintf(stderr, "run-llm: %s: line %lld\n", file.c_str(), static_cast<long long>(n));
      return 1;
    }
  }
  return 0;
}

}  // namespace rllm::cli
