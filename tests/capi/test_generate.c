/* Greedy generation through the C API: the known continuation of stories260K,
 * the same ids as the run-llm CLI, and loading from memory. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capi_test.h"

/* ../shared/models/README.md: greedy decoding of "Once upon a time" continues so. */
static const char kContinuation[] = ", there was a little girl named Lily. She loved to play outside in the park.";

struct text_buf {
  char text[4096];
  size_t len;
};

static int collect_text(void* user, int32_t token, const char* text, size_t len) {
  struct text_buf* b = user;
  (void)token;
  if (b->len + len < sizeof b->text) {
    memcpy(b->text + b->len, text, len);
    b->len += len;
    b->text[b->len] = '\0';
  }
  return RLLM_CONTINUE;
}

/* Loads stories260K from its folder and generates 32 greedy tokens after "Once upon a time". */
static size_t stories_greedy(rllm_model* model, int32_t* out, struct text_buf* text) {
  int32_t ids[MAX_IDS];
  size_t n = tokenize_text(model, "Once upon a time", 1, ids, MAX_IDS);
  rllm_session* s = NULL;
  if (n == 0 || rllm_session_create(model, &s) != RLLM_OK) return 0;
  rllm_generate_params p;
  rllm_generate_params_default(&p);
  p.max_tokens = 32;
  p.out_tokens = out;
  p.out_capacity = 32;
  p.on_token = collect_text;
  p.user = text;
  rllm_generate_result r;
  memset(&r, 0, sizeof r);
  if (rllm_session_generate(s, ids, n, &p, &r) != RLLM_OK) fprintf(stderr, "generate: %s\n", rllm_last_error(s));
  rllm_session_destroy(s);
  return r.n_tokens;
}

int capi_test_path_matches_known_continuation(void) {
  int failures = 0;
  rllm_model* model = NULL;
  CHECK_STATUS(NULL, rllm_model_create(&model), RLLM_OK);
  CHECK_STATUS(model, rllm_model_load(model, stories_dir(), NULL), RLLM_OK);
  int32_t out[32];
  struct text_buf text = {{0}, 0};
  size_t n = stories_greedy(model, out, &text);
  CHECK(n == 32);
  CHECK(strncmp(text.text, kContinuation, strlen(kContinuation)) == 0);
  if (failures) fprintf(stderr, "generated: \"%s\"\n", text.text);

  /* Detokenizing the ids gives the streamed text. */
  rllm_tokenizer* tok = NULL;
  CHECK_STATUS(model, rllm_tokenizer_create(model, &tok), RLLM_OK);
  char decoded[4096];
  size_t len = 0;
  CHECK_STATUS(tok, rllm_detokenize(tok, out, n, 1, decoded, sizeof decoded, &len), RLLM_OK);
  CHECK(len == text.len && strcmp(decoded, text.text) == 0);
  rllm_tokenizer_destroy(tok);
  rllm_model_destroy(model);
  return failures;
}

int capi_test_path_matches_cli(void) {
  int failures = 0;
  rllm_model* model = NULL;
  CHECK_STATUS(NULL, rllm_model_create(&model), RLLM_OK);
  CHECK_STATUS(model, rllm_model_load(model, stories_dir(), NULL), RLLM_OK);
  int32_t out[32];
  struct text_buf text = {{0}, 0};
  size_t n = stories_greedy(model, out, &text);
  rllm_model_destroy(model);
  CHECK(n == 32);

  /* run-llm MODEL --ids 1,403,407,261,378 -n 32 streams the same text (the prompt
   * ids are HF tokenizers' for "Once upon a time" with BOS), then a newline. */
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "%s %s --ids 1,403,407,261,378 -n 32", RLLM_RUN_LLM, stories_dir());
  FILE* p = popen(cmd, "r");
  CHECK(p != NULL);
  char cli[4096];
  size_t n_cli = p ? fread(cli, 1, sizeof cli - 1, p) : 0;
  cli[n_cli] = '\0';
  CHECK(p && pclose(p) == 0);
  CHECK(n_cli == text.len + 1 && cli[text.len] == '\n');
  CHECK(strncmp(cli, text.text, text.len) == 0);
  if (failures) fprintf(stderr, "run-llm: \"%s\"\nC API:   \"%s\"\n", cli, text.text);
  return failures;
}

