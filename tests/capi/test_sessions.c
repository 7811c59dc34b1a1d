/* Sessions: two threads at once, cancellation from another thread, reuse of the
 * KV cache across turns, memory figures. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

#include "capi_test.h"

static rllm_model* load_stories(void) {
  rllm_model* model = NULL;
  if (rllm_model_create(&model) != RLLM_OK) return NULL;
  if (rllm_model_load(model, stories_dir(), NULL) != RLLM_OK) {
    fprintf(stderr, "load: %s\n", rllm_last_error(model));
    rllm_model_destroy(model);
    return NULL;
  }
  return model;
}

struct job {
  rllm_session* session;
  const int32_t* ids;
  size_t n;
  int32_t out[24];
  size_t n_out;
};

static void* run_job(void* arg) {
  struct job* j = arg;
  j->n_out = greedy(j->session, j->ids, j->n, 24, j->out);
  return NULL;
}

int capi_test_two_threads(void) {
  int failures = 0;
  rllm_model* model = load_stories();
  CHECK(model != NULL);
  if (!model) return failures;
  int32_t p1[MAX_IDS], p2[MAX_IDS];
  size_t n1 = tokenize_text(model, "Once upon a time", 1, p1, MAX_IDS);
  size_t n2 = tokenize_text(model, "Lily and Ben went to the park", 1, p2, MAX_IDS);
  CHECK(n1 > 0 && n2 > 0);
  rllm_session *a = NULL, *b = NULL;
  CHECK_STATUS(model, rllm_session_create(model, &a), RLLM_OK);
  CHECK_STATUS(model, rllm_session_create(model, &b), RLLM_OK);

  struct job alone[2] = {{a, p1, n1, {0}, 0}, {b, p2, n2, {0}, 0}};
  run_job(&alone[0]);
  run_job(&alone[1]);
  CHECK_STATUS(a, rllm_session_reset(a), RLLM_OK);
  CHECK_STATUS(b, rllm_session_reset(b), RLLM_OK);

  struct job both[2] = {{a, p1, n1, {0}, 0}, {b, p2, n2, {0}, 0}};
  pthread_t t[2];
  for (int i = 0; i < 2; ++i) CHECK(pthread_create(&t[i], NULL, run_job, &both[i]) == 0);
  for (int i = 0; i < 2; ++i) pthread_join(t[i], NULL);
  for (int i = 0; i < 2; ++i) {
    CHECK(alone[i].n_out == 24 && both[i].n_out == 24);
    CHECK(memcmp(alone[i].out, both[i].out, sizeof alone[i].out) == 0);
  }
  /* Different prompts, different continuations: the sessions did not mix. */
  CHECK(memcmp(alone[0].out, alone[1].out, sizeof alone[0].out) != 0);
  rllm_session_destroy(a);
  rllm_session_destroy(b);
  rllm_model_destroy(model);
  return failures;
}

/* The generating thread pauses in its callback at token `at`, until the main
 * thread has called rllm_session_cancel. */
struct cancel_state {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int at, seen, reached, cancelled;
  rllm_session* session;
  const int32_t* ids;
  size_t n;
  rllm_status status;
  rllm_generate_result result;
};

static int pause_at(void* user, int32_t token, const char* text, size_t len) {
  struct cancel_state* c = user;
  (void)text;
  (void)len;
  if (token < 0) return RLLM_CONTINUE;
  pthread_mutex_lock(&c->mu);
  if (++c->seen == c->at) {
    c->reached = 1;
    pthread_cond_broadcast(&c->cv);
    while (!c->cancelled) pthread_cond_wait(&c->cv, &c->mu);
  }
  pthread_mutex_unlock(&c->mu);
  return RLLM_CONTINUE;
}

static void* run_cancellable(void* arg) {
  struct cancel_state* c = arg;
  rllm_generate_params p;
  rllm_generate_params_default(&p);
  p.max_tokens = 40;
  p.on_token = pause_at;
  p.user = c;
  c->status = rllm_session_generate(c->session, c->ids, c->n, &p, &c->result);
  return NULL;
}

