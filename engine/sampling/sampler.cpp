#include "engine/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace rllm {
namespace {

void sort_desc(std::vector<Candidate>& c) {
  std::sort(c.begin(), c.end(), [](const Candidate& a, const Candidate& b) { return a.logit > b.logit; });
}

// Softmax of the logits into p, in place.
void probabilities(std::vector<Candidate>& c) {
  float mx = -INFINITY;
  for (const auto& x : c) mx = std::max(mx, x.logit);
  double sum = 0;
  for (auto& x : c) sum += (x.p = std::exp(x.logit - mx));
  for (auto& x : c) x.p = static_cast<float>(x.p / sum);
}

class RepetitionPenalty : public Sampler {
 public:
  RepetitionPenalty(float penalty, int last_n) : penalty_(penalty), last_n_(last_n) {}
  void apply(std::vector<Candidate>& c, std::span<const int32_t> history) override {
    size_t n = std::min<size_t>(history.size(), static_cast<size_t>(last_n_));
    std::unordered_set<int32_t> seen(history.end() - static_cast<ptrdiff_t>(n), history.end());
    // Divide positive logits and multiply negative ones, as transformers and llama.cpp do.
    for (auto& x : c)
      if (seen.count(x.id)) x.logit = x.logit > 0 ? x.logit / penalty_ : x.logit * penalty_;
  }

 private:
  float penalty_;
  int last_n_;
};

class Temperature : public Sampler {
 public:
  explicit Temperature(float t) : t_(t) {}
  void apply(std::vector<Candidate>& c, std::span<const int32_t>) override {
    for (auto& x : c) x.logit /= t_;
  }

 private:
  float t_;
};

class TopK : public Sampler {
 public:
  explicit TopK(int k) : k_(k) {}
  void apply(std::vector<Candidate>& c, std::span<const int32_t>) override {
    if (k_ <= 0 || static_cast<size_t>(k_) >= c.size()) return;
    std::partial_sort(c.begin(), c.begin() + k_, c.end(),
                      [](const Candidate& a, const Candidate& b) { return a.logit > b.logit; });
    c.resize(static_cast<size_t>(k_));
  }

 private:
  int k_;
};

class TopP : public Sampler {
 public:
  explicit TopP(float p) : p_(p) {}
  void apply(std::vector<Candidate>& c, std::span<const int32_t>) override {
    sort_desc(c);
    probabilities(c);
    double cum = 0;
    size_t keep = c.size();
    for (size_t i = 0; i < c.size(); ++i) {
      cum += c[i].p;
      if (cum >= p_) {
        keep = i + 1;
        break;
      }
    }
    c.resize(keep);
  }

 private:
  float p_;
};

class MinP : public Sampler {
 public:
  explicit MinP(float p) : p_(p) {}
  void apply(std::vector<Candidate>& c, std::span<const int32_t>) override {
    probabilities(c);
    float mx = 0;
    for (const auto& x : c) mx = std::max(mx, x.p);
    std::erase_if(c, [&](const Candidate& x) { return x.p < p_ * mx; });
  }

 private:
  float p_;
};

}  // namespace

std::unique_ptr<Sampler> repetition_penalty(float penalty, int last_n) {
  return std::make_unique<RepetitionPenalty>(penalty, last_n);
}
std::unique_ptr<Sampler> temperature(float t) { return std::make_unique<Temperature>(t); }
std::unique_ptr<Sampler> top_k(int k) { return std::make_unique<TopK>(k); }
std::unique_ptr<Sampler> top_p(float p) { return std::make_unique<TopP>(p); }
std::unique_ptr<Sampler> min_p(float p) { return std::make_unique<MinP>(p); }

SamplerChain::SamplerChain(const SamplingParams& params)
    : greedy_(params.temperature <= 0), rng_(params.seed) {
  if (params.repetition_penalty != 1.0f) add(repetition_penalty(params.repetition_penalty, params.repetition_last_n));
  if (greedy_) return;
  add(temperature(params.temperature));
  if (params.top_k > 0) add(top_k(params.top_k));
  if (params.top_p < 1.0f) add(top_p(params.top_p));
  if (params.min_p > 0.0f) add(min_p(params.min_p));
}

int32_t SamplerChain::sample(std::span<const float> logits, std::span<const int32_t> history) {
  if (greedy_ && samplers_.empty())
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  cand_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) cand_[i] = {static_cast<int32_t>(i), logits[i], 0.0f};
  for (auto& s : samplers_) s->apply(cand_, history);
  if (greedy_)
    return std::max_element(cand_.begin(), cand_.end(), [](const Candidate& a, const Candidate& b) {
             return a.logit < b.logit;
           })->id;
  probabilities(cand_);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  double r = u(rng_), cum = 0;
  for (const auto& x : cand_) {
    cum += x.p;
    if (r < cum) return x.id;
  }
  return cand_.back().id;
}

}  // namespace rllm
