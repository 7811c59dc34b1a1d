// Sentences per second of rllm::Encoder on pre-tokenized input, for
// bench_encoders.py (which runs onnxruntime on the same ids in the same run).
//
//   bench_encoder_embed MODEL.onnx IDS.txt BATCH THREADS SECONDS [DUMP.f32]
// IDS.txt: one sentence per line, space-separated token ids. Batches of BATCH
// consecutive lines are embedded (padded to the longest); batches repeat until
// SECONDS have passed (at least one full pass). Prints one JSON line. With
// DUMP.f32, embeds every line once instead and writes the L2-normalised
// vectors there as raw float32 [lines, H].
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/encoder.h"

int main(int argc, char** argv) {
  if (argc != 6 && argc != 7) {
    std::fprintf(stderr, "usage: %s MODEL.onnx IDS.txt BATCH THREADS SECONDS [DUMP.f32]\n", argv[0]);
    return 2;
  }
  const int batch = std::stoi(argv[3]), threads = std::stoi(argv[4]);
  const double seconds = std::stod(argv[5]);
  std::vector<std::vector<int32_t>> rows;
  std::ifstream in(argv[2]);
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::vector<int32_t> r;
    for (int32_t v; ls >> v;) r.push_back(v);
    rows.push_back(r);
  }
  if (rows.empty() || batch < 1) {
    std::fprintf(stderr, "%s: no ids, or batch < 1\n", argv[2]);
    return 2;
  }
  auto t_load = std::chrono::steady_clock::now();
  auto enc = rllm::Encoder::load(argv[1], {threads, ""});
  if (!enc.ok()) {
    std::fprintf(stderr, "%s\n", enc.status().message().c_str());
    return 1;
  }
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
  if (argc == 7) {
    std::FILE* f = std::fopen(argv[6], "wb");
    if (f == nullptr) {
      std::fprintf(stderr, "%s: cannot write\n", argv[6]);
      return 1;
    }
    for (size_t b = 0; b < rows.size(); b += size_t(batch)) {
      std::vector<std::vector<int32_t>> part(rows.begin() + long(b), rows.begin() + long(std::min(rows.size(), b + size_t(batch))));
      auto r = (*enc)->embed_ids(part, true);
      if (!r.ok()) {
        std::fprintf(stderr, "%s\n", r.status().message().c_str());
        std::fclose(f);
        return 1;
      }
      std::fwrite(r->data(), 1, size_t(r->nbytes()), f);
    }
    std::fclose(f);
    return 0;
  }
  // Warm-up: one batch.
  std::vector<std::vector<int32_t>> first(rows.begin(), rows.begin() + std::min<size_t>(rows.size(), size_t(batch)));
  if (auto w = (*enc)->embed_ids(first, true); !w.ok()) {
    std::fprintf(stderr, "%s\n", w.status().message().c_str());
    return 1;
  }
  size_t done = 0;
  auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (done < rows.size() || elapsed < seconds) {
    size_t b = done % rows.size();
    size_t e = std::min(rows.size(), b + size_t(batch));
    std::vector<std::vector<int32_t>> part(rows.begin() + long(b), rows.begin() + long(e));
    auto r = (*enc)->embed_ids(part, true);
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().message().c_str());
      return 1;
    }
    done += e - b;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  std::printf("{\"sentences\": %zu, \"seconds\": %.4f, \"sentences_per_s\": %.2f, \"load_s\": %.4f}\n", done, elapsed,
              double(done) / elapsed, load_s);
  return 0;
}
