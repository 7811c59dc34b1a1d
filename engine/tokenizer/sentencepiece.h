// SentencePiece .model files (ModelProto), read with our protobuf wire reader: the
// normalizer spec (identity rule), BPE by piece score, byte fallback, and the
// sentencepiece library's decoding rules.
#pragma once

#include <memory>
#include <string>

#include "engine/tokenizer/components.h"
#include "formats/status.h"

namespace rllm::tok {

Result<std::unique_ptr<Parts>> load_sentencepiece(const std::string& path);

}  // namespace rllm::tok
