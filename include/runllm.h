/* run-llm C API (C99): load a decoder model from a folder or from memory,
 * tokenize, apply the chat template, and generate token by token.
 *
 * Handles are opaque and created/destroyed explicitly. Buffers belong to the
 * caller: functions that return variable-sized data take (buffer, capacity,
 * &length), always store the length needed, and return RLLM_ERR_BUFFER_TOO_SMALL
 * without writing when the capacity is short, so a first call with capacity 0
 * asks for the size. There is no global state.
 *
 * Threads: a handle is used by one thread at a time, except rllm_session_cancel
 * (any thread, any time). Separate sessions of one model may generate in
 * separate threads at once; their generations take turns (one at a time) on
 * the model's thread pool. Tokenizer handles made from one model are independent.
 *
 * Errors: every call returns an rllm_status; after a failure,
 * rllm_last_error(handle) gives a message naming the file, tensor, node or
 * argument at fault. No C++ exception crosses this interface. */
#ifndef RUNLLM_H
#define RUNLLM_H

#include <stddef.h>
#include <stdint.h>

#if defined(RLLM_BUILDING_LIBRARY) && defined(__GNUC__)
#define RLLM_API __attribute__((visibility("default")))
#else
#define RLLM_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rllm_status {
  RLLM_OK = 0,
  RLLM_ERR_INVALID_ARGUMENT = 1, /* NULL pointer, out-of-range option, wrong state */
  RLLM_ERR_NOT_FOUND = 2,        /* a model path or an external-data name that does not exist */
  RLLM_ERR_MODEL = 3,            /* malformed bytes, or content the engine does not support */
  RLLM_ERR_NO_TOKENIZER = 4,     /* text asked of a model loaded without a tokenizer */
  RLLM_ERR_BAD_INPUT = 5,        /* text, token ids or a chat template the engine refuses */
  RLLM_ERR_CONTEXT_OVERFLOW = 6, /* the prompt does not fit the session's max context */
  RLLM_ERR_BUFFER_TOO_SMALL = 7, /* the length needed has been stored; nothing written */
  RLLM_ERR_OUT_OF_MEMORY = 8,
  RLLM_ERR_INTERNAL = 9
} rllm_status;

/* A fixed English description of a status (never NULL). */
RLLM_API const char* rllm_status_string(rllm_status status);

/* The message of the last failed call on `handle` (an rllm_model*,
 * rllm_session* or rllm_tokenizer*), "" if that call succeeded. Valid until the
 * next call on the handle. rllm_last_error(NULL) says that no handle was given. */
RLLM_API const char* rllm_last_error(const void* handle);

typedef struct rllm_model rllm_model;
typedef struct rllm_session rllm_session;
typedef struct rllm_tokenizer rllm_tokenizer;

/* ---- Models ---------------------------------------------------------------- */

typedef enum rllm_kv_dtype {
  RLLM_KV_F32 = 0,
  RLLM_KV_F16 = 1 /* half the memory per token */
} rllm_kv_dtype;

typedef struct rllm_model_options {
  int32_t threads;         /* 0: one per core (1 in a RLLM_MINIMAL build) */
  int32_t kv_block_tokens; /* tokens per KV cache block, > 0 */
  rllm_kv_dtype kv_dtype;
  int64_t max_context;     /* longest sequence; 0: genai_config's context_length */
  /* Directory where rllm_model_load keeps weights packed for the kernels, so a
   * later load of the same files maps them instead of packing again (models
   * whose files reach RLLM_PACK_CACHE_MIN_MB, default 512). NULL: the
   * RLLM_PACK_CACHE environment variable (a directory, or "off"), else
   * $XDG_CACHE_HOME/run-llm/packed or ~/.cache/run-llm/packed. "": none. */
  const char* pack_cache;
} rllm_model_options;

/* Fills the defaults: threads 0, 16-token blocks, f32 KV, the model's context,
 * pack_cache NULL. */
RLLM_API void rllm_model_options_default(rllm_model_options* options);

/* External data resolution for loading from memory. A table maps the names the
 * .onnx file gives as "location" (e.g. "model.onnx.data") to memory regions; a
 * name not in the table goes to the callback, which returns 0 and sets
 * *data / *size, or returns non-zero when it does not know the name. */
typedef struct rllm_memory_region {
  const char* name;
  const void* data;
  size_t size;
} rllm_memory_region;

typedef int (*rllm_resolve_fn)(void* user, const char* name, const void** data, size_t* size);

