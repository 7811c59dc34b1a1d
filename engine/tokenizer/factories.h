// Builders for the pipeline stages from their tokenizer.json objects. Each names the
// unsupported "type" in its error so a user knows which part of a file is the problem.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "engine/tokenizer/components.h"
#include "engine/tokenizer/token_table.h"
#include "formats/status.h"

namespace rllm::tok {

Result<std::unique_ptr<Normalizer>> make_normalizer(const nlohmann::json& j);
// NFC, NFD, NFKC, NFKD, Lowercase (ICU).
Result<std::unique_ptr<Normalizer>> make_unicode_normalizer(const std::string& type);
Result<std::unique_ptr<PreTokenizer>> make_pre_tokenizer(const nlohmann::json& j);
Result<std::unique_ptr<Decoder>> make_decoder(const nlohmann::json& j);
// `j` is tokenizer.json's model object; its vocab and merges come read separately.
Result<std::unique_ptr<Model>> make_bpe_model(const nlohmann::json& j, const VocabList& vocab, const MergeList& merges);
Result<std::unique_ptr<Model>> make_wordpiece_model(const nlohmann::json& j, const VocabList& vocab);
std::unique_ptr<Decoder> make_wordpiece_decoder(const nlohmann::json& j);
// BertNormalizer and BertPreTokenizer (ICU character classes).
Result<std::unique_ptr<Normalizer>> make_bert_normalizer(const nlohmann::json& j);
Result<std::unique_ptr<PreTokenizer>> make_bert_pre_tokenizer();

// Replace "▁" by " ", join <0xNN> runs, fuse, and drop one leading space when the
// encoder added a dummy prefix: the decoder chain of SentencePiece-style models.
std::unique_ptr<Decoder> make_sentencepiece_decoder(bool strip_leading_space);

// "String" / "Regex" pattern objects of Replace and Split, as a regex.
Result<std::string> pattern_to_regex(const nlohmann::json& pattern);

}  // namespace rllm::tok
