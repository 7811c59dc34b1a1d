// Test driver (not a test itself): run-llm's logits on a model folder, for the Python parity
// tests in this directory to compare with onnxruntime's on the same ids.
//
//   rllm_logits MODEL_DIR OUT.bin IDS STEPS [THREADS]
//
// IDS is a comma-separated prompt. Prefills it, then decodes STEPS greedy tokens (its own picks).
// OUT.bin: int32 n_prompt, int32 vocab, float32 prefill logits [n_prompt, vocab], int32 steps,
// then per step: int32 token fed (the argmax of the previous logits), float32 logits [vocab].
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/model.h"

using namespace rllm;

namespace {

int fail(const std::string& msg) {
  std::fprintf(stderr, "rllm_logits: %s\n", msg.c_str());
  return 1;
}

void put_i32(std::ofstream& out, int32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) return fail("usage: rllm_logits MODEL_DIR OUT.bin IDS STEPS [THREADS]");
  std::vector<int32_t> prompt;
  std::stringstream ss(argv[3]);
  for (std::string tok; std::getline(ss, tok, ',');) prompt.push_back(static_cast<int32_t>(std::strtol(tok.c_str(), nullptr, 10)));
  const int steps = std::atoi(argv[4]);
  if (prompt.empty() || steps < 0) return fail("need a non-empty prompt and steps >= 0");
  ModelOptions mo;
  mo.threads = argc > 5 ? std::atoi(argv[5]) : 2;
  auto model = Model::load(argv[1], mo);
  if (!model.ok()) return fail(model.status().message());
  KvCache cache((*model)->kv_config());
  int seq = cache.new_sequence();
  auto logits = (*model)->forward(cache, {seq}, {prompt});
  if (!logits.ok()) return fail(logits.status().message());
  const int64_t V = logits->dim(-1);
  std::ofstream out(argv[2], std::ios::binary);
  put_i32(out, static_cast<int32_t>(prompt.size()));
  put_i32(out, static_cast<int32_t>(V));
  out.write(reinterpret_cast<const char*>(logits->as<float>()), static_cast<std::streamsize>(sizeof(float) * prompt.size() * V));
  put_i32(out, steps);
  const float* last = logits->as<float>() + (logits->numel() - V);
  std::vector<float> prev(last, last + V);
  for (int s = 0; s < steps; ++s) {
    auto next = static_cast<int32_t>(std::max_element(prev.begin(), prev.end()) - prev.begin());
    auto step = (*model)->forward(cache, {seq}, {{next}});
    if (!step.ok()) return fail(step.status().message());
    put_i32(out, next);
    out.write(reinterpret_cast<const char*>(step->as<float>()), static_cast<std::streamsize>(sizeof(float) * V));
    prev.assign(step->as<float>(), step->as<float>() + V);
  }
  return out.good() ? 0 : fail(std::string("cannot write ") + argv[2]);
}
