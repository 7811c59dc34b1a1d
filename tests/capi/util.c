#include <stdlib.h>
#include <string.h>

#include "capi_test.h"

const char* stories_dir(void) { return RLLM_BINARY_DIR "/models/stories260K-fp32"; }

char* read_whole_file(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  if (!f) return NULL;
  char* buf = NULL;
  long n = -1;
  if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
  if (n >= 0 && fseek(f, 0, SEEK_SET) == 0) buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  if (buf) {
    buf[n] = '\0';
    *size = (size_t)n;
  }
  return buf;
}

size_t tokenize_text(rllm_model* model, const char* text, int add_special, int32_t* ids, size_t capacity) {
  rllm_tokenizer* tok = NULL;
  size_t n = 0;
  if (rllm_tokenizer_create(model, &tok) != RLLM_OK) return 0;
  if (rllm_tokenize(tok, text, strlen(text), add_special, ids, capacity, &n) != RLLM_OK) n = 0;
  rllm_tokenizer_destroy(tok);
  return n;
}

size_t greedy(rllm_session* session, const int32_t* ids, size_t n, int32_t max_tokens, int32_t* out) {
  rllm_generate_params p;
  rllm_generate_params_default(&p);
  p.max_tokens = max_tokens;
  p.out_tokens = out;
  p.out_capacity = (size_t)max_tokens;
  rllm_generate_result r;
  if (rllm_session_generate(session, ids, n, &p, &r) != RLLM_OK) {
    fprintf(stderr, "generate failed: %s\n", rllm_last_error(session));
    return 0;
  }
  return r.n_tokens;
}

void free_blobs(char** blobs, size_t n_blobs) {
  for (size_t i = 0; i < n_blobs; ++i) free(blobs[i]);
  free(blobs);
}

rllm_status load_stories_from_memory(rllm_model* model, char*** blobs_out, size_t* n_blobs) {
  static const char* names[] = {"model.onnx", "model.onnx.data", "genai_config.json", "tokenizer.json",
                                "tokenizer_config.json"};
  enum { N = sizeof names / sizeof names[0] };
  char** blobs = calloc(N, sizeof(char*));
  size_t sizes[N] = {0};
  *blobs_out = blobs;
  *n_blobs = N;
  for (size_t i = 0; i < N; ++i) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", stories_dir(), names[i]);
    blobs[i] = read_whole_file(path, &sizes[i]);
    if (!blobs[i]) {
      fprintf(stderr, "cannot read %s\n", path);
      return RLLM_ERR_NOT_FOUND;
    }
  }
  rllm_memory_region data = {"model.onnx.data", blobs[1], sizes[1]};
  rllm_model_source src;
  memset(&src, 0, sizeof src);
  src.onnx = blobs[0];
  src.onnx_size = sizes[0];
  src.external = &data;
  src.n_external = 1;
  src.genai_config_json = blobs[2];
  src.genai_config_json_size = sizes[2];
  src.tokenizer_json = blobs[3];
  src.tokenizer_json_size = sizes[3];
  src.tokenizer_config_json = blobs[4];
  src.tokenizer_config_json_size = sizes[4];
  return rllm_model_load_memory(model, &src, NULL);
}
