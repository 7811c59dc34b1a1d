// Bad tokenizer files are error values naming the problem, never crashes: truncated and
// bit-flipped SentencePiece models, and tokenizer.json files with broken or unsupported
// parts.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "engine/tokenizer/tokenizer.h"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string write_temp(const std::string& name, const std::string& bytes) {
  const std::string dir = std::string(RLLM_BINARY_DIR) + "/tokenizer_ref";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/bad_" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

}  // namespace

TEST_CASE("truncated and corrupted SentencePiece models load or fail cleanly") {
  const std::string good = read_file(RLLM_SHARED_MODELS "/stories260K/tok512.model");
  REQUIRE(good.size() > 1000);
  std::mt19937 rng(5);
  int failures = 0;
  for (int k = 0; k < 60; ++k) {
    std::string bytes = good;
    if (k < 30) {
      bytes.resize(good.size() * static_cast<size_t>(k) / 30);
    } else {
      for (int flips = 0; flips < 8; ++flips) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    auto tok = rllm::Tokenizer::load_file(write_temp("sp.model", bytes));
    if (!tok.ok()) {
      ++failures;
      CHECK(tok.status().message().find("bad_sp.model") != std::string::npos);
      continue;
    }
    auto ids = (*tok)->encode("Once upon a time, 你好 😀");
    REQUIRE(ids.ok());
    (*tok)->decode(ids.value());
  }
  CHECK(failures > 0);
}

TEST_CASE("broken tokenizer.json parts are named in the error") {
  const auto base = nlohmann::json::parse(read_file(RLLM_SHARED_MODELS "/ortgenai-tiny-random-llama-fp16/tokenizer.json"));
  struct Case {
    const char* what;
    std::function<void(nlohmann::json&)> edit;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"merge of unknown tokens", [](auto& j) { j["model"]["merges"].push_back({"\xE2\x96\x81zzqx", "qqq"}); }, "merge"},
      {"unsupported normalizer", [](auto& j) { j["normalizer"] = {{"type", "Precompiled"}}; }, "Precompiled"},
      {"WordPiece unk_token missing from its vocabulary",
       [](auto& j) { j["model"] = {{"type", "WordPiece"}, {"unk_token", "[UNK]"}, {"vocab", {{"a", 0}, {"##b", 1}}}}; },
       "unk_token"},
      {"WordPiece negative id", [](auto& j) { j["model"] = {{"type", "WordPiece"}, {"vocab", {{"[UNK]", -3}}}}; }, "negative"},
      {"unsupported pre-tokenizer", [](auto& j) { j["pre_tokenizer"] = {{"type", "Punctuation"}}; }, "Punctuation"},
      {"unsupported decoder", [](auto& j) { j["decoder"] = {{"type", "CTC"}}; }, "CTC"},
      {"unsupported model", [](auto& j) { j["model"]["type"] = "WordLevel"; }, "WordLevel"},
      {"vocab of the wrong type", [](auto& j) { j["model"]["vocab"] = "nope"; }, "tokenizer.json"},
      {"bad regex", [](auto& j) { j["normalizer"] = {{"type", "Replace"}, {"pattern", {{"Regex", "(["}}}, {"content", ""}}; }, "regex"},
      {"missing model", [](auto& j) { j.erase("model"); }, "tokenizer.json"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    nlohmann::json j = base;
    c.edit(j);
    auto tok = rllm::Tokenizer::load_file(write_temp("tokenizer.json", j.dump()));
    REQUIRE_FALSE(tok.ok());
    CHECK(tok.status().message().find(c.expect) != std::string::npos);
  }
  auto not_json = rllm::Tokenizer::load_file(write_temp("broken.json", "{\"model\": "));
  CHECK_FALSE(not_json.ok());
}

namespace {

// A complete tokenizer.json in a few hundred bytes: escapes of every kind, a surrogate
// pair, merges as pairs. Ids in the checks below are what HF `tokenizers` gives for it.
const char* const kSmallTokenizer = R"({
  "version": "1.0",
  "truncation": null,
  "padding": null,
  "added_tokens": [
    {"id": 5, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
  ],
  "normalizer": null,
  "pre_tokenizer": null,
  "post_processor": null,
  "decoder": null,
  "model": {
    "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null, "end_of_word_suffix": null,
    "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
    "vocab": {"a": 0, "b": 1, "ab": 2, "\u00e9": 3, "\ud83d\ude00": 4, "<s>": 5, "q\"\\\/\t": 6, "ab\u00e9": 7},
    "merges": [["a", "b"], ["ab", "\u00e9"]]
  }
})";

std::vector<int32_t> encode(const rllm::Tokenizer& tok, const std::string& text) {
  auto ids = tok.encode(text, false);
  REQUIRE(ids.ok());
  return ids.value();
}

}  // namespace