int capi_test_memory_matches_path(void) {
  int failures = 0;
  rllm_model *from_path = NULL, *from_memory = NULL;
  char** blobs = NULL;
  size_t n_blobs = 0;
  CHECK_STATUS(NULL, rllm_model_create(&from_path), RLLM_OK);
  CHECK_STATUS(NULL, rllm_model_create(&from_memory), RLLM_OK);
  CHECK_STATUS(from_path, rllm_model_load(from_path, stories_dir(), NULL), RLLM_OK);
  CHECK_STATUS(from_memory, load_stories_from_memory(from_memory, &blobs, &n_blobs), RLLM_OK);
  int32_t a[32], b[32];
  struct text_buf ta = {{0}, 0}, tb = {{0}, 0};
  size_t na = stories_greedy(from_path, a, &ta);
  size_t nb = stories_greedy(from_memory, b, &tb);
  CHECK(na == 32 && nb == na);
  CHECK(memcmp(a, b, sizeof a) == 0);
  CHECK(strcmp(ta.text, tb.text) == 0);
  CHECK(strncmp(tb.text, kContinuation, strlen(kContinuation)) == 0);
  /* genai_config.json from memory: its context_length (512) bounds the session. */
  int64_t ctx = 0;
  CHECK_STATUS(from_memory, rllm_model_max_context(from_memory, &ctx), RLLM_OK);
  CHECK(ctx == 512);
  rllm_model_destroy(from_path);
  rllm_model_destroy(from_memory);
  free_blobs(blobs, n_blobs);
  return failures;
}

struct region {
  const void* data;
  size_t size;
  int calls;
};

static int resolve(void* user, const char* name, const void** data, size_t* size) {
  struct region* r = user;
  ++r->calls;
  if (strcmp(name, "model.onnx.data") != 0) return 1;
  *data = r->data;
  *size = r->size;
  return 0;
}

int capi_test_memory_resolve_callback(void) {
  int failures = 0;
  char path[1024];
  size_t onnx_size = 0, data_size = 0;
  snprintf(path, sizeof path, "%s/model.onnx", stories_dir());
  char* onnx = read_whole_file(path, &onnx_size);
  snprintf(path, sizeof path, "%s/model.onnx.data", stories_dir());
  char* data = read_whole_file(path, &data_size);
  CHECK(onnx && data);
  struct region r = {data, data_size, 0};
  rllm_model_source src;
  memset(&src, 0, sizeof src);
  src.onnx = onnx;
  src.onnx_size = onnx_size;
  src.resolve = resolve;
  src.resolve_user = &r;
  rllm_model* model = NULL;
  CHECK_STATUS(NULL, rllm_model_create(&model), RLLM_OK);
  CHECK_STATUS(model, rllm_model_load_memory(model, &src, NULL), RLLM_OK);
  CHECK(r.calls == 1); /* one external file, resolved once */

  /* Without a tokenizer the model runs on ids: the same ids as run-llm --ids. */
  rllm_tokenizer* tok = NULL;
  CHECK_STATUS(model, rllm_tokenizer_create(model, &tok), RLLM_ERR_NO_TOKENIZER);
  CHECK(tok == NULL && strstr(rllm_last_error(model), "tokenizer") != NULL);
  rllm_session* s = NULL;
  CHECK_STATUS(model, rllm_session_create(model, &s), RLLM_OK);
  const int32_t prompt[] = {1, 403, 407, 261, 378};
  int32_t out[32];
  size_t n = greedy(s, prompt, 5, 32, out);

  rllm_model* ref = NULL;
  CHECK_STATUS(NULL, rllm_model_create(&ref), RLLM_OK);
  CHECK_STATUS(ref, rllm_model_load(ref, stories_dir(), NULL), RLLM_OK);
  rllm_session* rs = NULL;
  CHECK_STATUS(ref, rllm_session_create(ref, &rs), RLLM_OK);
  int32_t expect[32];
  size_t n_ref = greedy(rs, prompt, 5, 32, expect);
  CHECK(n == 32 && n_ref == 32 && memcmp(out, expect, sizeof out) == 0);

  rllm_session_destroy(rs);
  rllm_model_destroy(ref);
  rllm_session_destroy(s);
  rllm_model_destroy(model);
  free(onnx);
  free(data);
  return failures;
}

