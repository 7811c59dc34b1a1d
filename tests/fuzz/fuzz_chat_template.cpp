// libFuzzer target for the Jinja chat-template engine (engine/tokenizer/jinja_*.cpp),
// which runs the template text of a downloaded tokenizer_config.json or
// chat_template.jinja: the input is the template source, rendered with a fixed
// four-message chat. A refusal is a Status; a crash, a stack overflow, a read out of
// bounds, a hang (libFuzzer's -timeout) or a blow-up past -rss_limit_mb is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/tokenizer/chat_template.h"

namespace {
volatile size_t g_sink;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const rllm::ChatMessage messages[] = {{"system", "Be brief."},
                                               {"user", "Hi 'there' \"you\"\n{{ x }}"},
                                               {"assistant", "Hello! \xC3\xA9\xF0\x9F\x98\x80"},
                                               {"user", "1 + 1?"}};
  const std::string source(reinterpret_cast<const char*>(data), size);
  auto out = rllm::render_chat_template(source, messages, true, "<s>", "</s>");
  g_sink = out.ok() ? out.value().size() : out.status().message().size();
  return 0;
}
