// run-llm [MODEL] --prompt TEXT ...: streams generated text. It goes through
// the C API (include/runllm.h) only, as a program linking librunllm would.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "engine/cli/args.h"
#include "engine/cli/commands.h"
#include "runllm.h"

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

struct ModelFree {
  void operator()(rllm_model* m) const { rllm_model_destroy(m); }
};
struct TokenizerFree {
  void operator()(rllm_tokenizer* t) const { rllm_tokenizer_destroy(t); }
};
struct SessionFree {
  void operator()(rllm_session* s) const { rllm_session_destroy(s); }
};

// The message of a failed call on handle `h`.
Status api_error(const void* h, rllm_status st) {
  const char* msg = rllm_last_error(h);
  return Status::error(msg && *msg ? msg : rllm_status_string(st));
}

Result<std::vector<int32_t>> tokenize(rllm_tokenizer* t, const std::string& text, bool add_special) {
  size_t n = 0;
  rllm_status st = rllm_tokenize(t, text.data(), text.size(), add_special, nullptr, 0, &n);
  if (st != RLLM_OK && st != RLLM_ERR_BUFFER_TOO_SMALL) return api_error(t, st);
  std::vector<int32_t> ids(n);
  st = rllm_tokenize(t, text.data(), text.size(), add_special, ids.data(), ids.size(), &n);
  if (st != RLLM_OK) return api_error(t, st);
  return ids;
}

struct Message {
  std::string role, content;
};

// The chat template over `messages` with the assistant's turn opened, as ids.
Result<std::vector<int32_t>> chat_ids(rllm_tokenizer* t, const std::vector<Message>& messages) {
  std::vector<rllm_chat_message> msgs;
  for (const auto& m : messages) msgs.push_back({m.role.c_str(), m.content.c_str()});
  size_t len = 0;
  rllm_status st = rllm_apply_chat_template(t, msgs.data(), msgs.size(), 1, nullptr, 0, &len);
  if (st != RLLM_OK && st != RLLM_ERR_BUFFER_TOO_SMALL) return api_error(t, st);
  std::string text(len + 1, '\0');
  st = rllm_apply_chat_template(t, msgs.data(), msgs.size(), 1, text.data(), text.size(), &len);
  if (st != RLLM_OK) return api_error(t, st);
  text.resize(len);
  return tokenize(t, text, false);
}

// Streams each piece to stdout and keeps the reply's text.
struct Stream {
  bool ids_only = false;  // no tokenizer: print the ids
  std::string reply;
};