/* A model held in memory. The .onnx bytes and every external-data region are
 * used in place (no copy) and must stay valid and unchanged until the model is
 * destroyed. The JSON texts are parsed during the load and may be freed after
 * it. Optional members are NULL / 0 when absent. */
typedef struct rllm_model_source {
  const void* onnx;
  size_t onnx_size;
  const rllm_memory_region* external; /* optional table */
  size_t n_external;
  rllm_resolve_fn resolve; /* optional: names the table lacks */
  void* resolve_user;
  const char* genai_config_json; /* optional: input/output names, EOS ids, context length */
  size_t genai_config_json_size;
  const char* tokenizer_json; /* optional: no text functions without it */
  size_t tokenizer_json_size;
  const char* tokenizer_config_json; /* optional: special tokens, chat template */
  size_t tokenizer_config_json_size;
  const char* chat_template; /* optional: a Jinja chat template (chat_template.jinja) */
  size_t chat_template_size;
} rllm_model_source;

/* An empty model handle; load it with one of the two calls below. */
RLLM_API rllm_status rllm_model_create(rllm_model** out);
RLLM_API void rllm_model_destroy(rllm_model* model);

/* `path`: an ONNX Runtime GenAI folder (genai_config.json, model.onnx, tokenizer.json)
 * or one .onnx file with its tokenizer beside it. options NULL: the defaults. */
RLLM_API rllm_status rllm_model_load(rllm_model* model, const char* path, const rllm_model_options* options);
RLLM_API rllm_status rllm_model_load_memory(rllm_model* model, const rllm_model_source* source,
                                            const rllm_model_options* options);

RLLM_API rllm_status rllm_model_vocab_size(rllm_model* model, int32_t* vocab_size);
RLLM_API rllm_status rllm_model_max_context(rllm_model* model, int64_t* max_context);

typedef struct rllm_model_info {
  double load_seconds;      /* mapping, parsing, repacking and planning */
  int32_t threads;          /* of the model's thread pool */
  int32_t kv_block_tokens;
  const char* kernels;      /* the instruction set the kernels use, e.g. "avx2"; static storage */
  /* The pack cache file this load mapped its packed weights from
   * (pack_cache_read 1) or wrote them to (pack_cache_written bytes), else "";
   * pack_cache_note: why a cache file was not used or not written, else "".
   * Both strings live as long as the model. */
  const char* pack_cache_file;
  int32_t pack_cache_read;
  uint64_t pack_cache_written;
  const char* pack_cache_note;
} rllm_model_info;

RLLM_API rllm_status rllm_model_get_info(rllm_model* model, rllm_model_info* info);

/* ---- Tokenizer ------------------------------------------------------------- */

/* A handle on the model's tokenizer (shared, not copied); the model must outlive it. */
RLLM_API rllm_status rllm_tokenizer_create(rllm_model* model, rllm_tokenizer** out);
RLLM_API void rllm_tokenizer_destroy(rllm_tokenizer* tokenizer);

/* UTF-8 text -> ids. add_special: the BOS/EOS the tokenizer adds around a sequence. */
RLLM_API rllm_status rllm_tokenize(rllm_tokenizer* tokenizer, const char* text, size_t text_len, int add_special,
                                   int32_t* ids, size_t capacity, size_t* n_ids);

/* ids -> UTF-8 text, NUL-terminated: capacity must exceed *text_len by one. */
RLLM_API rllm_status rllm_detokenize(rllm_tokenizer* tokenizer, const int32_t* ids, size_t n_ids,
                                     int skip_special, char* text, size_t capacity, size_t* text_len);

typedef struct rllm_chat_message {
  const char* role; /* "system", "user", "assistant" */
  const char* content;
} rllm_chat_message;

/* The model's chat template rendered over the messages (NUL-terminated, as
 * rllm_detokenize). Tokenize the result with add_special = 0. */
RLLM_API rllm_status rllm_apply_chat_template(rllm_tokenizer* tokenizer, const rllm_chat_message* messages,
                                              size_t n_messages, int add_generation_prompt, char* text,
                                              size_t capacity, size_t* text_len);

/* Renders this handle's chat template from `source` (a Jinja template, e.g. a
 * chat_template.jinja file) instead of the model's; len 0 goes back to the model's. */
RLLM_API rllm_status rllm_tokenizer_set_chat_template(rllm_tokenizer* tokenizer, const char* source, size_t len);

