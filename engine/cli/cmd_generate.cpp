// run-llm [MODEL] --prompt TEXT ...: streams generated text.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "engine/cli/args.h"
#include "engine/cli/commands.h"
#include "engine/generate.h"
#include "engine/tokenizer/chat_template.h"
#include "kernels/kernels.h"

namespace rllm::cli {
namespace {

const char* kUsage =
    "usage: run-llm [MODEL] --prompt TEXT [options]\n"
    "  MODEL              an ONNX Runtime GenAI folder or an .onnx with tokenizer.json beside it\n"
    "                     (default: SmolLM2-135M-Instruct int4 from the model cache)\n"
    "  --prompt TEXT      the prompt (or --ids 1,2,3 for token ids)\n"
    "  --chat             apply the model's chat template; without --prompt, an interactive\n"
    "                     conversation on stdin that keeps the KV cache between turns\n"
    "  --system TEXT      system message for --chat\n"
    "  --chat-template F  a Jinja chat template file to use instead of the model's\n"
    "  -n N               max new tokens (default 128)\n"
    "  --temp T           temperature; 0 = greedy (default 0)\n"
    "  --top-k K  --top-p P  --min-p P  --repeat-penalty R  --seed S\n"
    "  --stop STR         stop when the text contains STR (repeatable)\n"
    "  --threads N        threads (default: all cores)\n"
    "  --kv-block N       KV cache block size in tokens (default 16)\n"
    "  --kv-dtype T       KV cache element type: f32 (default) or f16\n"
    "  --max-context N    longest sequence (default: the model's context_length)\n"
    "  --stats            print speed and memory after the text\n";

// Peak resident memory of this process in bytes (VmHWM), 0 if unknown.
size_t peak_rss() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  return 0;
}

}  // namespace

std::string default_model_dir() {
  const char* env = std::getenv("RUNLLM_MODELS");
  std::string base = env && *env ? env : std::string(std::getenv("HOME") ? std::getenv("HOME") : ".") + "/.cache/run-llm";
  return base + "/smollm2-135m-instruct/ortgenai-int4";
}