int capi_test_tokenizer_round_trip(void) {
  int failures = 0;
  rllm_model* model = NULL;
  rllm_tokenizer* tok = NULL;
  CHECK_STATUS(NULL, rllm_model_create(&model), RLLM_OK);
  CHECK_STATUS(model, rllm_model_load(model, stories_dir(), NULL), RLLM_OK);
  CHECK_STATUS(model, rllm_tokenizer_create(model, &tok), RLLM_OK);
  const char* text = "Once upon a time";
  /* HF tokenizers on the same tokenizer.json: [1, 403, 407, 261, 378] with BOS. */
  const int32_t expect[] = {1, 403, 407, 261, 378};
  size_t n = 0;
  CHECK_STATUS(tok, rllm_tokenize(tok, text, strlen(text), 1, NULL, 0, &n), RLLM_ERR_BUFFER_TOO_SMALL);
  CHECK(n == 5);
  int32_t ids[5];
  CHECK_STATUS(tok, rllm_tokenize(tok, text, strlen(text), 1, ids, 5, &n), RLLM_OK);
  CHECK(n == 5 && memcmp(ids, expect, sizeof ids) == 0);
  CHECK_STATUS(tok, rllm_tokenize(tok, text, strlen(text), 0, ids, 5, &n), RLLM_OK);
  CHECK(n == 4 && memcmp(ids, expect + 1, 4 * sizeof(int32_t)) == 0);

  size_t len = 0;
  CHECK_STATUS(tok, rllm_detokenize(tok, expect, 5, 1, NULL, 0, &len), RLLM_ERR_BUFFER_TOO_SMALL);
  CHECK(len == strlen(text));
  char small[16]; /* exactly strlen(text): no room for the NUL */
  CHECK_STATUS(tok, rllm_detokenize(tok, expect, 5, 1, small, sizeof small, &len), RLLM_ERR_BUFFER_TOO_SMALL);
  char out[17];
  CHECK_STATUS(tok, rllm_detokenize(tok, expect, 5, 1, out, sizeof out, &len), RLLM_OK);
  CHECK(strcmp(out, text) == 0);

  /* stories260K's tokenizer has no chat template: a status and a message. */
  rllm_chat_message msg = {"user", "Hi"};
  CHECK_STATUS(tok, rllm_apply_chat_template(tok, &msg, 1, 1, out, sizeof out, &len), RLLM_ERR_BAD_INPUT);
  CHECK(strstr(rllm_last_error(tok), "template") != NULL);
  rllm_tokenizer_destroy(tok);
  rllm_model_destroy(model);
  return failures;
}

int capi_test_chat_smollm2(void) {
  int failures = 0;
  rllm_model* model = NULL;
  CHECK_STATUS(NULL, rllm_model_create(&model), RLLM_OK);
  CHECK_STATUS(model, rllm_model_load(model, RLLM_SHARED_MODELS "/smollm2-135m-instruct-int4-ortgenai", NULL), RLLM_OK);
  rllm_tokenizer* tok = NULL;
  CHECK_STATUS(model, rllm_tokenizer_create(model, &tok), RLLM_OK);
  rllm_chat_message msg = {"user", "What is the capital of France?"};
  size_t len = 0;
  CHECK_STATUS(tok, rllm_apply_chat_template(tok, &msg, 1, 1, NULL, 0, &len), RLLM_ERR_BUFFER_TOO_SMALL);
  char text[1024];
  CHECK(len < sizeof text);
  CHECK_STATUS(tok, rllm_apply_chat_template(tok, &msg, 1, 1, text, sizeof text, &len), RLLM_OK);
  /* transformers' apply_chat_template(tokenize=False, add_generation_prompt=True). */
  CHECK(strcmp(text,
               "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
               "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n") == 0);
  int32_t ids[MAX_IDS];
  size_t n = 0;
  CHECK_STATUS(tok, rllm_tokenize(tok, text, len, 0, ids, MAX_IDS, &n), RLLM_OK);
  CHECK(n == 37);

  /* A template of the caller's instead of the model's, then back (len 0). */
  const char own[] =
      "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
      "{% if add_generation_prompt %}[assistant] {% endif %}";
  char other[256];
  size_t other_len = 0;
  CHECK_STATUS(tok, rllm_tokenizer_set_chat_template(tok, own, strlen(own)), RLLM_OK);
  CHECK_STATUS(tok, rllm_apply_chat_template(tok, &msg, 1, 1, other, sizeof other, &other_len), RLLM_OK);
  CHECK(strcmp(other, "[user] What is the capital of France?\n[assistant] ") == 0);
  CHECK_STATUS(tok, rllm_tokenizer_set_chat_template(tok, NULL, 0), RLLM_OK);
  CHECK_STATUS(tok, rllm_apply_chat_template(tok, &msg, 1, 1, other, sizeof other, &other_len), RLLM_OK);
  CHECK(other_len == len && strcmp(other, text) == 0); /* transformers' apply_chat_template(tokenize=True): 37 ids */

  /* onnxruntime-genai's greedy reply on this folder (../shared/models/README.md). */
  rllm_session* s = NULL;
  CHECK_STATUS(model, rllm_session_create(model, &s), RLLM_OK);
  struct text_buf reply = {{0}, 0};
  rllm_generate_params p;
  rllm_generate_params_default(&p);
  p.max_tokens = 12;
  p.on_token = collect_text;
  p.user = &reply;
  const char* stop = "Paris";
  p.stop_strings = &stop;
  p.n_stop_strings = 1;
  rllm_generate_result r;
  CHECK_STATUS(s, rllm_session_generate(s, ids, n, &p, &r), RLLM_OK);
  CHECK(strncmp(reply.text, "The capital of France is Paris", 30) == 0);
  CHECK(r.finish == RLLM_FINISH_STOP_STRING);
  CHECK(r.first_token_seconds > 0);
  if (failures) fprintf(stderr, "reply: \"%s\"\n", reply.text);
  rllm_session_destroy(s);
  rllm_tokenizer_destroy(tok);
  rllm_model_destroy(model);
  return failures;
}

