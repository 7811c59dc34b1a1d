// libFuzzer target for the SentencePiece .model reader (engine/tokenizer/sentencepiece.cpp,
// a ModelProto read with formats/protobuf_wire): the input is the file's bytes. A model
// it accepts then encodes and decodes a fixed text mixing ASCII, spaces, "▁", control
// piece names and multi-byte characters, so the vocabulary the fuzzer made drives the
// BPE / unigram search and the decoder.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/tokenizer/components.h"
#include "engine/tokenizer/sentencepiece.h"
#include "engine/tokenizer/tokenizer.h"

namespace {
volatile size_t g_sink;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = rllm::tok::load_sentencepiece(data, size, "fuzz.model");
  if (!parts.ok()) {
    g_sink = parts.status().message().size();
    return 0;
  }
  const rllm::Tokenizer tokenizer(std::move(parts).value());
  static const std::string text = "Hello  world \xE2\x96\x81<s> </s><unk> x1 \xC3\xA9t\xC3\xA9 \xE4\xB8\xAD\xF0\x9F\x98\x80!";
  auto ids = tokenizer.encode(text);
  if (!ids.ok()) return 0;
  g_sink = tokenizer.decode(ids.value()).size() + tokenizer.decode(ids.value(), true).size();
  return 0;
}
