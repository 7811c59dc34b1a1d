// libFuzzer target for encoding untrusted text with real tokenizers, loaded once from
// the files the environment names (colon-separated; scripts/fuzz.sh sets them):
//   RLLM_FUZZ_LOSSLESS_TOKENIZERS  tokenizers for which decode(encode(s)) == s holds
//                                  for valid UTF-8: byte-level BPE, for inputs whose
//                                  every byte has its token (SmolLM2's vocabulary lacks
//                                  a few, e.g. 0x16, and HF drops those); byte-fallback
//                                  SentencePiece .model files, where as in the
//                                  sentencepiece library an input "▁" comes back as a
//                                  space;
//   RLLM_FUZZ_TOKENIZERS           the others (WordPiece lowercases, strips accents).
// For each: the input encodes iff it is valid UTF-8 (tokenizer.h), the streaming
// decoder's output equals decode() for the encoded ids and for ids read from the
// input's bytes (out-of-range ids included), and encode_truncated keeps to its limit.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"

namespace {

struct Loaded {
  std::unique_ptr<rllm::Tokenizer> tokenizer;
  bool lossless;
  std::string path;
  bool sentencepiece;  // a .model file
  bool has_byte[256];  // byte-level BPE: byte b's token is in the vocabulary
};

std::vector<Loaded> g_tokenizers;
volatile size_t g_sink;

void load_list(const char* env, bool lossless) {
  const char* list = std::getenv(env);
  if (list == nullptr) return;
  std::stringstream ss(list);
  for (std::string path; std::getline(ss, path, ':');) {
    if (path.empty()) continue;
    auto t = rllm::Tokenizer::load_file(path);
    if (!t.ok()) {
      std::fprintf(stderr, "fuzz_tokenizer_encode: %s\n", t.status().message().c_str());
      std::abort();
    }
    Loaded loaded{std::move(t).value(), lossless, path, path.ends_with(".model"), {}};
    for (int b = 0; b < 256; ++b)
      loaded.has_byte[b] = loaded.tokenizer->token_to_id(rllm::tok::byte_to_char(static_cast<uint8_t>(b))) >= 0;
    g_tokenizers.push_back(std::move(loaded));
  }
}

void check(bool ok, const Loaded& t, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_tokenizer_encode: %s: %s\n", t.path.c_str(), what);
  std::abort();
}

// What decode(encode(text)) gives back with a lossless tokenizer.
std::string round_trip(const Loaded& t, std::string_view text) {
  if (!t.sentencepiece) return std::string(text);
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.substr(i).starts_with("\xE2\x96\x81")) {
      out += ' ';
      i += 3;
    } else {
      out += text[i++];
    }
  }
  return out;
}

std::string stream_decode(const rllm::Tokenizer& tokenizer, const std::vector<int32_t>& ids) {
  rllm::StreamDecoder stream(tokenizer);
  std::string out;
  for (int32_t id : ids) out += stream.push(id);
  return out + stream.flush();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  load_list("RLLM_FUZZ_LOSSLESS_TOKENIZERS", true);
  load_list("RLLM_FUZZ_TOKENIZERS", false);
  if (g_tokenizers.empty()) {
    std::fprintf(stderr, "fuzz_tokenizer_encode: set RLLM_FUZZ_LOSSLESS_TOKENIZERS or RLLM_FUZZ_TOKENIZERS\n");
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool valid = rllm::tok::utf8_invalid_at(text) == std::string_view::npos;
  for (const Loaded& t : g_tokenizers) {
    const rllm::Tokenizer& tok = *t.tokenizer;
    auto ids = tok.encode(text, false);
    check(ids.ok() == valid, t, "encode accepts exactly the valid UTF-8 inputs");
    if (ids.ok()) {
      const std::string decoded = tok.decode(ids.value());
      bool every_byte = true;
      for (size_t i = 0; i < size && !t.sentencepiece; ++i) every_byte = every_byte && t.has_byte[data[i]];
      if (t.lossless && every_byte) check(decoded == round_trip(t, text), t, "decode(encode(s)) == s");
      check(stream_decode(tok, ids.value()) == decoded, t, "streamed decode == decode");
      bool truncated = false;
      auto cut = tok.encode_truncated(text, 16, truncated);
      check(cut.ok() && cut.value().size() <= 16, t, "encode_truncated keeps to max_length");
    }
    // The input's bytes as ids, two bytes each, spanning a little past the vocabulary.
    std::vector<int32_t> raw;
    const int32_t span = tok.vocab_size() + 4;
    for (size_t i = 0; i + 1 < size; i += 2) raw.push_back((data[i] | data[i + 1] << 8) % span - 2);
    check(stream_decode(tok, raw) == tok.decode(raw), t, "streamed decode of raw ids == decode");
    g_sink = tok.decode(raw, true).size();
  }
  return 0;
}
