// C API: sessions (a KV cache each), generation with cancellation, memory figures.
#include <algorithm>

#include "engine/capi/handles.h"
#include "engine/capi/memory_stats.h"
#include "engine/generate.h"
#include "runllm.h"

using namespace rllm;
using namespace rllm::capi;

namespace {

rllm_status check_params(SessionHandle* s, const rllm_generate_params& p) {
  if (p.max_tokens < 0) return s->fail(RLLM_ERR_INVALID_ARGUMENT, "params.max_tokens must be >= 0");
  if (p.top_k < 0) return s->fail(RLLM_ERR_INVALID_ARGUMENT, "params.top_k must be >= 0");
  if (!(p.top_p > 0 && p.top_p <= 1)) return s->fail(RLLM_ERR_INVALID_ARGUMENT, "params.top_p must be in (0, 1]");
  if (!(p.min_p >= 0 && p.min_p <= 1)) return s->fail(RLLM_ERR_INVALID_ARGUMENT, "params.min_p must be in [0, 1]");
  if (!(p.repetition_penalty > 0)) return s->fail(RLLM_ERR_INVALID_ARGUMENT, "params.repetition_penalty must be > 0");
  if (p.repetition_last_n < 0) return s->fail(RLLM_ERR_INVALID_ARGUMENT, "params.repetition_last_n must be >= 0");
  if (p.n_stop_strings > 0 && !p.stop_strings)
    return s->fail(RLLM_ERR_INVALID_ARGUMENT, "params.stop_strings is NULL with n_stop_strings > 0");
  for (size_t i = 0; i < p.n_stop_strings; ++i)
    if (!p.stop_strings[i])
      return s->fail(RLLM_ERR_INVALID_ARGUMENT, "params.stop_strings[" + std::to_string(i) + "] is NULL");
  if (!p.out_tokens && p.out_capacity > 0)
    return s->fail(RLLM_ERR_INVALID_ARGUMENT, "params.out_tokens is NULL with out_capacity > 0");
  return RLLM_OK;
}

SamplingParams sampling_of(const rllm_generate_params& p) {
  SamplingParams sp;
  sp.temperature = p.temperature;
  sp.top_k = p.top_k;
  sp.top_p = p.top_p;
  sp.min_p = p.min_p;
  sp.repetition_penalty = p.repetition_penalty;
  sp.repetition_last_n = p.repetition_last_n;
  sp.seed = p.seed;
  return sp;
}

}  // namespace

