// C API: status strings, error messages, model handles and loading.
#include <cstring>
#include <filesystem>

#include "engine/capi/handles.h"
#include "engine/model_files.h"
#include "kernels/kernels.h"
#include "runllm.h"

namespace rllm::capi {
namespace {

ModelOptions to_engine(const rllm_model_options& o) {
  ModelOptions mo;
  mo.threads = o.threads;
  mo.kv_block_tokens = o.kv_block_tokens;
  mo.max_context = o.max_context;
  mo.kv_dtype = o.kv_dtype == RLLM_KV_F16 ? DType::f16 : DType::f32;
  mo.pack_cache = PackCache::settings_from_env();
  if (o.pack_cache != nullptr && *o.pack_cache == '\0') mo.pack_cache.reset();
  else if (o.pack_cache != nullptr) mo.pack_cache = PackCache::Settings{o.pack_cache, mo.pack_cache.value_or(PackCache::Settings{}).min_bytes};
  return mo;
}

// A C caller may store any int in the enum; in C++ loading a value outside
// the enumerators is undefined, so the check reads the int itself.
int kv_dtype_value(const rllm_model_options& o) {
  static_assert(sizeof(rllm_kv_dtype) == sizeof(int));
  int v;
  std::memcpy(&v, &o.kv_dtype, sizeof v);
  return v;
}

rllm_status check_options(Handle* h, const rllm_model_options& o) {
  if (o.threads < 0) return h->fail(RLLM_ERR_INVALID_ARGUMENT, "options.threads must be >= 0");
  if (o.kv_block_tokens <= 0) return h->fail(RLLM_ERR_INVALID_ARGUMENT, "options.kv_block_tokens must be > 0");
  if (o.max_context < 0) return h->fail(RLLM_ERR_INVALID_ARGUMENT, "options.max_context must be >= 0");
  if (kv_dtype_value(o) != RLLM_KV_F32 && kv_dtype_value(o) != RLLM_KV_F16)
    return h->fail(RLLM_ERR_INVALID_ARGUMENT, "options.kv_dtype: neither RLLM_KV_F32 nor RLLM_KV_F16");
  return RLLM_OK;
}

rllm_model_options options_or_default(const rllm_model_options* o) {
  rllm_model_options d;
  rllm_model_options_default(&d);
  return o ? *o : d;
}

// The EOS ids generation stops on: genai_config's and the tokenizer's (a chat
// template's end-of-turn), as run-llm does.
void collect_eos(ModelHandle& m) {
  m.eos_ids.clear();
  if (const auto& cfg = m.model->files().config)
    for (int64_t e : cfg->eos_token_ids) m.eos_ids.push_back(static_cast<int32_t>(e));
  if (m.tokenizer)
    for (int32_t e : m.tokenizer->eos_ids()) m.eos_ids.push_back(e);
}

std::string text_of(const char* p, size_t n) { return p ? std::string(p, n) : std::string(); }

}  // namespace

rllm_status fill_text(Handle* h, const std::string& s, char* dst, size_t capacity, size_t* length) {
  *length = s.size();
  if (capacity <= s.size()) {
    return h->fail(RLLM_ERR_BUFFER_TOO_SMALL, "text: " + std::to_string(s.size() + 1) +
                                                  " bytes needed with the terminating NUL, capacity " +
                                                  std::to_string(capacity));
  }
  std::memcpy(dst, s.data(), s.size());
  dst[s.size()] = '\0';
  return RLLM_OK;
}

}  // namespace rllm::capi

using namespace rllm;
using namespace rllm::capi;

