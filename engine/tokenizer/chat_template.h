// Chat templates: the model's Jinja chat_template rendered as transformers'
// apply_chat_template(messages, add_generation_prompt=..., tokenize=False) renders it.
// Encode the result with add_special_tokens=false: templates write BOS themselves.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "engine/tokenizer/tokenizer.h"
#include "formats/status.h"

namespace rllm {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

// Renders `source` with messages, add_generation_prompt, bos_token and eos_token.
// Template errors (syntax outside the supported subset, raise_exception) come back as
// a Status saying what failed and how to get around it.
Result<std::string> render_chat_template(const std::string& source, std::span<const ChatMessage> messages,
                                         bool add_generation_prompt, const std::string& bos_token,
                                         const std::string& eos_token);

// The tokenizer's own template (tokenizer_config.json or chat_template.jinja).
Result<std::string> apply_chat_template(const Tokenizer& tokenizer, std::span<const ChatMessage> messages,
                                        bool add_generation_prompt);

}  // namespace rllm
