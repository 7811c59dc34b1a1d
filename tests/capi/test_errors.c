/* Every error path returns a status and a message; ASan/LSan runs of this file
 * check that none of them leaks. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capi_test.h"

/* A fresh temporary folder; path must hold 64 bytes. */
static int make_temp_dir(char* path) {
  strcpy(path, "/tmp/rllm-capi-XXXXXX");
  return mkdtemp(path) != NULL;
}

static int write_file(const char* dir, const char* name, const void* data, size_t size) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE* f = fopen(path, "wb");
  if (!f) return 0;
  int ok = fwrite(data, 1, size, f) == size;
  return fclose(f) == 0 && ok;
}

static void remove_dir(const char* dir, const char* const* names, size_t n) {
  char path[1024];
  for (size_t i = 0; i < n; ++i) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    unlink(path);
  }
  rmdir(dir);
}

static int contains(const char* haystack, const char* needle) { return strstr(haystack, needle) != NULL; }

int capi_test_error_missing_file(void) {
  int failures = 0;
  rllm_model* model = NULL;
  CHECK_STATUS(NULL, rllm_model_create(&model), RLLM_OK);
  CHECK_STATUS(model, rllm_model_load(model, "/no/such/model-folder", NULL), RLLM_ERR_NOT_FOUND);
  CHECK(contains(rllm_last_error(model), "/no/such/model-folder"));

  /* A folder with genai_config.json but no model.onnx: the message names the file. */
  char dir[64];
  CHECK(make_temp_dir(dir));
  size_t size = 0;
  char cfg_path[1024];
  snprintf(cfg_path, sizeof cfg_path, "%s/genai_config.json", stories_dir());
  char* cfg = read_whole_file(cfg_path, &size);
  CHECK(cfg && write_file(dir, "genai_config.json", cfg, size));
  CHECK_STATUS(model, rllm_model_load(model, dir, NULL), RLLM_ERR_MODEL);
  CHECK(contains(rllm_last_error(model), "model.onnx"));
  /* A failed load leaves the handle empty and reusable. */
  CHECK_STATUS(model, rllm_model_load(model, stories_dir(), NULL), RLLM_OK);
  CHECK(strcmp(rllm_last_error(model), "") == 0);
  const char* names[] = {"genai_config.json"};
  remove_dir(dir, names, 1);
  free(cfg);
  rllm_model_destroy(model);
  return failures;
}

int capi_test_error_bad_bytes(void) {
  int failures = 0;
  rllm_model* model = NULL;
  CHECK_STATUS(NULL, rllm_model_create(&model), RLLM_OK);
  static const char junk[] = "this is not an ONNX model at all";
  rllm_model_source src;
  memset(&src, 0, sizeof src);
  src.onnx = junk;
  src.onnx_size = sizeof junk - 1;
  CHECK_STATUS(model, rllm_model_load_memory(model, &src, NULL), RLLM_ERR_MODEL);
  CHECK(strlen(rllm_last_error(model)) > 0);

  /* The real .onnx cut in half, on disk: the message names the file. */
  char path[1024];
  size_t onnx_size = 0, data_size = 0;
  snprintf(path, sizeof path, "%s/model.onnx", stories_dir());
  char* onnx = read_whole_file(path, &onnx_size);
  snprintf(path, sizeof path, "%s/model.onnx.data", stories_dir());
  char* data = read_whole_file(path, &data_size);
  CHECK(onnx && data);
  char dir[64];
  CHECK(make_temp_dir(dir));
  CHECK(write_file(dir, "model.onnx", onnx, onnx_size / 2));
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  CHECK_STATUS(model, rllm_model_load(model, path, NULL), RLLM_ERR_MODEL);
  CHECK(contains(rllm_last_error(model), path));
  const char* names[] = {"model.onnx"};
  remove_dir(dir, names, 1);

  /* From memory without the external data: the missing name is reported. */
  src.onnx = onnx;
  src.onnx_size = onnx_size;
  CHECK_STATUS(model, rllm_model_load_memory(model, &src, NULL), RLLM_ERR_NOT_FOUND);
  CHECK(contains(rllm_last_error(model), "model.onnx.data"));
  /* External data shorter than the tensors it should hold. */
  rllm_memory_region region = {"model.onnx.data", data, data_size / 2};
  src.external = &region;
  src.n_external = 1;
  CHECK_STATUS(model, rllm_model_load_memory(model, &src, NULL), RLLM_ERR_MODEL);
  CHECK(strlen(rllm_last_error(model)) > 0);
  /* Malformed tokenizer.json and genai_config.json texts. */
  region.size = data_size;
  src.tokenizer_json = "{\"model\": ";
  src.tokenizer_json_size = strlen(src.tokenizer_json);
  CHECK_STATUS(model, rllm_model_load_memory(model, &src, NULL), RLLM_ERR_MODEL);
  CHECK(contains(rllm_last_error(model), "tokenizer.json"));
  src.tokenizer_json = NULL;
  src.tokenizer_json_size = 0;
  src.genai_config_json = "[1, 2]";
  src.genai_config_json_size = strlen(src.genai_config_json);
  CHECK_STATUS(model, rllm_model_load_memory(model, &src, NULL), RLLM_ERR_MODEL);
  CHECK(contains(rllm_last_error(model), "genai_config.json"));
  free(onnx);
  free(data);
  rllm_model_destroy(model);
  return failures;
}

