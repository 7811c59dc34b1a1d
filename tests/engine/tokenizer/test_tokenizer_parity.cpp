// tokenizer.json tokenizers against HF `tokenizers` and .model files against
// `sentencepiece` on the generated corpus: ids with
// and without special tokens, decode with and without skipping specials, lossless
// round trips, streaming decode, invalid UTF-8.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "engine/tokenizer/tokenizer.h"
#include "reference.h"

namespace {

using rllm::Tokenizer;

std::string show(const std::vector<int32_t>& ids) {
  std::ostringstream s;
  for (int32_t id : ids) s << id << ' ';
  return s.str();
}

std::string stream_all(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip) {
  rllm::StreamDecoder stream(tok, skip);
  std::string out;
  for (int32_t id : ids) out += stream.push(id);
  return out + stream.flush();
}

void check_against_reference(const std::string& kind, const std::string& path, const std::string& name,
                             const std::string& variant = "") {
  auto ref = rllm::test::make_reference(kind, path, name, variant);
  if (!ref) return;
  auto loaded = Tokenizer::load_file(variant.empty() ? path : rllm::test::variant_path(kind, name));
  REQUIRE_MESSAGE(loaded.ok(), loaded.status().message());
  const Tokenizer& tok = **loaded;
  REQUIRE(ref->cases.size() >= 2000);

  int failures = 0;
  size_t truncated_cases = 0;
  for (const auto& c : ref->cases) {
    auto ids = tok.encode(c.text, true);
    auto plain = tok.encode(c.text, false);
    REQUIRE(ids.ok());
    REQUIRE(plain.ok());
    bool same = *ids == c.ids && *plain == c.ids_plain;
    if (ref->truncation > 0) {
      bool cut = false;
      auto truncated = tok.encode_truncated(c.text, static_cast<size_t>(ref->truncation), cut);
      REQUIRE(truncated.ok());
      same = same && *truncated == c.ids_truncated && cut == (c.ids.size() > static_cast<size_t>(ref->truncation));
      truncated_cases += cut;
    }
    const std::string decoded = tok.decode(c.ids, false), decoded_skip = tok.decode(c.ids, true);
    const bool same_decode = decoded == c.decoded && decoded_skip == c.decoded_skip;
    const bool round_trip = !c.lossless || tok.decode(*plain, false) == c.text;
    const bool stream = stream_all(tok, c.ids, false) == c.decoded && stream_all(tok, c.ids, true) == c.decoded_skip;
    if (!(same && same_decode && round_trip && stream) && ++failures <= 8) {
      MESSAGE("text: \"" << c.text << "\"\n ours: " << show(*ids) << "\n hf:   " << show(c.ids)
                         << "\n decode ours: \"" << decoded << "\" hf: \"" << c.decoded << "\" round trip "
                         << round_trip << " stream " << stream);
    }
  }
  CHECK_MESSAGE(failures == 0, failures << " of " << ref->cases.size() << " corpus strings differ from HF tokenizers");
  if (ref->truncation > 0) CHECK_MESSAGE(truncated_cases >= 5, "only " << truncated_cases << " corpus strings reach the truncation");

  int decode_failures = 0;
  for (const auto& r : ref->random_ids) {
    const bool ok = tok.decode(r.ids, false) == r.decoded && tok.decode(r.ids, true) == r.decoded_skip &&
                    stream_all(tok, r.ids, false) == r.decoded && stream_all(tok, r.ids, true) == r.decoded_skip;
    if (!ok && ++decode_failures <= 5) {
      MESSAGE("ids " << show(r.ids) << "\n ours: \"" << tok.decode(r.ids, false) << "\"\n hf:   \"" << r.decoded
                     << "\"\n stream: \"" << stream_all(tok, r.ids, false) << "\"");
    }
  }
  CHECK_MESSAGE(decode_failures == 0, decode_failures << " random id sequences decode differently from HF");
}

}  // namespace

