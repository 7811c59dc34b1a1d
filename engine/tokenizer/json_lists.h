// The large arrays of tokenizer.json read with JsonReader straight into compact lists:
// model.vocab, model.merges and added_tokens. Errors are JsonErrors at the offending
// value.
#pragma once

#include <vector>

#include "engine/tokenizer/added_vocabulary.h"
#include "engine/tokenizer/json_reader.h"
#include "engine/tokenizer/token_table.h"

namespace rllm::tok {

// {"token": id, ...}
VocabList read_vocab(JsonReader& r);
// ["left right", ...] (one space) or [["left", "right"], ...]
MergeList read_merges(JsonReader& r);
// [{"id": 0, "content": "<pad>", "special": true, ...}, ...]
std::vector<AddedToken> read_added_tokens(JsonReader& r);

}  // namespace rllm::tok
