// Prefill + decode loop over a Model and a paged KV cache: one or several
// sequences, samplers, EOS and stop strings, timing.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/sampling/sampler.h"
#include "engine/tokenizer/tokenizer.h"

namespace rllm {

struct GenerateOptions {
  int max_new_tokens = 128;
  SamplingParams sampling;
  std::vector<int32_t> eos_ids;
  std::vector<std::string> stop_strings;  // need a tokenizer
};

struct GenerateStats {
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  double prefill_seconds = 0;
  double decode_seconds = 0;
  double first_token_seconds = 0;  // from the call to the first sampled token
};

// Called for every sampled token of row `row` with the text it completes
// (empty without a tokenizer); return false to stop that row.
using TokenCallback = std::function<bool(size_t row, int32_t id, const std::string& text)>;

struct GenerateResult {
  std::vector<std::vector<int32_t>> tokens;  // generated ids per row
  GenerateStats stats;
};

// Generates for each prompt, sharing one KV cache. Each prompt is prefilled
// alone; decoding then advances every live row in one batch. `seqs` (one per
// prompt) must be sequences of `cache`, possibly holding earlier turns.
Result<GenerateResult> generate(Model& model, KvCache& cache, const std::vector<int>& seqs,
                                const std::vector<std::vector<int32_t>>& prompts,
                                const GenerateOptions& options, const Tokenizer* tokenizer,
                                const TokenCallback& on_token);

}  // namespace rllm