TEST_CASE("tokenizer.json GPT-2 byte-level BPE matches HF tokenizers") {
  check_against_reference("hf", RLLM_SHARED_MODELS "/tokenizers/gpt2-tokenizer.json", "gpt2");
}

TEST_CASE("tokenizer.json SmolLM2 byte-level BPE matches HF tokenizers") {
  check_against_reference("hf", RLLM_SHARED_MODELS "/smollm2-135m-instruct-int4-ortgenai/tokenizer.json", "smollm2");
}

TEST_CASE("tokenizer.json Llama SentencePiece-style BPE with byte fallback matches HF tokenizers") {
  check_against_reference("hf", RLLM_SHARED_MODELS "/ortgenai-tiny-random-llama-fp16/tokenizer.json", "tiny_llama");
}

TEST_CASE("Llama-3 / Qwen2-style pipeline (NFC, Split regex, ByteLevel, ignore_merges, BOS template) matches HF") {
  check_against_reference("hf", RLLM_SHARED_MODELS "/tokenizers/gpt2-tokenizer.json", "llama3_style", "llama3_style");
}

TEST_CASE("ByteLevel with add_prefix_space after individual Digits matches HF") {
  check_against_reference("hf", RLLM_SHARED_MODELS "/tokenizers/gpt2-tokenizer.json", "bytelevel_prefix_digits",
                          "bytelevel_prefix_digits");
}

TEST_CASE("Metaspace pre-tokenizer and decoder with contiguous Digits matches HF") {
  check_against_reference("hf", RLLM_SHARED_MODELS "/ortgenai-tiny-random-llama-fp16/tokenizer.json", "metaspace",
                          "metaspace");
}

TEST_CASE("tokenizer.json all-MiniLM-L6-v2 WordPiece (BertNormalizer, BertPreTokenizer, [CLS]/[SEP], truncation) matches HF") {
  const char* env = std::getenv("RUNLLM_MODELS");
  const std::string cache = env && *env ? std::string(env) : std::string(std::getenv("HOME") ? std::getenv("HOME") : "") + "/.cache/run-llm";
  const std::string path = cache + "/all-minilm-l6-v2/tokenizer.json";
  if (!std::filesystem::exists(path)) {
    MESSAGE("skipped: " << path << " is not in the model cache (run scripts/fetch_models.sh)");
    return;
  }
  check_against_reference("hf", path, "all_minilm_wordpiece");
}

TEST_CASE("SentencePiece BPE tok512.model matches the sentencepiece library") {
  check_against_reference("sp", RLLM_SHARED_MODELS "/stories260K/tok512.model", "tok512");
}

TEST_CASE("SentencePiece BPE llama2-tokenizer.model matches the sentencepiece library") {
  check_against_reference("sp", RLLM_SHARED_MODELS "/tokenizers/llama2-tokenizer.model", "llama2_sp");
}

TEST_CASE("SentencePiece unigram with byte fallback (trained at test time) matches the sentencepiece library") {
  check_against_reference("sp", "-", "unigram_fallback", "unigram_fallback");
}

TEST_CASE("SentencePiece unigram with <unk> and kept whitespace (trained at test time) matches sentencepiece") {
  check_against_reference("sp", "-", "unigram_unk", "unigram_unk");
}

TEST_CASE("invalid UTF-8 input is an error value naming the offset") {
  auto tok = Tokenizer::load_file(RLLM_SHARED_MODELS "/tokenizers/gpt2-tokenizer.json");
  REQUIRE(tok.ok());
  for (std::string bad : {std::string("abc\xff"), std::string("\xc3"), std::string("ok \xe2\x82"),
                          std::string("\xed\xa0\x80 surrogate"), std::string("\xc0\xaf overlong"),
                          std::string("\xf4\x90\x80\x80 above U+10FFFF"), std::string("\x80")}) {
    auto r = (*tok)->encode(bad);
    CHECK_FALSE(r.ok());
    if (!r.ok()) CHECK(r.status().message().find("UTF-8") != std::string::npos);
  }
}
