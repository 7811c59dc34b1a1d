// Built without ICU (libicu-dev): tokenizers that normalize to NFC/NFKC/... are refused
// and BERT's WordPiece tokenizers (BertNormalizer / BertPreTokenizer) are refused
// with a message rather than encoded wrongly.
#include <nlohmann/json.hpp>

#include "engine/tokenizer/factories.h"

namespace rllm::tok {

Result<std::unique_ptr<Normalizer>> make_unicode_normalizer(const std::string& type) {
  return Status::error("tokenizer.json: the " + type +
                       " normalizer needs ICU; install libicu-dev and rebuild run-llm");
}

Result<std::unique_ptr<Normalizer>> make_bert_normalizer(const nlohmann::json&) {
  return Status::error("tokenizer.json: BertNormalizer needs ICU; install libicu-dev and rebuild run-llm");
}

Result<std::unique_ptr<PreTokenizer>> make_bert_pre_tokenizer() {
  return Status::error("tokenizer.json: BertPreTokenizer needs ICU; install libicu-dev and rebuild run-llm");
}

}  // namespace rllm::tok
