// Composable samplers (as llama.cpp's sampler chain): each narrows or
// reshapes the candidate list; the chain ends with a greedy or random pick.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <vector>

namespace rllm {

struct Candidate {
  int32_t id;
  float logit;
  float p;  // filled by samplers that need probabilities
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  // history: the ids of the sequence so far (prompt and generated).
  virtual void apply(std::vector<Candidate>& c, std::span<const int32_t> history) = 0;
};

std::unique_ptr<Sampler> repetition_penalty(float penalty, int last_n);
std::unique_ptr<Sampler> temperature(float t);
std::unique_ptr<Sampler> top_k(int k);
std::unique_ptr<Sampler> top_p(float p);
std::unique_ptr<Sampler> min_p(float p);

struct SamplingParams {
  float temperature = 0.0f;  // <= 0: greedy
  int top_k = 0;             // 0: off
  float top_p = 1.0f;        // 1: off
  float min_p = 0.0f;        // 0: off
  float repetition_penalty = 1.0f;
  int repetition_last_n = 64;
  uint64_t seed = 0;
};

class SamplerChain {
 public:
  explicit SamplerChain(const SamplingParams& params);
  void add(std::unique_ptr<Sampler> s) { samplers_.push_back(std::move(s)); }
  // Picks the next id from logits [vocab].
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

 private:
  std::vector<std::unique_ptr<Sampler>> samplers_;
  bool greedy_;
  std::mt19937_64 rng_;
  std::vector<Candidate> cand_;
};

}  // namespace rllm