int capi_test_cancel_from_thread(void) {
  int failures = 0;
  rllm_model* model = load_stories();
  CHECK(model != NULL);
  if (!model) return failures;
  int32_t ids[MAX_IDS];
  size_t n = tokenize_text(model, "Once upon a time", 1, ids, MAX_IDS);
  rllm_session* s = NULL;
  CHECK_STATUS(model, rllm_session_create(model, &s), RLLM_OK);

  struct cancel_state c;
  memset(&c, 0, sizeof c);
  pthread_mutex_init(&c.mu, NULL);
  pthread_cond_init(&c.cv, NULL);
  c.at = 3;
  c.session = s;
  c.ids = ids;
  c.n = n;
  pthread_t t;
  CHECK(pthread_create(&t, NULL, run_cancellable, &c) == 0);
  pthread_mutex_lock(&c.mu);
  while (!c.reached) pthread_cond_wait(&c.cv, &c.mu);
  pthread_mutex_unlock(&c.mu);
  CHECK_STATUS(s, rllm_session_cancel(s), RLLM_OK);
  pthread_mutex_lock(&c.mu);
  c.cancelled = 1;
  pthread_cond_broadcast(&c.cv);
  pthread_mutex_unlock(&c.mu);
  pthread_join(t, NULL);
  CHECK_STATUS(s, c.status, RLLM_OK);
  CHECK(c.result.finish == RLLM_FINISH_CANCELLED);
  /* Cancelled while token 3 was being delivered: at most one more token. */
  CHECK(c.result.n_tokens >= 3 && c.result.n_tokens <= 4);
  pthread_mutex_destroy(&c.mu);
  pthread_cond_destroy(&c.cv);

  /* A cancel with no generation running stops the next one before its first token. */
  rllm_generate_result r;
  CHECK_STATUS(s, rllm_session_cancel(s), RLLM_OK);
  CHECK_STATUS(s, rllm_session_generate(s, ids, n, NULL, &r), RLLM_OK);
  CHECK(r.finish == RLLM_FINISH_CANCELLED && r.n_tokens == 0);

  /* The request is used up, and the session still gives the full greedy continuation. */
  int32_t again[16], fresh[16];
  CHECK(greedy(s, ids, n, 16, again) == 16);
  rllm_session* ref = NULL;
  CHECK_STATUS(model, rllm_session_create(model, &ref), RLLM_OK);
  CHECK(greedy(ref, ids, n, 16, fresh) == 16);
  CHECK(memcmp(again, fresh, sizeof again) == 0);
  rllm_session_destroy(ref);
  rllm_session_destroy(s);
  rllm_model_destroy(model);
  return failures;
}

int capi_test_multi_turn_reuses_cache(void) {
  int failures = 0;
  rllm_model* model = load_stories();
  CHECK(model != NULL);
  if (!model) return failures;
  int32_t ids[MAX_IDS];
  size_t n = tokenize_text(model, "Once upon a time", 1, ids, MAX_IDS);
  CHECK(n == 5);
  rllm_session* s = NULL;
  CHECK_STATUS(model, rllm_session_create(model, &s), RLLM_OK);

  rllm_generate_params p;
  rllm_generate_params_default(&p);
  p.max_tokens = 10;
  p.out_tokens = ids + n;
  p.out_capacity = 10;
  rllm_generate_result r;
  CHECK_STATUS(s, rllm_session_generate(s, ids, n, &p, &r), RLLM_OK);
  CHECK(r.n_tokens == 10 && r.finish == RLLM_FINISH_LENGTH);
  CHECK(r.reused_tokens == 0 && r.prefilled_tokens == 5);
  /* The cache holds the prompt and every generated id but the last (never run). */
  int32_t cached[MAX_IDS];
  size_t n_cached = 0;
  CHECK_STATUS(s, rllm_session_cached_tokens(s, cached, MAX_IDS, &n_cached), RLLM_OK);
  CHECK(n_cached == 14 && memcmp(cached, ids, 14 * sizeof(int32_t)) == 0);

  /* Turn 2: the transcript so far plus new text; only the new part is computed. */
  size_t n_all = n + 10;
  n_all += tokenize_text(model, " Lily said", 0, ids + n_all, MAX_IDS - n_all);
  CHECK(n_all > 15);
  int32_t turn2[12], ref2[12];
  p.max_tokens = 12;
  p.out_tokens = turn2;
  p.out_capacity = 12;
  CHECK_STATUS(s, rllm_session_generate(s, ids, n_all, &p, &r), RLLM_OK);
  CHECK(r.reused_tokens == 14 && r.prefilled_tokens == n_all - 14);
  rllm_session* fresh = NULL;
  CHECK_STATUS(model, rllm_session_create(model, &fresh), RLLM_OK);
  CHECK(greedy(fresh, ids, n_all, 12, ref2) == 12);
  CHECK(r.n_tokens == 12 && memcmp(turn2, ref2, sizeof turn2) == 0);

  /* A prompt sharing only BOS reuses one id; after a reset, none. */
  int32_t other[MAX_IDS];
  size_t n_other = tokenize_text(model, "The dog ran", 1, other, MAX_IDS);
  p.max_tokens = 2;
  p.out_tokens = NULL;
  p.out_capacity = 0;
  CHECK_STATUS(s, rllm_session_generate(s, other, n_other, &p, &r), RLLM_OK);
  CHECK(r.reused_tokens == 1 && r.prefilled_tokens == n_other - 1);
  CHECK_STATUS(s, rllm_session_reset(s), RLLM_OK);
  CHECK_STATUS(s, rllm_session_cached_tokens(s, NULL, 0, &n_cached), RLLM_OK);
  CHECK(n_cached == 0);
  CHECK_STATUS(s, rllm_session_generate(s, other, n_other, &p, &r), RLLM_OK);
  CHECK(r.reused_tokens == 0 && r.prefilled_tokens == n_other);
  rllm_session_destroy(fresh);
  rllm_session_destroy(s);
  rllm_model_destroy(model);
  return failures;
}

