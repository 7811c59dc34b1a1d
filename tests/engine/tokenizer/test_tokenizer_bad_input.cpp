// Bad tokenizer files are error values naming the problem, never crashes: truncated and
// bit-flipped SentencePiece models, and tokenizer.json files with broken or unsupported
// parts.
#include <doctest/doctest.h>

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
