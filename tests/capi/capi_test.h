/* Checks and helpers shared by the C API tests (C99). */
#ifndef RLLM_CAPI_TEST_H
#define RLLM_CAPI_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "capi_tests.h"
#include "runllm.h"

#define CHECK(cond)                                                             \
  do {                                                                          \
    if (!(cond)) {                                                              \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                               \
    }                                                                           \
  } while (0)

/* A call that must return `expected`; on a mismatch prints the handle's message. */
#define CHECK_STATUS(handle, call, expected)                                                       \
  do {                                                                                             \
    rllm_status st_ = (call);                                                                      \
    if (st_ != (expected)) {                                                                       \
      fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d: %s\n", __FILE__, __LINE__, #call, \
              (int)st_, rllm_status_string(st_), (int)(expected), rllm_last_error(handle));        \
      ++failures;                                                                                  \
    }                                                                                              \
  } while (0)

#define MAX_IDS 512

/* build/models/stories260K-fp32 (scripts/convert/make_test_models.sh). */
const char* stories_dir(void);
/* A whole file in a malloc'd buffer (free it); NULL if unreadable. */
char* read_whole_file(const char* path, size_t* size);
/* Tokenizes with the model's tokenizer into ids; returns the count, 0 on failure. */
size_t tokenize_text(rllm_model* model, const char* text, int add_special, int32_t* ids, size_t capacity);
/* Greedy generation of up to max_tokens ids after ids[0..n); returns the count generated. */
size_t greedy(rllm_session* session, const int32_t* ids, size_t n, int32_t max_tokens, int32_t* out);
/* Loads stories260K from memory: the file contents stay in *blobs (free each, then the array). */
rllm_status load_stories_from_memory(rllm_model* model, char*** blobs, size_t* n_blobs);
void free_blobs(char** blobs, size_t n_blobs);

#endif
