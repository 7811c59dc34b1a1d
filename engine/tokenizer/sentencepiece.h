// SentencePiece .model files (ModelProto), read with our protobuf wire reader: the
// normalizer spec (identity rule), BPE by piece score, byte fallback, and the
// sentencepiece library's decoding rules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/tokenizer/components.h"
#include "formats/status.h"

namespace rllm::tok {

Result<std::unique_ptr<Parts>> load_sentencepiece(const std::string& path);
// The same from the file's bytes; `path` names it in messages.
Result<std::unique_ptr<Parts>> load_sentencepiece(const uint8_t* data, size_t size, const std::string& path);

}  // namespace rllm::tok