/* Loads `dir` with `options` and returns its greedy continuation (ids in out). */
static size_t load_and_generate(const char* dir, const rllm_model_options* o, rllm_model_info* info, int32_t* out,
                                int* failures_out) {
  int failures = 0;
  rllm_model* model = NULL;
  CHECK_STATUS(NULL, rllm_model_create(&model), RLLM_OK);
  CHECK_STATUS(model, rllm_model_load(model, dir, o), RLLM_OK);
  CHECK_STATUS(model, rllm_model_get_info(model, info), RLLM_OK);
  struct text_buf text = {{0}, 0};
  size_t n = stories_greedy(model, out, &text);
  /* The strings of info live as long as the model: copy what the caller checks. */
  static char file[1024];
  snprintf(file, sizeof file, "%s", info->pack_cache_file);
  info->pack_cache_file = file;
  info->pack_cache_note = "";
  rllm_model_destroy(model);
  *failures_out += failures;
  return n;
}

int capi_test_pack_cache(void) {
  int failures = 0;
  char int4[1024];
  snprintf(int4, sizeof int4, "%s", stories_dir());
  memcpy(strstr(int4, "-fp32"), "-int4", 5);
  char dir[] = "/tmp/rllm-capi-pack-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  /* stories260K is far below the default 512 MB threshold. */
  setenv("RLLM_PACK_CACHE_MIN_MB", "0", 1);
  rllm_model_options o;
  rllm_model_options_default(&o);
  o.pack_cache = dir;
  rllm_model_info info;
  int32_t first[32], second[32], none[32];
  size_t n1 = load_and_generate(int4, &o, &info, first, &failures);
  CHECK(n1 == 32);
  CHECK(info.pack_cache_written > 0 && info.pack_cache_read == 0);
  CHECK(strncmp(info.pack_cache_file, dir, strlen(dir)) == 0);
  char file[1024];
  snprintf(file, sizeof file, "%s", info.pack_cache_file);

  size_t n2 = load_and_generate(int4, &o, &info, second, &failures);
  CHECK(info.pack_cache_read == 1 && info.pack_cache_written == 0);
  CHECK(n2 == n1 && memcmp(first, second, n1 * sizeof first[0]) == 0);

  o.pack_cache = "";
  size_t n3 = load_and_generate(int4, &o, &info, none, &failures);
  CHECK(info.pack_cache_read == 0 && info.pack_cache_written == 0 && info.pack_cache_file[0] == '\0');
  CHECK(n3 == n1 && memcmp(first, none, n1 * sizeof first[0]) == 0);

  unsetenv("RLLM_PACK_CACHE_MIN_MB");
  remove(file);
  CHECK(rmdir(dir) == 0);
  return failures;
}
