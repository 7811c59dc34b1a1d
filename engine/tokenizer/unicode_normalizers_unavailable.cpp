// Built without ICU (libicu-dev): tokenizers that normalize to NFC/NFKC/... are refused
// with a message rather than encoded wrongly.
#include "engine/tokenizer/factories.h"

namespace rllm::tok {

Result<std::unique_ptr<Normalizer>> make_unicode_normalizer(const std::string& type) {
  return Status::error("tokenizer.json: the " + type +
                       " normalizer needs ICU; install libicu-dev and rebuild run-llm");
}

}  // namespace rllm::tok