TEST_CASE("tokenizer.json strings: escapes and surrogate pairs decode as JSON says") {
  auto tok = rllm::Tokenizer::load_file(write_temp("small.json", kSmallTokenizer));
  REQUIRE(tok.ok());
  const rllm::Tokenizer& t = **tok;
  CHECK(t.token_to_id("\xC3\xA9") == 3);
  CHECK(t.token_to_id("\xF0\x9F\x98\x80") == 4);
  CHECK(t.token_to_id("q\"\\/\t") == 6);
  CHECK(t.id_to_token(7) == "ab\xC3\xA9");
  CHECK(encode(t, "ab\xC3\xA9\xF0\x9F\x98\x80") == std::vector<int32_t>{7, 4});
  CHECK(encode(t, "<s>ab") == std::vector<int32_t>{5, 2});
  CHECK(encode(t, "ba") == std::vector<int32_t>{1, 0});
}

TEST_CASE("a tokenizer.json written all-ASCII (\\u escapes) loads the same vocabulary as nlohmann parses it") {
  for (const std::string file : {"/tokenizers/gpt2-tokenizer.json", "/ortgenai-tiny-random-llama-fp16/tokenizer.json"}) {
    INFO(file);
    nlohmann::json j = nlohmann::json::parse(read_file(RLLM_SHARED_MODELS + file));
    int32_t free_id = 0;
    for (const auto& a : j["added_tokens"]) free_id = std::max(free_id, a["id"].get<int32_t>() + 1);
    for (const auto& [token, id] : j["model"]["vocab"].items()) free_id = std::max(free_id, id.get<int32_t>() + 1);
    j["model"]["vocab"]["\xF0\x9F\x98\x80\x7F\x01"] = free_id;  // beyond the BMP, a control character
    const std::string ascii = j.dump(-1, ' ', /*ensure_ascii=*/true);
    REQUIRE(ascii.find("\\ud83d\\ude00") != std::string::npos);
    auto tok = rllm::Tokenizer::load_file(write_temp("ascii.json", ascii));
    REQUIRE(tok.ok());
    auto plain = rllm::Tokenizer::load_file(write_temp("plain.json", j.dump()));
    REQUIRE(plain.ok());
    size_t mismatches = 0;
    for (const auto& [token, id] : j["model"]["vocab"].items()) {
      if ((*tok)->token_to_id(token) != id.get<int32_t>() || (*tok)->id_to_token(id.get<int32_t>()) != token) ++mismatches;
    }
    CHECK(mismatches == 0);
    const std::string text = "Hello w\xC3\xB6rld, \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80 tokens\n\tand  spaces";
    CHECK(encode(**tok, text) == encode(**plain, text));
  }
}

TEST_CASE("tokenizer.json cut at any offset is an error naming the file") {
  const std::string small = kSmallTokenizer;
  for (size_t cut = 0; cut < small.size(); ++cut) {
    const std::string bytes = small.substr(0, cut);
    INFO("cut at " << cut);
    REQUIRE_FALSE(nlohmann::json::accept(bytes));
    auto tok = rllm::Tokenizer::load_file(write_temp("cut.json", bytes));
    REQUIRE_FALSE(tok.ok());
    CHECK(tok.status().message().find("bad_cut.json") != std::string::npos);
  }
  // A real file, cut inside its vocabulary, merges and added tokens.
  const std::string big = read_file(RLLM_SHARED_MODELS "/tokenizers/gpt2-tokenizer.json");
  for (const char* key : {"\"added_tokens\"", "\"vocab\"", "\"merges\""}) {
    const size_t at = big.find(key);
    REQUIRE(at != std::string::npos);
    for (size_t cut : {at, at + 5, at + 17, at + 101, at + 1000, at + 54321}) {
      const std::string bytes = big.substr(0, cut);
      INFO(key << " cut at " << cut);
      REQUIRE_FALSE(nlohmann::json::accept(bytes));
      auto tok = rllm::Tokenizer::load_file(write_temp("cut.json", bytes));
      REQUIRE_FALSE(tok.ok());
      CHECK(tok.status().message().find("bad_cut.json") != std::string::npos);
    }
  }
}

