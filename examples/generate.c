/* Loads a model folder, tokenizes a prompt and streams a greedy continuation
 * through the run-llm C API.
 *
 *   generate MODEL_DIR [PROMPT] [MAX_TOKENS]
 *
 * Prints the continuation on stdout, and the memory of the generation (mapped
 * and repacked weights, KV cache, peak RSS) on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runllm.h"

static int print_token(void* user, int32_t token, const char* text, size_t len) {
  (void)user;
  (void)token;
  fwrite(text, 1, len, stdout);
  fflush(stdout);
  return RLLM_CONTINUE;
}

static int fail(const char* what, rllm_status status, const void* handle) {
  fprintf(stderr, "generate: %s: %s (%s)\n", what, rllm_last_error(handle), rllm_status_string(status));
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: generate MODEL_DIR [PROMPT] [MAX_TOKENS]\n");
    return 2;
  }
  const char* prompt = argc > 2 ? argv[2] : "Once upon a time";
  int max_tokens = argc > 3 ? atoi(argv[3]) : 64;
  int rc = 1;
  rllm_model* model = NULL;
  rllm_tokenizer* tokenizer = NULL;
  rllm_session* session = NULL;
  int32_t* ids = NULL;
  rllm_status s;

  if ((s = rllm_model_create(&model)) != RLLM_OK) return fail("create", s, NULL);
  if ((s = rllm_model_load(model, argv[1], NULL)) != RLLM_OK) {
    rc = fail("load", s, model);
    goto done;
  }
  if ((s = rllm_tokenizer_create(model, &tokenizer)) != RLLM_OK) {
    rc = fail("tokenizer", s, model);
    goto done;
  }
  /* Ask for the size, then fill a buffer of that size. */
  size_t n_ids = 0;
  s = rllm_tokenize(tokenizer, prompt, strlen(prompt), 1, NULL, 0, &n_ids);
  if (s != RLLM_ERR_BUFFER_TOO_SMALL && s != RLLM_OK) {
    rc = fail("tokenize", s, tokenizer);
    goto done;
  }
  ids = malloc((n_ids ? n_ids : 1) * sizeof *ids);
  if (!ids || (s = rllm_tokenize(tokenizer, prompt, strlen(prompt), 1, ids, n_ids, &n_ids)) != RLLM_OK) {
    rc = fail("tokenize", s, tokenizer);
    goto done;
  }
  if ((s = rllm_session_create(model, &session)) != RLLM_OK) {
    rc = fail("session", s, model);
    goto done;
  }
  rllm_generate_params params;
  rllm_generate_params_default(&params);
  params.max_tokens = max_tokens;
  params.on_token = print_token;
  rllm_generate_result result;
  if ((s = rllm_session_generate(session, ids, n_ids, &params, &result)) != RLLM_OK) {
    rc = fail("generate", s, session);
    goto done;
  }
  printf("\n");
  rllm_memory_stats mem;
  if ((s = rllm_session_memory_stats(session, &mem)) != RLLM_OK) {
    rc = fail("memory", s, session);
    goto done;
  }
  fprintf(stderr, "%zu tokens; mapped %.2f MB, repacked %.2f MB, KV %.3f MB (%llu blocks), peak RSS %.1f MB\n",
          result.n_tokens, mem.mapped_bytes / 1e6, mem.repacked_bytes / 1e6, mem.kv_bytes / 1e6,
          (unsigned long long)mem.kv_blocks, mem.peak_rss_bytes / 1e6);
  rc = 0;
done:
  free(ids);
  rllm_session_destroy(session);
  rllm_tokenizer_destroy(tokenizer);
  rllm_model_destroy(model);
  return rc;
}
