// Encode throughput of our tokenizer on a text file, one document per line, for
// bench/bench_tokenizer.py (which times HF tokenizers on the same documents in the same
// run). Prints one JSON line: seconds (best of --runs), bytes, tokens, and an id checksum
// that the script compares with HF's ids.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_tokenizer_encode TOKENIZER TEXT_FILE [RUNS]\n");
    return 2;
  }
  auto tok = rllm::Tokenizer::load_file(argv[1]);
  if (!tok.ok()) {
    std::fprintf(stderr, "%s\n", tok.status().message().c_str());
    return 1;
  }
  std::ifstream in(argv[2], std::ios::binary);
  std::vector<std::string> docs;
  size_t bytes = 0;
  for (std::string line; std::getline(in, line);) {
    bytes += line.size();
    docs.push_back(std::move(line));
  }
  const int runs = argc > 3 ? std::atoi(argv[3]) : 3;
  double best = 1e30;
  uint64_t tokens = 0, checksum = 0;
  for (int r = 0; r < runs; ++r) {
    tokens = 0;
    checksum = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (const std::string& d : docs) {
      auto ids = (*tok)->encode(d, false);
      if (!ids.ok()) {
        std::fprintf(stderr, "%s\n", ids.status().message().c_str());
        return 1;
      }
      for (int32_t id : ids.value()) checksum = checksum * 1000003u + static_cast<uint32_t>(id);
      tokens += ids.value().size();
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("{\"seconds\": %.6f, \"bytes\": %zu, \"tokens\": %llu, \"checksum\": %llu}\n", best, bytes,
              static_cast<unsigned long long>(tokens), static_cast<unsigned long long>(checksum));
  return 0;
}