int capi_test_error_unsupported_op(void) {
  int failures = 0;
  char dir[64], cmd[2048], path[1024];
  CHECK(make_temp_dir(dir));
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  snprintf(cmd, sizeof cmd, "%s %s/tests/capi/make_unsupported_op.py %s", RLLM_PYTHON, RLLM_SOURCE_DIR, path);
  CHECK(system(cmd) == 0);
  rllm_model* model = NULL;
  CHECK_STATUS(NULL, rllm_model_create(&model), RLLM_OK);
  CHECK_STATUS(model, rllm_model_load(model, path, NULL), RLLM_ERR_MODEL);
  /* The message names the node and the op. */
  CHECK(contains(rllm_last_error(model), "the_det") && contains(rllm_last_error(model), "Det"));
  const char* names[] = {"model.onnx"};
  remove_dir(dir, names, 1);
  rllm_model_destroy(model);
  return failures;
}

int capi_test_error_context_overflow(void) {
  int failures = 0;
  rllm_model* model = NULL;
  CHECK_STATUS(NULL, rllm_model_create(&model), RLLM_OK);
  rllm_model_options o;
  rllm_model_options_default(&o);
  o.max_context = 8;
  CHECK_STATUS(model, rllm_model_load(model, stories_dir(), &o), RLLM_OK);
  rllm_session* s = NULL;
  CHECK_STATUS(model, rllm_session_create(model, &s), RLLM_OK);
  const int32_t nine[] = {1, 403, 407, 261, 378, 10, 11, 12, 13};
  const int32_t five[] = {1, 403, 407, 261, 378};
  rllm_generate_result r;
  CHECK_STATUS(s, rllm_session_generate(s, nine, 9, NULL, &r), RLLM_ERR_CONTEXT_OVERFLOW);
  CHECK(contains(rllm_last_error(s), "9") && contains(rllm_last_error(s), "8"));
  /* 5 prompt ids in a context of 8: 8 - 5 + 1 = 4 new ids (the last is never run). */
  rllm_generate_params p;
  rllm_generate_params_default(&p);
  p.max_tokens = 20;
  CHECK_STATUS(s, rllm_session_generate(s, five, 5, &p, &r), RLLM_OK);
  CHECK(r.finish == RLLM_FINISH_CONTEXT && r.n_tokens == 4);
  rllm_session_destroy(s);
  rllm_model_destroy(model);
  return failures;
}

