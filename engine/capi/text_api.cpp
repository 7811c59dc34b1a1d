// C API: tokenizer handles, tokenize, detokenize, chat templates.
#include <string_view>

#include "engine/capi/handles.h"
#include "engine/tokenizer/chat_template.h"
#include "runllm.h"

using namespace rllm;
using namespace rllm::capi;

extern "C" {

rllm_status rllm_tokenizer_create(rllm_model* model, rllm_tokenizer** out) {
  if (!model) return RLLM_ERR_INVALID_ARGUMENT;
  ModelHandle* m = handle_cast<ModelHandle>(model);
  return guarded(m, [&]() -> rllm_status {
    if (!out) return m->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_tokenizer_create: out is NULL");
    *out = nullptr;
    if (!m->model) return m->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_tokenizer_create: no model loaded");
    if (!m->tokenizer) return m->fail(RLLM_ERR_NO_TOKENIZER, "the model has no tokenizer: " + m->tokenizer_error);
    auto* t = new TokenizerHandle();
    t->tokenizer = m->tokenizer;
    *out = to_c<rllm_tokenizer>(t);
    return RLLM_OK;
  });
}

void rllm_tokenizer_destroy(rllm_tokenizer* tokenizer) { delete handle_cast<TokenizerHandle>(tokenizer); }

rllm_status rllm_tokenize(rllm_tokenizer* tokenizer, const char* text, size_t text_len, int add_special,
                          int32_t* ids, size_t capacity, size_t* n_ids) {
  if (!tokenizer) return RLLM_ERR_INVALID_ARGUMENT;
  TokenizerHandle* t = handle_cast<TokenizerHandle>(tokenizer);
  return guarded(t, [&]() -> rllm_status {
    if (!text && text_len > 0) return t->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_tokenize: text is NULL");
    if (!n_ids) return t->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_tokenize: n_ids is NULL");
    if (!ids && capacity > 0) return t->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_tokenize: ids is NULL with capacity > 0");
    auto enc = t->tokenizer->encode(std::string_view(text ? text : "", text_len), add_special != 0);
    if (!enc.ok()) return t->fail(RLLM_ERR_BAD_INPUT, enc.status().message());
    return fill(t, enc->data(), enc->size(), ids, capacity, n_ids, "token ids");
  });
}

rllm_status rllm_detokenize(rllm_tokenizer* tokenizer, const int32_t* ids, size_t n_ids, int skip_special,
                            char* text, size_t capacity, size_t* text_len) {
  if (!tokenizer) return RLLM_ERR_INVALID_ARGUMENT;
  TokenizerHandle* t = handle_cast<TokenizerHandle>(tokenizer);
  return guarded(t, [&]() -> rllm_status {
    if (!ids && n_ids > 0) return t->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_detokenize: ids is NULL");
    if (!text_len) return t->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_detokenize: text_len is NULL");
    if (!text && capacity > 0) return t->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_detokenize: text is NULL with capacity > 0");
    const int32_t vocab = t->tokenizer->vocab_size();
    for (size_t i = 0; i < n_ids; ++i)
      if (ids[i] < 0 || ids[i] >= vocab)
        return t->fail(RLLM_ERR_BAD_INPUT, "rllm_detokenize: id " + std::to_string(ids[i]) + " at index " +
                                               std::to_string(i) + " is outside the vocabulary [0, " +
                                               std::to_string(vocab) + ")");
    std::string s = t->tokenizer->decode(std::span<const int32_t>(ids, n_ids), skip_special != 0);
    return fill_text(t, s, text, capacity, text_len);
  });
}

rllm_status rllm_tokenizer_set_chat_template(rllm_tokenizer* tokenizer, const char* source, size_t len) {
  if (!tokenizer) return RLLM_ERR_INVALID_ARGUMENT;
  TokenizerHandle* t = handle_cast<TokenizerHandle>(tokenizer);
  return guarded(t, [&]() -> rllm_status {
    if (!source && len > 0) return t->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_tokenizer_set_chat_template: source is NULL");
    t->chat_template.assign(source ? source : "", len);
    return RLLM_OK;
  });
}

rllm_status rllm_apply_chat_template(rllm_tokenizer* tokenizer, const rllm_chat_message* messages, size_t n_messages,
                                     int add_generation_prompt, char* text, size_t capacity, size_t* text_len) {
  if (!tokenizer) return RLLM_ERR_INVALID_ARGUMENT;
  TokenizerHandle* t = handle_cast<TokenizerHandle>(tokenizer);
  return guarded(t, [&]() -> rllm_status {
    if (!messages && n_messages > 0) return t->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_apply_chat_template: messages is NULL");
    if (!text_len) return t->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_apply_chat_template: text_len is NULL");
    if (!text && capacity > 0)
      return t->fail(RLLM_ERR_INVALID_ARGUMENT, "rllm_apply_chat_template: text is NULL with capacity > 0");
    std::vector<ChatMessage> msgs;
    for (size_t i = 0; i < n_messages; ++i) {
      if (!messages[i].role || !messages[i].content)
        return t->fail(RLLM_ERR_INVALID_ARGUMENT,
                       "rllm_apply_chat_template: message " + std::to_string(i) + " has a NULL role or content");
      msgs.push_back({messages[i].role, messages[i].content});
    }
    const Tokenizer& tk = *t->tokenizer;
    Result<std::string> rendered = std::string();
    if (t->chat_template.empty()) {
      rendered = apply_chat_template(tk, msgs, add_generation_prompt != 0);
    } else {
      auto eos = tk.eos_ids();
      rendered = render_chat_template(t->chat_template, msgs, add_generation_prompt != 0, tk.id_to_token(tk.bos_id()),
                                      eos.empty() ? std::string() : tk.id_to_token(eos[0]));
    }
    if (!rendered.ok()) return t->fail(RLLM_ERR_BAD_INPUT, rendered.status().message());
    return fill_text(t, rendered.value(), text, capacity, text_len);
  });
}

}  // extern "C"