static uint64_t file_size(const char* name) {
  char path[1024];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", stories_dir(), name);
  return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int capi_test_memory_stats(void) {
  int failures = 0;
  rllm_model* model = load_stories();
  CHECK(model != NULL);
  if (!model) return failures;
  const int32_t prompt[] = {1, 403, 407, 261, 378};
  rllm_session* s = NULL;
  CHECK_STATUS(model, rllm_session_create(model, &s), RLLM_OK);
  int32_t out[32];
  CHECK(greedy(s, prompt, 5, 32, out) == 32);
  rllm_memory_stats m;
  CHECK_STATUS(s, rllm_session_memory_stats(s, &m), RLLM_OK);
  CHECK(m.mapped_bytes == file_size("model.onnx") + file_size("model.onnx.data"));
  /* 5 + 32 - 1 = 36 tokens in 16-token blocks: 3 blocks of
   * 5 layers x (K, V) x 4 kv heads x 16 tokens x 16 head dims x 4 bytes. */
  CHECK(m.kv_blocks == 3);
  CHECK(m.kv_bytes == 3ull * 5 * 2 * 4 * 16 * 16 * 4);
  CHECK(m.peak_rss_bytes > m.kv_bytes);
  rllm_session_destroy(s);
  rllm_model_destroy(model);

  /* An f16 KV cache: the same blocks in half the bytes, and the same greedy ids. */
  rllm_model_options o;
  rllm_model_options_default(&o);
  o.kv_dtype = RLLM_KV_F16;
  o.kv_block_tokens = 8;
  o.threads = 1;
  CHECK_STATUS(NULL, rllm_model_create(&model), RLLM_OK);
  CHECK_STATUS(model, rllm_model_load(model, stories_dir(), &o), RLLM_OK);
  rllm_model_info info;
  CHECK_STATUS(model, rllm_model_get_info(model, &info), RLLM_OK);
  CHECK(info.threads == 1 && info.kv_block_tokens == 8 && info.load_seconds > 0);
  CHECK(info.kernels != NULL && strlen(info.kernels) > 0);
  CHECK_STATUS(model, rllm_session_create(model, &s), RLLM_OK);
  int32_t out16[32];
  CHECK(greedy(s, prompt, 5, 32, out16) == 32);
  CHECK(memcmp(out, out16, sizeof out) == 0);
  CHECK_STATUS(s, rllm_session_memory_stats(s, &m), RLLM_OK);
  /* 36 tokens in 8-token blocks: 5 blocks, 2 bytes an element. */
  CHECK(m.kv_blocks == 5 && m.kv_bytes == 5ull * 5 * 2 * 4 * 8 * 16 * 2);
  rllm_session_destroy(s);
  rllm_model_destroy(model);
  return failures;
}
