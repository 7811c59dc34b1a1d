#include "engine/generate.h"

#include <algorithm>
#include <chrono>
#include <memory>

namespace rllm {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Row {
  std::vector<int32_t> history;
  std::vector<int32_t> generated;
  std::unique_ptr<StreamDecoder> decoder;
  std::string text;  // emitted so far, for stop strings
  bool live = true;
};

}  // namespace

Result<GenerateResult> generate(Model& model, KvCache& cache, const std::vector<int>& seqs,
                                const std::vector<std::vector<int32_t>>& prompts,
                                const GenerateOptions& options, const Tokenizer* tokenizer,
                                const TokenCallback& on_token) {
  if (seqs.size() != prompts.size()) return Status::error("generate: one sequence per prompt");
  for (const auto& p : prompts)
    if (p.empty()) return Status::error("generate: empty prompt (no tokens)");
  GenerateResult result;
  GenerateStats& st = result.stats;
  const auto t_start = Clock::now();
  std::vector<Row> rows(prompts.size());
  std::vector<SamplerChain> chains;
  for (size_t r = 0; r < prompts.size(); ++r) {
    SamplingParams sp = options.sampling;
    sp.seed += r;
    chains.emplace_back(sp);
    rows[r].history = prompts[r];
    if (tokenizer) rows[r].decoder = std::make_unique<StreamDecoder>(*tokenizer, /*skip_special_tokens=*/true);
  }
  auto vocab_of = [](const Tensor& logits) { return logits.dim(-1); };

  // Accepts a sampled id for row r; false when the row ends.
  auto accept = [&](size_t r, int32_t id) {
    Row& row = rows[r];
    row.history.push_back(id);
    if (std::find(options.eos_ids.begin(), options.eos_ids.end(), id) != options.eos_ids.end()) {
      row.live = false;
      return;
    }
    row.generated.push_back(id);
    ++st.generated_tokens;
    std::string piece = row.decoder ? row.decoder->push(id) : std::string();
    row.text += piece;
    bool go = on_token ? on_token(r, id, piece) : true;
    for (const auto& s : options.stop_strings)
      if (!s.empty() && row.text.find(s) != std::string::npos) go = false;
    if (!go || static_cast<int>(row.generated.size()) >= options.max_new_tokens) row.live = false;
  };

  if (options.max_new_tokens <= 0) {
    result.tokens.assign(prompts.size(), {});
    return result;
  }
  const auto t_prefill = Clock::now();
  for (size_t r = 0; r < prompts.size(); ++r) {
    RLLM_ASSIGN_OR_RETURN(Tensor logits, model.forward(cache, {seqs[r]}, {prompts[r]}, Model::Logits::last));
    st.prompt_tokens += static_cast<int64_t>(prompts[r].size());
    int64_t V = vocab_of(logits);
    std::span<const float> last(logits.as<float>() + (logits.numel() - V), static_cast<size_t>(V));
    int32_t id = chains[r].sample(last, rows[r].history);
    if (r == 0) st.first_token_seconds = since(t_start);
    accept(r, id);
  }
  st.prefill_seconds = since(t_prefill);

  const auto t_decode = Clock::now();
  for (;;) {
    std::vector<size_t> live;
    for (size_t r = 0; r < rows.size(); ++r)
      if (rows[r].live) live.push_back(r);
    if (live.empty()) break;
    std::vector<int> batch_seqs;
    std::vector<std::vector<int32_t>> batch_tokens;
    for (size_t r : live) {
      batch_seqs.push_back(seqs[r]);
      batch_tokens.push_back({rows[r].history.back()});
    }
    RLLM_ASSIGN_OR_RETURN(Tensor logits, model.forward(cache, batch_seqs, batch_tokens));
    int64_t V = vocab_of(logits);
    for (size_t k = 0; k < live.size(); ++k) {
      std::span<const float> row(logits.as<float>() + static_cast<int64_t>(k) * V, static_cast<size_t>(V));
      accept(live[k], chains[live[k]].sample(row, rows[live[k]].history));
    }
  }
  st.decode_seconds = since(t_decode);
  for (size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].decoder && on_token) {
      std::string tail = rows[r].decoder->flush();
      if (!tail.empty()) on_token(r, -1, tail);
    }
    result.tokens.push_back(std::move(rows[r].generated));
  }
  return result;
}

}  // namespace rllm