extern "C" {

rllm_status rllm_session_create(rllm_model* model, rllm_session** out) {
  if (!model) return RLLM_ERR_INVALID_ARGUMENT;
  ModelHandle* m = handle_cast<ModelHandle>(model);
  return guarded(m, [&]() -> rllm_status {
    if (!out) return m->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_session_create: out is NULL");
    *out = nullptr;
    if (!m->model) return m->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_session_create: no model loaded");
    auto s = std::make_unique<SessionHandle>();
    s->owner = m;
    s->cache = std::make_unique<KvCache>(m->model->kv_config());
    s->seq = s->cache->new_sequence();
    *out = to_c<rllm_session>(s.release());
    return RLLM_OK;
  });
}

void rllm_session_destroy(rllm_session* session) { delete handle_cast<SessionHandle>(session); }

rllm_status rllm_session_reset(rllm_session* session) {
  if (!session) return RLLM_ERR_INVALID_ARGUMENT;
  SessionHandle* s = handle_cast<SessionHandle>(session);
  return guarded(s, [&]() -> rllm_status {
    s->cache->truncate(s->seq, 0);
    s->held.clear();
    return RLLM_OK;
  });
}

rllm_status rllm_session_cancel(rllm_session* session) {
  if (!session) return RLLM_ERR_INVALID_ARGUMENT;
  // Only the atomic: the error slot belongs to the thread that is generating.
  handle_cast<SessionHandle>(session)->cancel.store(true);
  return RLLM_OK;
}

void rllm_generate_params_default(rllm_generate_params* params) {
  if (!params) return;
  *params = rllm_generate_params{};
  params->max_tokens = 128;
  params->temperature = 0.0f;
  params->top_k = 0;
  params->top_p = 1.0f;
  params->min_p = 0.0f;
  params->repetition_penalty = 1.0f;
  params->repetition_last_n = 64;
}

rllm_status rllm_session_generate(rllm_session* session, const int32_t* ids, size_t n_ids,
                                  const rllm_generate_params* params, rllm_generate_result* result) {
  if (!session) return RLLM_ERR_INVALID_ARGUMENT;
  SessionHandle* s = handle_cast<SessionHandle>(session);
  return guarded(s, [&]() -> rllm_status {
    ModelHandle& m = *s->owner;
    if (!ids && n_ids > 0) return s->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_session_generate: ids is NULL");
    if (n_ids == 0) return s->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_session_generate: empty prompt (no ids)");
    rllm_generate_params p;
    rllm_generate_params_default(&p);
    if (params) p = *params;
    if (rllm_status st = check_params(s, p); st != RLLM_OK) return st;
    if (p.n_stop_strings > 0 && !m.tokenizer)
      return s->fail(RLLM_ERR_NO_TOKENIZER, "stop strings need the model's tokenizer: " + m.tokenizer_error);
    const int64_t vocab = m.model->vocab_size();
    for (size_t i = 0; i < n_ids; ++i)
      if (ids[i] < 0 || (vocab > 0 && ids[i] >= vocab))
        return s->fail(RLLM_ERR_BAD_INPUT, "rllm_session_generate: id " + std::to_string(ids[i]) + " at index " +
                                               std::to_string(i) + " is outside the vocabulary [0, " +
                                               std::to_string(vocab) + ")");
    const int64_t max_context = s->cache->config().max_context;
    const int64_t n = static_cast<int64_t>(n_ids);
    if (max_context > 0 && n > max_context)
      return s->fail(RLLM_ERR_CONTEXT_OVERFLOW, "the prompt's " + std::to_string(n) +
                                                    " tokens exceed the session's max context of " +
                                                    std::to_string(max_context));
    rllm_generate_result res{};
    if (result) *result = res;

    std::lock_guard<std::mutex> turn(m.forward_mutex);
    if (s->cancel.exchange(false)) {
      res.finish = RLLM_FINISH_CANCELLED;
      if (result) *result = res;
      return RLLM_OK;
    }
    // Reuse the cached prefix; at least one id is run to get logits from.
    size_t common = 0;
    while (common < s->held.size() && common < n_ids && s->held[common] == ids[common]) ++common;
    if (common == n_ids) --common;
    s->cache->truncate(s->seq, static_cast<int64_t>(common));
    s->held.resize(common);
    std::vector<int32_t> fresh(ids + common, ids + n_ids);

    // The last sampled token is not run, so n prompt ids leave room for
    // max_context - n + 1 new ones.
    const int64_t room = max_context > 0 ? max_context - n + 1 : p.max_tokens;
    GenerateOptions go;
    go.max_new_tokens = static_cast<int>(std::min<int64_t>(p.max_tokens, room));
    go.sampling = sampling_of(p);
    go.eos_ids = m.eos_ids;

    std::vector<int32_t> generated;
    std::string text;
    int finish = -1;
    auto on_token = [&](size_t, int32_t id, const std::string& piece) {
      if (id < 0) {  // text the stream decoder held back until the end
        if (p.on_token) p.on_token(p.user, -1, piece.data(), piece.size());
        return true;
      }
      generated.push_back(id);
      if (p.out_tokens && generated.size() <= p.out_capacity) p.out_tokens[generated.size() - 1] = id;
      text += piece;
      if (p.on_token && p.on_token(p.user, id, piece.data(), piece.size()) != RLLM_CONTINUE) {
        finish = RLLM_FINISH_CALLBACK;
        return false;
      }
      for (size_t i = 0; i < p.n_stop_strings; ++i)
        if (p.stop_strings[i][0] && text.find(p.stop_strings[i]) != std::string::npos) {
          finish = RLLM_FINISH_STOP_STRING;
          return false;
        }
      if (s->cancel.exchange(false)) {
        finish = RLLM_FINISH_CANCELLED;
        return false;
      }
      return true;
    };
    auto r = generate(*m.model, *s->cache, {s->seq}, {fresh}, go, m.tokenizer.get(), on_token);
    // What the cache holds now: the prompt, then every generated id but the last.
    s->held.assign(ids, ids + n_ids);
    s->held.insert(s->held.end(), generated.begin(), generated.end());
    s->held.resize(static_cast<size_t>(s->cache->length(s->seq)));
    if (!r.ok()) return s->fail(RLLM_ERR_MODEL, r.status().message());

    res.n_tokens = generated.size();
    if (finish >= 0) res.finish = static_cast<rllm_finish_reason>(finish);
    else if (static_cast<int64_t>(generated.size()) < go.max_new_tokens) res.finish = RLLM_FINISH_EOS;
    else if (go.max_new_tokens < p.max_tokens) res.finish = RLLM_FINISH_CONTEXT;
    else res.finish = RLLM_FINISH_LENGTH;
    res.reused_tokens = common;
    res.prefilled_tokens = fresh.size();
    res.prefill_seconds = r->stats.prefill_seconds;
    res.decode_seconds = r->stats.decode_seconds;
    res.first_token_seconds = r->stats.first_token_seconds;
    if (result) *result = res;
    return RLLM_OK;
  });
}

rllm_status rllm_session_cached_tokens(rllm_session* session, int32_t* ids, size_t capacity, size_t* n_ids) {
  if (!session) return RLLM_ERR_INVALID_ARGUMENT;
  SessionHandle* s = handle_cast<SessionHandle>(session);
  return guarded(s, [&]() -> rllm_status {
    if (!n_ids) return s->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_session_cached_tokens: n_ids is NULL");
    if (!ids && capacity > 0)
      return s->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_session_cached_tokens: ids is NULL with capacity > 0");
    return fill(s, s->held.data(), s->held.size(), ids, capacity, n_ids, "cached ids");
  });
}

rllm_status rllm_session_memory_stats(rllm_session* session, rllm_memory_stats* stats) {
  if (!session) return RLLM_ERR_INVALID_ARGUMENT;
  SessionHandle* s = handle_cast<SessionHandle>(session);
  return guarded(s, [&]() -> rllm_status {
    if (!stats) return s->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_session_memory_stats: stats is NULL");
    const LoadStats& ls = s->owner->model->load_stats();
    stats->mapped_bytes = ls.mapped_bytes;
    stats->repacked_bytes = ls.repacked_bytes;
    stats->kv_bytes = s->cache->bytes_in_use();
    stats->kv_blocks = static_cast<uint64_t>(s->cache->blocks_in_use());
    stats->peak_rss_bytes = peak_rss_bytes();
    return RLLM_OK;
  });
}

}  // extern "C"
