// run-llm perplexity MODEL --file TEXT [--ctx N]: perplexity as llama.cpp's
// perplexity tool computes it. The text is tokenized once (with BOS when the
// tokenizer adds one) and cut into non-overlapping windows of N tokens (a
// tail shorter than N is dropped); each window starts a fresh sequence, its
// first token replaced by BOS when the tokenizer adds one; the tokens of the
// second half of each window are scored (positions N/2+1 .. N-1, each from the
// logits of the position before), so every scored token has at least N/2
// tokens of context. PPL = exp(mean NLL), ± PPL · stderr(NLL).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/cli/args.h"
#include "engine/cli/commands.h"
#include "engine/model.h"
#include "engine/tokenizer/tokenizer.h"

namespace rllm::cli {
namespace {

const char* kUsage =
    "usage: run-llm perplexity MODEL --file TEXT [--ctx N] [--max-windows N] [--threads N] [--kv-dtype T]\n"
    "  --ctx N          window length in tokens (default: min(512, the model's context))\n"
    "  --max-windows N  score only the first N windows (default: all)\n"
    "  --kv-dtype T     KV cache element type: f32 (default) or f16\n";

// -log softmax(logits)[target], in double.
double nll(const float* logits, int64_t V, int32_t target) {
  float mx = logits[0];
  for (int64_t i = 1; i < V; ++i) mx = std::max(mx, logits[i]);
  double sum = 0;
  for (int64_t i = 0; i < V; ++i) sum += std::exp(static_cast<double>(logits[i]) - mx);
  return std::log(sum) - (static_cast<double>(logits[target]) - mx);
}

}  // namespace

int cmd_perplexity(const std::vector<std::string>& args) {
  Args a(args);
  std::string text_path = a.str("--file", "");
  int64_t ctx = static_cast<int64_t>(a.num("--ctx", 0));
  int64_t max_windows = static_cast<int64_t>(a.num("--max-windows", 0));
  ModelOptions mo;
  mo.threads = static_cast<int>(a.num("--threads", 0));
  std::string kv_dtype = a.str("--kv-dtype", "f32");
  std::string model_path = a.positional();
  if (!a.ok() || model_path.empty() || text_path.empty()) {
    std::fprintf(stderr, "run-llm perplexity: %s\n%s",
                 a.ok() ? "MODEL and --file are required" : a.error().c_str(), kUsage);
    return 2;
  }
  if (kv_dtype != "f32" && kv_dtype != "f16") {
    std::fprintf(stderr, "run-llm perplexity: --kv-dtype must be f32 or f16, not '%s'\n", kv_dtype.c_str());
    return 2;
  }
  mo.kv_dtype = kv_dtype == "f16" ? DType::f16 : DType::f32;
  std::ifstream f(text_path, std::ios::binary);
  if (!f) return fail(Status::error("perplexity: cannot read '" + text_path + "'"));
  std::stringstream ss;
  ss << f.rdbuf();

  mo.pack_cache = PackCache::settings_from_env();
  auto model = Model::load(model_path, mo);
  if (!model.ok()) return fail(model.status());
  Model& m = **model;
  const int64_t context = m.kv_config().max_context;
  if (ctx == 0) ctx = std::min<int64_t>(512, context);
  if (ctx < 4 || ctx > context)
    return fail(Status::error("perplexity: --ctx " + std::to_string(ctx) + " must be in 4.." +
                              std::to_string(context) + " (the model's context)"));
  auto tk = Tokenizer::load_folder(m.files().dir);
  if (!tk.ok()) return fail(tk.status());
  auto enc = (*tk)->encode(ss.str(), true);
  if (!enc.ok()) return fail(Status::error(text_path + ": " + enc.status().message()));
  const std::vector<int32_t>& tokens = enc.value();
  int64_t n_chunks = static_cast<int64_t>(tokens.size()) / ctx;
  if (max_windows > 0) n_chunks = std::min(n_chunks, max_windows);
  if (n_chunks == 0)
    return fail(Status::error("perplexity: '" + text_path + "' has " + std::to_string(tokens.size()) +
                              " tokens, fewer than one window of " + std::to_string(ctx)));
  const int32_t bos = (*tk)->bos_id();
  const bool add_bos = bos >= 0 && tokens[0] == bos;
  const int64_t first = ctx / 2;
  std::fprintf(stderr, "perplexity: %zu tokens, %lld windows of %lld, scoring %lld tokens per window\n",
               tokens.size(), (long long)n_chunks, (long long)ctx, (long long)(ctx - 1 - first));

  KvCache cache(m.kv_config());
  double sum = 0, sum2 = 0;
  int64_t count = 0;
  for (int64_t c = 0; c < n_chunks; ++c) {
    const int64_t start = c * ctx;
    std::vector<int32_t> window(tokens.begin() + start, tokens.begin() + start + ctx);
    if (add_bos) window[0] = bos;
    int seq = cache.new_sequence();
    auto logits = m.forward(cache, {seq}, {window});
    cache.free_sequence(seq);
    if (!logits.ok()) return fail(logits.status());
    const int64_t V = logits->dim(-1);
    const float* l = logits->as<float>();  // [1, ctx, V]
    for (int64_t j = first; j < ctx - 1; ++j) {
      const int32_t target = tokens[static_cast<size_t>(start + j + 1)];
      if (target < 0 || target >= V)
        return fail(Status::error("perplexity: token id " + std::to_string(target) + " is outside the vocabulary"));
      double v = nll(l + j * V, V, target);
      sum += v;
      sum2 += v * v;
      ++count;
    }
    std::printf("[%lld]%.4f,", (long long)(c + 1), std::exp(sum / count));
    std::fflush(stdout);
  }
  const double mean = sum / count;
  const double ppl = std::exp(mean);
  const double var = sum2 / count - mean * mean;
  const double stderr_nll = count > 1 && var > 0 ? std::sqrt(var / (count - 1)) : 0.0;
  std::printf("\nFinal estimate: PPL = %.4f +/- %.5f (%lld tokens scored)\n", ppl, ppl * stderr_nll, (long long)count);
  return 0;
}

}  // namespace rllm::cli