extern "C" {

const char* rllm_status_string(rllm_status status) {
  switch (status) {
    case RLLM_OK: return "ok";
    case RLLM_ERR_INVALID_ARGUMENT: return "invalid argument";
    case RLLM_ERR_NOT_FOUND: return "not found";
    case RLLM_ERR_MODEL: return "model error (malformed, unsupported, or failed to run)";
    case RLLM_ERR_NO_TOKENIZER: return "the model has no tokenizer";
    case RLLM_ERR_BAD_INPUT: return "input refused";
    case RLLM_ERR_CONTEXT_OVERFLOW: return "context overflow";
    case RLLM_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case RLLM_ERR_OUT_OF_MEMORY: return "out of memory";
    case RLLM_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

const char* rllm_last_error(const void* handle) {
  if (!handle) return "no handle given (NULL)";
  return static_cast<const Handle*>(handle)->error.c_str();
}

void rllm_model_options_default(rllm_model_options* options) {
  if (!options) return;
  options->threads = 0;
  options->kv_block_tokens = 16;
  options->kv_dtype = RLLM_KV_F32;
  options->max_context = 0;
  options->pack_cache = nullptr;
}

rllm_status rllm_model_create(rllm_model** out) {
  if (!out) return RLLM_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  auto* m = new (std::nothrow) ModelHandle();
  if (!m) return RLLM_ERR_OUT_OF_MEMORY;
  *out = to_c<rllm_model>(m);
  return RLLM_OK;
}

void rllm_model_destroy(rllm_model* model) { delete handle_cast<ModelHandle>(model); }

rllm_status rllm_model_load(rllm_model* model, const char* path, const rllm_model_options* options) {
  if (!model) return RLLM_ERR_INVALID_ARGUMENT;
  ModelHandle* m = handle_cast<ModelHandle>(model);
  return guarded(m, [&]() -> rllm_status {
    if (!path) return m->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_model_load: path is NULL");
    if (m->model) return m->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_model_load: this handle already holds a model");
    const rllm_model_options o = options_or_default(options);
    if (rllm_status s = check_options(m, o); s != RLLM_OK) return s;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return m->fail(RLLM_ERR_NOT_FOUND, std::string(path) + ": no such file or folder");
    auto files = ModelFiles::locate(path);
    if (!files.ok()) return m->fail(RLLM_ERR_MODEL, files.status().message());
    // The tokenizer before the weights: parsing a large vocabulary's JSON takes
    // a transient several times the file (Gemma-3's 33 MB: ~235 MB), which then
    // is freed before the repacked weights exist rather than on top of them.
    // A folder without a (usable) tokenizer still runs on token ids; the text
    // functions report why there is none.
    auto tk = Tokenizer::load_folder(files.value().dir);
    auto loaded = Model::load(path, to_engine(o));
    if (!loaded.ok()) return m->fail(RLLM_ERR_MODEL, loaded.status().message());
    if (tk.ok()) m->tokenizer = std::move(tk).value();
    else m->tokenizer_error = tk.status().message();
    m->model = std::move(loaded).value();
    collect_eos(*m);
    return RLLM_OK;
  });
}

rllm_status rllm_model_load_memory(rllm_model* model, const rllm_model_source* source,
                                   const rllm_model_options* options) {
  if (!model) return RLLM_ERR_INVALID_ARGUMENT;
  ModelHandle* m = handle_cast<ModelHandle>(model);
  return guarded(m, [&]() -> rllm_status {
    if (!source) return m->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_model_load_memory: source is NULL");
    if (!source->onnx || source->onnx_size == 0)
      return m->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_model_load_memory: source->onnx is NULL or empty");
    if (source->n_external > 0 && !source->external)
      return m->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_model_load_memory: source->external is NULL with n_external > 0");
    if (m->model) return m->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_model_load_memory: this handle already holds a model");
    const rllm_model_options o = options_or_default(options);
    if (rllm_status s = check_options(m, o); s != RLLM_OK) return s;

    std::optional<GenAiConfig> config;
    if (source->genai_config_json) {
      auto parsed = GenAiConfig::parse(text_of(source->genai_config_json, source->genai_config_json_size),
                                       "<memory>/genai_config.json");
      if (!parsed.ok()) return m->fail(RLLM_ERR_MODEL, parsed.status().message());
      config = std::move(parsed).value();
    }
    std::shared_ptr<const Tokenizer> tokenizer;
    std::string tokenizer_error = "rllm_model_load_memory was given no tokenizer_json";
    if (source->tokenizer_json) {
      auto tk = Tokenizer::load_from_memory(text_of(source->tokenizer_json, source->tokenizer_json_size),
                                            text_of(source->tokenizer_config_json, source->tokenizer_config_json_size),
                                            text_of(source->chat_template, source->chat_template_size));
      if (!tk.ok()) return m->fail(RLLM_ERR_MODEL, tk.status().message());
      tokenizer = std::move(tk).value();
    }

    // Names the resolver could not find: the load fails with RLLM_ERR_NOT_FOUND.
    bool unresolved = false;
    ExternalDataResolver resolver = [&](const std::string& name) -> Result<std::shared_ptr<const MappedFile>> {
      for (size_t i = 0; i < source->n_external; ++i) {
        const rllm_memory_region& r = source->external[i];
        if (r.name && name == r.name) {
          if (!r.data && r.size > 0) return Status::error("external data '" + name + "': region data is NULL");
          return MappedFile::borrow(r.data, r.size, name);
        }
      }
      const void* data = nullptr;
      size_t size = 0;
      if (source->resolve && source->resolve(source->resolve_user, name.c_str(), &data, &size) == 0 &&
          (data || size == 0))
        return MappedFile::borrow(data, size, name);
      unresolved = true;
      return Status::error("external data '" + name + "' is in neither the table nor the resolve callback");
    };
    auto loaded = Model::load_from_memory(source->onnx, source->onnx_size, resolver, std::move(config), to_engine(o));
    if (!loaded.ok()) return m->fail(unresolved ? RLLM_ERR_NOT_FOUND : RLLM_ERR_MODEL, loaded.status().message());
    m->model = std::move(loaded).value();
    m->tokenizer = std::move(tokenizer);
    if (!m->tokenizer) m->tokenizer_error = tokenizer_error;
    collect_eos(*m);
    return RLLM_OK;
  });
}

rllm_status rllm_model_vocab_size(rllm_model* model, int32_t* vocab_size) {
  if (!model) return RLLM_ERR_INVALID_ARGUMENT;
  ModelHandle* m = handle_cast<ModelHandle>(model);
  if (!vocab_size) return m->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_model_vocab_size: vocab_size is NULL");
  if (!m->model) return m->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_model_vocab_size: no model loaded");
  *vocab_size = static_cast<int32_t>(m->model->vocab_size());
  m->error.clear();
  return RLLM_OK;
}

rllm_status rllm_model_max_context(rllm_model* model, int64_t* max_context) {
  if (!model) return RLLM_ERR_INVALID_ARGUMENT;
  ModelHandle* m = handle_cast<ModelHandle>(model);
  if (!max_context) return m->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_model_max_context: max_context is NULL");
  if (!m->model) return m->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_model_max_context: no model loaded");
  *max_context = m->model->kv_config().max_context;
  m->error.clear();
  return RLLM_OK;
}

rllm_status rllm_model_get_info(rllm_model* model, rllm_model_info* info) {
  if (!model) return RLLM_ERR_INVALID_ARGUMENT;
  ModelHandle* m = handle_cast<ModelHandle>(model);
  if (!info) return m->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_model_get_info: info is NULL");
  if (!m->model) return m->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_model_get_info: no model loaded");
  info->load_seconds = m->model->load_stats().seconds;
  info->threads = static_cast<int32_t>(m->model->pool().size());
  info->kv_block_tokens = m->model->kv_config().block_tokens;
  info->kernels = kernels::isa_name(kernels::active_isa());
  const LoadStats& ls = m->model->load_stats();
  info->pack_cache_file = ls.pack_cache_file.c_str();
  info->pack_cache_read = ls.pack_cache_read ? 1 : 0;
  info->pack_cache_written = ls.pack_cache_written;
  info->pack_cache_note = ls.pack_cache_note.c_str();
  m->error.clear();
  return RLLM_OK;
}

}  // extern "C"
