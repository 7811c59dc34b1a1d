#include "engine/tokenizer/chat_template.h"

#include "engine/tokenizer/components.h"
#include "engine/tokenizer/jinja.h"

namespace rllm {

namespace {

constexpr const char* kWayAround =
    " (run-llm supports a Jinja subset, see engine/tokenizer/README.md; pass a simpler template "
    "file with --chat-template, or give the raw prompt without --chat)";

}  // namespace

Result<std::string> render_chat_template(const std::string& source, std::span<const ChatMessage> messages,
                                         bool add_generation_prompt, const std::string& bos_token,
                                         const std::string& eos_token) {
  auto tmpl = jinja::Template::parse(source);
  if (!tmpl.ok()) return Status::error(tmpl.status().message() + kWayAround);
  jinja::List list;
  for (const ChatMessage& m : messages) {
    list.push_back(jinja::Value::from(jinja::Dict{{"role", jinja::Value::from(m.role)},
                                                  {"content", jinja::Value::from(m.content)}}));
  }
  std::map<std::string, jinja::Value> globals{
      {"messages", jinja::Value::from(std::move(list))},
      {"add_generation_prompt", jinja::Value::from(add_generation_prompt)},
      {"bos_token", jinja::Value::from(bos_token)},
      {"eos_token", jinja::Value::from(eos_token)},
  };
  auto out = tmpl.value().render(globals);
  if (!out.ok()) return Status::error(out.status().message());
  return out;
}

Result<std::string> apply_chat_template(const Tokenizer& tokenizer, std::span<const ChatMessage> messages,
                                        bool add_generation_prompt) {
  if (tokenizer.chat_template().empty()) {
    return Status::error("this model's tokenizer has no chat_template; give the raw prompt without --chat, or pass "
                         "a template file with --chat-template");
  }
  const tok::Parts& p = tokenizer.parts();
  return render_chat_template(tokenizer.chat_template(), messages, add_generation_prompt, p.bos_token, p.eos_token);
}

}  // namespace rllm