int capi_test_error_null_arguments(void) {
  int failures = 0;
  const int32_t ids[] = {1, 403};
  size_t n = 0;
  char text[8];
  CHECK_STATUS(NULL, rllm_model_create(NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(NULL, rllm_model_load(NULL, stories_dir(), NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(NULL, rllm_model_load_memory(NULL, NULL, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(NULL, rllm_session_create(NULL, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(NULL, rllm_tokenizer_create(NULL, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(NULL, rllm_tokenize(NULL, "a", 1, 1, NULL, 0, &n), RLLM_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(NULL, rllm_detokenize(NULL, ids, 2, 0, text, sizeof text, &n), RLLM_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(NULL, rllm_apply_chat_template(NULL, NULL, 0, 1, text, sizeof text, &n), RLLM_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(NULL, rllm_session_generate(NULL, ids, 2, NULL, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(NULL, rllm_session_reset(NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(NULL, rllm_session_cancel(NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(NULL, rllm_session_cached_tokens(NULL, NULL, 0, &n), RLLM_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(NULL, rllm_session_memory_stats(NULL, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(NULL, rllm_model_vocab_size(NULL, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(NULL, rllm_model_max_context(NULL, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(NULL, rllm_model_get_info(NULL, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(NULL, rllm_tokenizer_set_chat_template(NULL, "x", 1), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(strlen(rllm_last_error(NULL)) > 0);
  rllm_model_destroy(NULL);
  rllm_session_destroy(NULL);
  rllm_tokenizer_destroy(NULL);
  rllm_model_options_default(NULL);
  rllm_generate_params_default(NULL);

  /* NULL arguments next to a valid handle: the message names the argument. */
  rllm_model* model = NULL;
  CHECK_STATUS(NULL, rllm_model_create(&model), RLLM_OK);
  CHECK_STATUS(model, rllm_model_load(model, NULL, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(contains(rllm_last_error(model), "path"));
  CHECK_STATUS(model, rllm_model_load_memory(model, NULL, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(contains(rllm_last_error(model), "source"));
  rllm_session* s = NULL;
  CHECK_STATUS(model, rllm_session_create(model, &s), RLLM_ERR_INVALID_ARGUMENT); /* nothing loaded */
  CHECK(s == NULL && contains(rllm_last_error(model), "no model"));
  CHECK_STATUS(model, rllm_model_load(model, stories_dir(), NULL), RLLM_OK);
  CHECK_STATUS(model, rllm_session_create(model, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(contains(rllm_last_error(model), "out"));
  CHECK_STATUS(model, rllm_model_vocab_size(model, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(contains(rllm_last_error(model), "vocab_size"));
  CHECK_STATUS(model, rllm_model_get_info(model, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(contains(rllm_last_error(model), "info"));
  rllm_tokenizer* tok = NULL;
  CHECK_STATUS(model, rllm_tokenizer_create(model, &tok), RLLM_OK);
  CHECK_STATUS(tok, rllm_tokenize(tok, NULL, 3, 1, NULL, 0, &n), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(contains(rllm_last_error(tok), "text"));
  CHECK_STATUS(tok, rllm_tokenize(tok, "abc", 3, 1, NULL, 0, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(contains(rllm_last_error(tok), "n_ids"));
  CHECK_STATUS(tok, rllm_detokenize(tok, NULL, 2, 0, text, sizeof text, &n), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(contains(rllm_last_error(tok), "ids"));
  rllm_chat_message bad = {NULL, "hi"};
  CHECK_STATUS(tok, rllm_apply_chat_template(tok, &bad, 1, 1, text, sizeof text, &n), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(contains(rllm_last_error(tok), "message 0"));
  CHECK_STATUS(tok, rllm_tokenizer_set_chat_template(tok, NULL, 4), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(contains(rllm_last_error(tok), "source"));
  CHECK_STATUS(model, rllm_session_create(model, &s), RLLM_OK);
  CHECK_STATUS(s, rllm_session_generate(s, NULL, 2, NULL, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(contains(rllm_last_error(s), "ids"));
  CHECK_STATUS(s, rllm_session_memory_stats(s, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(contains(rllm_last_error(s), "stats"));
  rllm_generate_params p;
  rllm_generate_params_default(&p);
  p.n_stop_strings = 1;
  CHECK_STATUS(s, rllm_session_generate(s, ids, 2, &p, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(contains(rllm_last_error(s), "stop_strings"));
  rllm_session_destroy(s);
  rllm_tokenizer_destroy(tok);
  rllm_model_destroy(model);
  return failures;
}

int capi_test_error_options_and_inputs(void) {
  int failures = 0;
  rllm_model* model = NULL;
  CHECK_STATUS(NULL, rllm_model_create(&model), RLLM_OK);
  rllm_model_options o;
  rllm_model_options_default(&o);
  o.kv_dtype = (rllm_kv_dtype)7;
  CHECK_STATUS(model, rllm_model_load(model, stories_dir(), &o), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(contains(rllm_last_error(model), "kv_dtype"));
  rllm_model_options_default(&o);
  o.kv_block_tokens = 0;
  CHECK_STATUS(model, rllm_model_load(model, stories_dir(), &o), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(contains(rllm_last_error(model), "kv_block_tokens"));
  CHECK_STATUS(model, rllm_model_load(model, stories_dir(), NULL), RLLM_OK);
  CHECK_STATUS(model, rllm_model_load(model, stories_dir(), NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(contains(rllm_last_error(model), "already"));
  int32_t vocab = 0;
  CHECK_STATUS(model, rllm_model_vocab_size(model, &vocab), RLLM_OK);
  CHECK(vocab == 512); /* stories260K's header: vocab_size=512 */

  rllm_session* s = NULL;
  CHECK_STATUS(model, rllm_session_create(model, &s), RLLM_OK);
  const int32_t out_of_vocab[] = {1, 512};
  CHECK_STATUS(s, rllm_session_generate(s, out_of_vocab, 2, NULL, NULL), RLLM_ERR_BAD_INPUT);
  CHECK(contains(rllm_last_error(s), "512"));
  const int32_t negative[] = {1, -3};
  CHECK_STATUS(s, rllm_session_generate(s, negative, 2, NULL, NULL), RLLM_ERR_BAD_INPUT);
  CHECK_STATUS(s, rllm_session_generate(s, negative, 0, NULL, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(contains(rllm_last_error(s), "empty"));
  rllm_generate_params p;
  rllm_generate_params_default(&p);
  p.top_p = 0.0f;
  CHECK_STATUS(s, rllm_session_generate(s, out_of_vocab, 1, &p, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(contains(rllm_last_error(s), "top_p"));
  rllm_generate_params_default(&p);
  p.max_tokens = -1;
  CHECK_STATUS(s, rllm_session_generate(s, out_of_vocab, 1, &p, NULL), RLLM_ERR_INVALID_ARGUMENT);
  CHECK(contains(rllm_last_error(s), "max_tokens"));
  /* A failed call leaves the session usable: the cache is untouched. */
  size_t n = 0;
  CHECK_STATUS(s, rllm_session_cached_tokens(s, NULL, 0, &n), RLLM_OK);
  CHECK(n == 0);

  rllm_tokenizer* tok = NULL;
  CHECK_STATUS(model, rllm_tokenizer_create(model, &tok), RLLM_OK);
  static const char bad_utf8[] = "caf\xc3";
  int32_t ids[16];
  CHECK_STATUS(tok, rllm_tokenize(tok, bad_utf8, sizeof bad_utf8 - 1, 1, ids, 16, &n), RLLM_ERR_BAD_INPUT);
  CHECK(strlen(rllm_last_error(tok)) > 0);
  char text[16];
  CHECK_STATUS(tok, rllm_detokenize(tok, out_of_vocab, 2, 0, text, sizeof text, &n), RLLM_ERR_BAD_INPUT);
  CHECK(contains(rllm_last_error(tok), "512"));
  rllm_tokenizer_destroy(tok);
  rllm_session_destroy(s);
  rllm_model_destroy(model);
  return failures;
}