int on_token(void* user, int32_t token, const char* text, size_t len) {
  auto* s = static_cast<Stream*>(user);
  if (s->ids_only) {
    if (token >= 0) std::printf("%d ", token);
  } else {
    std::fwrite(text, 1, len, stdout);
    s->reply.append(text, len);
  }
  std::fflush(stdout);
  return RLLM_CONTINUE;
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
  rllm_generate_params gp;
  rllm_generate_params_default(&gp);
  gp.max_tokens = static_cast<int32_t>(a.num("-n", 128));
  gp.temperature = static_cast<float>(a.num("--temp", 0));
  gp.top_k = static_cast<int32_t>(a.num("--top-k", 0));
  gp.top_p = static_cast<float>(a.num("--top-p", 1));
  gp.min_p = static_cast<float>(a.num("--min-p", 0));
  gp.repetition_penalty = static_cast<float>(a.num("--repeat-penalty", 1));
  gp.seed = static_cast<uint64_t>(a.num("--seed", 0));
  std::vector<std::string> stops = a.all("--stop");
  rllm_model_options mo;
  rllm_model_options_default(&mo);
  mo.threads = static_cast<int32_t>(a.num("--threads", 0));
  mo.kv_block_tokens = static_cast<int32_t>(a.num("--kv-block", 16));
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
  mo.kv_dtype = kv_dtype == "f16" ? RLLM_KV_F16 : RLLM_KV_F32;
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
  std::vector<const char*> stop_ptrs;
  for (const auto& s : stops) stop_ptrs.push_back(s.c_str());
  gp.stop_strings = stop_ptrs.data();
  gp.n_stop_strings = stop_ptrs.size();

  rllm_model* raw_model = nullptr;
  if (rllm_status st = rllm_model_create(&raw_model); st != RLLM_OK) return fail(Status::error(rllm_status_string(st)));
  std::unique_ptr<rllm_model, ModelFree> model(raw_model);
  if (rllm_status st = rllm_model_load(model.get(), model_path.c_str(), &mo); st != RLLM_OK)
    return fail(api_error(model.get(), st));
  rllm_model_info info{};
  if (rllm_status st = rllm_model_get_info(model.get(), &info); st != RLLM_OK) return fail(api_error(model.get(), st));
  if (*info.pack_cache_note != '\0') std::fprintf(stderr, "run-llm: %s\n", info.pack_cache_note);
  if (info.pack_cache_written > 0)
    std::fprintf(stderr, "run-llm: packed weights kept in %s (%.0f MB; RLLM_PACK_CACHE=off: none); later loads map them\n",
                 info.pack_cache_file, info.pack_cache_written / 1e6);
  rllm_tokenizer* raw_tokenizer = nullptr;
  rllm_status tk_status = rllm_tokenizer_create(model.get(), &raw_tokenizer);
  std::unique_ptr<rllm_tokenizer, TokenizerFree> tokenizer(raw_tokenizer);
  if (tk_status != RLLM_OK && (!prompt.empty() || interactive)) return fail(api_error(model.get(), tk_status));
  if (!template_file.empty() && tokenizer) {
    std::ifstream in(template_file, std::ios::binary);
    if (!in) return fail(Status::error(template_file + ": cannot open"));
    std::string source(std::istreambuf_iterator<char>(in), {});
    if (rllm_status st = rllm_tokenizer_set_chat_template(tokenizer.get(), source.data(), source.size()); st != RLLM_OK)
      return fail(api_error(tokenizer.get(), st));
  }
  rllm_session* raw_session = nullptr;
  if (rllm_status st = rllm_session_create(model.get(), &raw_session); st != RLLM_OK)
    return fail(api_error(model.get(), st));
  std::unique_ptr<rllm_session, SessionFree> session(raw_session);

  rllm_generate_result total{};
  // Generates after `all`, the whole conversation so far: the session reuses
  // the KV cache of the prefix it shares with earlier turns.
  auto turn = [&](const std::vector<int32_t>& all) -> Result<std::string> {
    Stream stream;
    stream.ids_only = !tokenizer;
    gp.on_token = on_token;
    gp.user = &stream;
    rllm_generate_result r{};
    if (rllm_status st = rllm_session_generate(session.get(), all.data(), all.size(), &gp, &r); st != RLLM_OK)
      return api_error(session.get(), st);
    std::printf("\n");
    if (r.finish == RLLM_FINISH_CONTEXT)
      std::fprintf(stderr, "run-llm: stopped at the max context of the session\n");
    total.prefilled_tokens += r.prefilled_tokens;
    total.n_tokens += r.n_tokens;
    total.prefill_seconds += r.prefill_seconds;
    total.decode_seconds += r.decode_seconds;
    if (total.first_token_seconds == 0) total.first_token_seconds = r.first_token_seconds;
    return stream.reply;
  };

  std::vector<Message> messages;
  if (!system.empty()) messages.push_back({"system", system});
  std::vector<int32_t> ids;
  if (!ids_text.empty()) {
    auto parsed = parse_ids(ids_text);
    if (!parsed.ok()) return fail(parsed.status());
    ids = parsed.value();
  } else if (!prompt.empty()) {
    Result<std::vector<int32_t>> enc = std::vector<int32_t>{};
    if (chat) {
      messages.push_back({"user", prompt});
      enc = chat_ids(tokenizer.get(), messages);
    } else {
      enc = tokenize(tokenizer.get(), prompt, true);
    }
    if (!enc.ok()) return fail(Status::error("prompt: " + enc.status().message()));
    ids = enc.value();
  }
  if (interactive) {
    std::string line;
    std::fprintf(stderr, "run-llm: chatting; an empty line or end of input ends the conversation\n> ");
    while (std::getline(std::cin, line) && !line.empty()) {
      messages.push_back({"user", line});
      auto all = chat_ids(tokenizer.get(), messages);
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
    rllm_memory_stats mem{};
    if (rllm_status st = rllm_session_memory_stats(session.get(), &mem); st != RLLM_OK)
      return fail(api_error(session.get(), st));
    const auto& s = total;
    std::fprintf(stderr,
                 "\nkernels: %s, threads: %d\n"
                 "load: %.3f s (mapped %.1f MB, repacked %.1f MB%s)\n"
                 "prompt: %zu tokens in %.3f s (%.1f tok/s), time to first token %.3f s\n"
                 "decode: %zu tokens in %.3f s (%.1f tok/s)\n"
                 "kv cache: %.2f MB in %llu blocks of %d tokens\n"
                 "peak memory: %.1f MB\n",
                 info.kernels, info.threads, info.load_seconds, mem.mapped_bytes / 1e6, mem.repacked_bytes / 1e6,
                 info.pack_cache_read ? ", from the pack cache" : "",
                 s.prefilled_tokens, s.prefill_seconds, s.prefilled_tokens / std::max(s.prefill_seconds, 1e-9),
                 s.first_token_seconds, s.n_tokens, s.decode_seconds,
                 s.n_tokens > 1 ? (s.n_tokens - 1) / std::max(s.decode_seconds, 1e-9) : 0.0, mem.kv_bytes / 1e6,
                 static_cast<unsigned long long>(mem.kv_blocks), info.kv_block_tokens, mem.peak_rss_bytes / 1e6);
  }
  return 0;
}

}  // namespace rllm::cli