/* ---- Sessions and generation ----------------------------------------------- */

/* A conversation: its own KV cache over the model. The model must outlive it. */
RLLM_API rllm_status rllm_session_create(rllm_model* model, rllm_session** out);
RLLM_API void rllm_session_destroy(rllm_session* session);

/* Empties the session's KV cache. */
RLLM_API rllm_status rllm_session_reset(rllm_session* session);

/* Asks the generation running on `session` (or, if none, the next one) to stop
 * after the token it is computing. Safe from any thread; the request is used
 * up by the generation it stops. */
RLLM_API rllm_status rllm_session_cancel(rllm_session* session);

enum { RLLM_CONTINUE = 0, RLLM_STOP = 1 };

/* Called for each generated token with the text it completes (possibly empty,
 * not NUL-terminated; empty without a tokenizer). A final call with token -1
 * may carry text held back at the end. Return RLLM_CONTINUE or RLLM_STOP. */
typedef int (*rllm_token_fn)(void* user, int32_t token, const char* text, size_t text_len);

typedef struct rllm_generate_params {
  int32_t max_tokens;         /* new tokens at most */
  float temperature;          /* <= 0: greedy */
  int32_t top_k;              /* 0: off */
  float top_p;                /* 1: off */
  float min_p;                /* 0: off */
  float repetition_penalty;   /* 1: off */
  int32_t repetition_last_n;  /* ids the penalty looks back over */
  uint64_t seed;
  const char* const* stop_strings; /* stop once the generated text contains one */
  size_t n_stop_strings;
  rllm_token_fn on_token; /* optional */
  void* user;
  int32_t* out_tokens; /* optional: receives the first out_capacity generated ids */
  size_t out_capacity;
} rllm_generate_params;

/* Fills the defaults: 128 tokens, greedy, no penalties, seed 0, no callback. */
RLLM_API void rllm_generate_params_default(rllm_generate_params* params);

typedef enum rllm_finish_reason {
  RLLM_FINISH_EOS = 0,         /* the model's end-of-sequence token (not counted) */
  RLLM_FINISH_LENGTH = 1,      /* max_tokens reached */
  RLLM_FINISH_STOP_STRING = 2, /* the text contains a stop string */
  RLLM_FINISH_CALLBACK = 3,    /* on_token returned RLLM_STOP */
  RLLM_FINISH_CANCELLED = 4,   /* rllm_session_cancel */
  RLLM_FINISH_CONTEXT = 5      /* the session's max context is full */
} rllm_finish_reason;

typedef struct rllm_generate_result {
  size_t n_tokens;          /* generated (out_tokens holds min(n_tokens, out_capacity)) */
  rllm_finish_reason finish;
  size_t reused_tokens;     /* prompt tokens found in the KV cache from earlier turns */
  size_t prefilled_tokens;  /* prompt tokens computed by this call */
  double prefill_seconds;
  double decode_seconds;
  double first_token_seconds; /* from the call to the first generated token */
} rllm_generate_result;

/* Generates after `ids`, the whole conversation so far (not only the new turn).
 * The longest prefix of `ids` that the session's KV cache already holds (from
 * earlier calls: their prompts and generated tokens) is reused, the rest is
 * computed; so a multi-turn chat passes the full transcript each turn and pays
 * only for what is new. result may be NULL. */
RLLM_API rllm_status rllm_session_generate(rllm_session* session, const int32_t* ids, size_t n_ids,
                                           const rllm_generate_params* params, rllm_generate_result* result);

/* The ids the session's KV cache holds, in order (size query as above). */
RLLM_API rllm_status rllm_session_cached_tokens(rllm_session* session, int32_t* ids, size_t capacity,
                                                size_t* n_ids);

/* ---- Memory ------------------------------------------------------------------ */

typedef struct rllm_memory_stats {
  uint64_t mapped_bytes;    /* model + external data files mapped (or borrowed from memory) */
  uint64_t repacked_bytes;  /* weights repacked for the kernels at load */
  uint64_t kv_bytes;        /* KV cache blocks this session holds */
  uint64_t kv_blocks;
  uint64_t peak_rss_bytes;  /* the process's peak resident set (VmHWM); 0 where unknown */
} rllm_memory_stats;

RLLM_API rllm_status rllm_session_memory_stats(rllm_session* session, rllm_memory_stats* stats);

#ifdef __cplusplus
}
#endif

#endif /* RUNLLM_H */