int cmd_generate(const std::vector<std::string>& argv) {
  Args a(argv);
  if (a.flag("--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::string prompt = a.str("--prompt", "");
  std::string ids_text = a.str("--ids", "");
  GenerateOptions go;
  go.max_new_tokens = static_cast<int>(a.num("-n", 128));
  go.sampling.temperature = static_cast<float>(a.num("--temp", 0));
  go.sampling.top_k = static_cast<int>(a.num("--top-k", 0));
  go.sampling.top_p = static_cast<float>(a.num("--top-p", 1));
  go.sampling.min_p = static_cast<float>(a.num("--min-p", 0));
  go.sampling.repetition_penalty = static_cast<float>(a.num("--repeat-penalty", 1));
  go.sampling.seed = static_cast<uint64_t>(a.num("--seed", 0));
  go.stop_strings = a.all("--stop");
  ModelOptions mo;
  mo.threads = static_cast<int>(a.num("--threads", 0));
  mo.kv_block_tokens = static_cast<int>(a.num("--kv-block", 16));
  mo.max_context = static_cast<int64_t>(a.num("--max-context", 0));
  std::string kv_dtype = a.str("--kv-dtype", "f32");
  bool stats = a.flag("--stats");
  bool chat = a.flag("--chat");
  std::string system = a.str("--system", "");
  std::string template_file = a.str("--chat-template", "");
  std::string model_path = a.positional();
  if (!a.ok()) {
    std::fprintf(stderr, "run-llm: %s\n%s", a.error().c_str(), kUsage);
    return 2;
  }
  bool interactive = chat && prompt.empty() && ids_text.empty();
  if (!interactive && prompt.empty() == ids_text.empty()) {
    std::fprintf(stderr, "run-llm: give exactly one of --prompt or --ids\n%s", kUsage);
    return 2;
  }
  if (chat && !ids_text.empty()) {
    std::fprintf(stderr, "run-llm: --chat takes text, not --ids\n");
    return 2;
  }
  if (kv_dtype != "f32" && kv_dtype != "f16") {
    std::fprintf(stderr, "run-llm: --kv-dtype must be f32 or f16, not '%s'\n", kv_dtype.c_str());
    return 2;
  }
  mo.kv_dtype = kv_dtype == "f16" ? DType::f16 : DType::f32;
  if (mo.kv_block_tokens <= 0) {
    std::fprintf(stderr, "run-llm: --kv-block must be positive\n");
    return 2;
  }
  if (model_path.empty()) {
    model_path = default_model_dir();
    if (!std::filesystem::exists(model_path)) {
      std::fprintf(stderr,
                   "run-llm: no MODEL given and the default model is not in the cache (%s).\n"
                   "Fetch and convert it with: bash scripts/fetch_models.sh\n",
                   model_path.c_str());
      return 1;
    }
  }

  auto model = Model::load(model_path, mo);
  if (!model.ok()) return fail(model.status());
  std::unique_ptr<Tokenizer> tokenizer;
  std::vector<int32_t> ids;
  if (!ids_text.empty()) {
    auto parsed = parse_ids(ids_text);
    if (!parsed.ok()) return fail(parsed.status());
    ids = parsed.value();
  }
  auto tk = Tokenizer::load_folder((*model)->files().dir);
  if (tk.ok()) {
    tokenizer = std::move(tk).value();
  } else if (!prompt.empty() || interactive) {
    return fail(tk.status());
  }
  const auto& cfg = (*model)->files().config;
  // Stop on genai_config's EOS ids and the tokenizer's (e.g. a chat template's end-of-turn).
  if (cfg)
    for (int64_t e : cfg->eos_token_ids) go.eos_ids.push_back(static_cast<int32_t>(e));
  if (tokenizer)
    for (int32_t e : tokenizer->eos_ids()) go.eos_ids.push_back(e);

  KvCache cache((*model)->kv_config());
  int seq = cache.new_sequence();
  std::vector<int32_t> held;  // the tokens the cache holds for `seq`
  GenerateStats total;
  // Generates after `all` (the whole conversation so far), reusing the cached
  // prefix it shares with earlier turns. Returns the reply's text.
  auto turn = [&](const std::vector<int32_t>& all) -> Result<std::string> {
    size_t common = 0;
    while (common < held.size() && common < all.size() && held[common] == all[common]) ++common;
    if (common == all.size()) --common;  // at least one new token to get logits from
    cache.truncate(seq, static_cast<int64_t>(common));
    std::vector<int32_t> fresh(all.begin() + static_cast<ptrdiff_t>(common), all.end());
    std::string reply;
    auto r = generate(**model, cache, {seq}, {fresh}, go, tokenizer.get(),
                      [&](size_t, int32_t id, const std::string& text) {
                        if (tokenizer) std::fputs(text.c_str(), stdout);
                        else std::printf("%d ", id);
                        std::fflush(stdout);
                        reply += text;
                        return true;
                      });
    if (!r.ok()) return r.status();
    std::printf("\n");
    held = all;
    held.insert(held.end(), r->tokens[0].begin(), r->tokens[0].end());
    held.resize(static_cast<size_t>(cache.length(seq)));
    total.prompt_tokens += r->stats.prompt_tokens;
    total.generated_tokens += r->stats.generated_tokens;
    total.prefill_seconds += r->stats.prefill_seconds;
    total.decode_seconds += r->stats.decode_seconds;
    if (total.first_token_seconds == 0) total.first_token_seconds = r->stats.first_token_seconds;
    return reply;
  };

  std::vector<ChatMessage> messages;
  if (!system.empty()) messages.push_back({"system", system});
  std::string template_source;
  if (!template_file.empty()) {
    std::ifstream in(template_file, std::ios::binary);
    if (!in) return fail(Status::error(template_file + ": cannot open"));
    template_source.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto chat_ids = [&]() -> Result<std::vector<int32_t>> {
    std::string text;
    if (template_source.empty()) {
      RLLM_ASSIGN_OR_RETURN(text, apply_chat_template(*tokenizer, messages, true));
    } else {
      auto eos = tokenizer->eos_ids();
      RLLM_ASSIGN_OR_RETURN(text, render_chat_template(template_source, messages, true,
                                                       tokenizer->id_to_token(tokenizer->bos_id()),
                                                       eos.empty() ? std::string() : tokenizer->id_to_token(eos[0])));
    }
    return tokenizer->encode(text, false);
  };
  if (chat && !tokenizer) return fail(Status::error("--chat needs the model's tokenizer"));
  if (!prompt.empty()) {
    Result<std::vector<int32_t>> enc = std::vector<int32_t>{};
    if (chat) {
      messages.push_back({"user", prompt});
      enc = chat_ids();
    } else {
      enc = tokenizer->encode(prompt, true);
    }
    if (!enc.ok()) return fail(Status::error("prompt: " + enc.status().message()));
    ids = enc.value();
  }
  if (interactive) {
    std::string line;
    std::fprintf(stderr, "run-llm: chatting; an empty line or end of input ends the conversation\n> ");
    while (std::getline(std::cin, line) && !line.empty()) {
      messages.push_back({"user", line});
      auto all = chat_ids();
      if (!all.ok()) return fail(all.status());
      auto reply = turn(all.value());
      if (!reply.ok()) return fail(reply.status());
      messages.push_back({"assistant", reply.value()});
      std::fprintf(stderr, "> ");
    }
  } else {
    auto reply = turn(ids);
    if (!reply.ok()) return fail(reply.status());
  }
  if (stats) {
    const auto& s = total;
    const auto& ls = (*model)->load_stats();
    std::fprintf(stderr,
                 "\nkernels: %s, threads: %d\n"
                 "load: %.3f s (mapped %.1f MB, repacked %.1f MB)\n"
                 "prompt: %lld tokens in %.3f s (%.1f tok/s), time to first token %.3f s\n"
                 "decode: %lld tokens in %.3f s (%.1f tok/s)\n"
                 "kv cache: %.2f MB in %lld blocks of %d tokens\n"
                 "peak memory: %.1f MB\n",
                 kernels::isa_name(kernels::active_isa()), (*model)->pool().size(), ls.seconds,
                 ls.mapped_bytes / 1e6, ls.repacked_bytes / 1e6, (long long)s.prompt_tokens, s.prefill_seconds,
                 s.prompt_tokens / std::max(s.prefill_seconds, 1e-9), s.first_token_seconds,
                 (long long)s.generated_tokens, s.decode_seconds,
                 s.generated_tokens > 1 ? (s.generated_tokens - 1) / std::max(s.decode_seconds, 1e-9) : 0.0,
                 cache.bytes_in_use() / 1e6, (long long)cache.blocks_in_use(), cache.config().block_tokens,
                 peak_rss() / 1e6);
  }
  return 0;
}

}  // namespace rllm::cli