TEST_CASE("bad escapes, bad UTF-8 and wrong types in tokenizer.json are errors naming the file and the problem") {
  const std::string small = kSmallTokenizer;
  auto replaced = [&](const std::string& from, const std::string& to) {
    const size_t at = small.find(from);
    REQUIRE(at != std::string::npos);
    return small.substr(0, at) + to + small.substr(at + from.size());
  };
  struct Case {
    std::string text;
    bool valid_json;  // nlohmann accepts it: the error is one of structure, not syntax
    const char* expect;
  };
  const std::vector<Case> cases = {
      {replaced("\"\\u00e9\": 3", "\"\\q\": 3"), false, "invalid escape"},
      {replaced("\"\\u00e9\": 3", "\"\\u00g9\": 3"), false, "hex"},
      {replaced("\"\\u00e9\": 3", "\"\\ud83d\": 3"), false, "surrogate"},
      {replaced("\"\\u00e9\": 3", "\"\\ude00\": 3"), false, "surrogate"},
      {replaced("\"\\u00e9\": 3", "\"\\ud83d\\u0041\": 3"), false, "surrogate"},
      {replaced("\"\\u00e9\": 3", "\"\xC3\": 3"), false, "UTF-8"},
      {replaced("\"\\u00e9\": 3", "\"\xC0\xAF\": 3"), false, "UTF-8"},
      {replaced("\"\\u00e9\": 3", "\"\x01\": 3"), false, "control character"},
      {replaced("\"b\": 1", "\"b\": 01"), false, "leading zero"},
      {replaced("\"b\": 1", "\"b\": 1,"), false, "member name"},
      {replaced("\"b\": 1", "\"b\" 1"), false, "':'"},
      {small + "x", false, "after the top-level value"},
      {replaced("\"b\": 1", "\"b\": \"1\""), true, "model.vocab"},
      {replaced("\"b\": 1", "\"b\": 1.5"), true, "model.vocab"},
      {replaced("\"b\": 1", "\"b\": 1e2"), true, "model.vocab"},
      {replaced("\"b\": 1", "\"b\": null"), true, "model.vocab"},
      {replaced("\"b\": 1", "\"b\": 4294967297"), true, "out of range"},
      {replaced("\"b\": 1", "\"b\": -1"), true, "negative"},
      {replaced("\"b\": 1", "\"b\": 2000000000"), true, "far beyond"},
      {replaced("\"vocab\": {", "\"vocab\": [], \"x\": {"), true, "model.vocab must be an object"},
      {replaced("[\"a\", \"b\"]", "7"), true, "merge"},
      {replaced("[\"a\", \"b\"]", "[\"a\"]"), true, "merge"},
      {replaced("[\"a\", \"b\"]", "[\"a\", \"b\", \"c\"]"), true, "merge"},
      {replaced("[\"a\", \"b\"]", "\"ab\""), true, "one space"},
      {replaced("\"content\": \"<s>\"", "\"content\": 5"), true, "content"},
      {replaced("\"special\": true", "\"special\": \"yes\""), true, "true or false"},
      {replaced("\"id\": 5,", ""), true, "without id"},
      {replaced("\"model\": {", "\"model\": 3, \"x\": {"), true, "model must be an object"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    CHECK(nlohmann::json::accept(c.text) == c.valid_json);
    auto tok = rllm::Tokenizer::load_file(write_temp("case.json", c.text));
    REQUIRE_FALSE(tok.ok());
    const std::string& msg = tok.status().message();
    INFO(msg);
    CHECK(msg.find("bad_case.json") != std::string::npos);
    CHECK(msg.find(c.expect) != std::string::npos);
  }
  // Errors of the text say where: the bad escape is in the vocabulary, line 15.
  auto tok = rllm::Tokenizer::load_file(write_temp("case.json", cases[0].text));
  REQUIRE_FALSE(tok.ok());
  CHECK(tok.status().message().find("line 15, column") != std::string::npos);
}

TEST_CASE("a repeated vocabulary key keeps its last id and a shared id keeps both tokens, as nlohmann and HF read them") {
  std::string text = kSmallTokenizer;
  const std::string from = "\"ab\\u00e9\": 7}";
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), "\"ab\\u00e9\": 7, \"b\": 9, \"x\": 3}");
  const auto j = nlohmann::json::parse(text);
  auto tok = rllm::Tokenizer::load_file(write_temp("repeat.json", text));
  REQUIRE(tok.ok());
  for (const char* token : {"b", "x", "\xC3\xA9", "ab"}) {
    INFO(token);
    CHECK((*tok)->token_to_id(token) == j["model"]["vocab"][token].get<int32_t>());
  }
  CHECK((*tok)->id_to_token(9) == "b");
  CHECK(encode(**tok, "ab") == std::vector<int32_t>{2});  // the merge a + b, b now being 9 (HF: [2])
  CHECK(encode(**tok, "ba") == std::vector<int32_t>{9, 0});  // HF: [9, 0]
}
