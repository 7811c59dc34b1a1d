// Chat templates rendered by our Jinja subset against transformers'
// apply_chat_template: the family templates in chat_templates/ and the model
// folders' own, on multi-turn conversations with and without a system prompt, with and
// without the generation prompt, including the templates' raise_exception paths.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/tokenizer/chat_template.h"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("chat templates render exactly as transformers apply_chat_template") {
  const std::string dir = std::string(RLLM_SOURCE_DIR) + "/tests/engine/tokenizer";
  const std::string out = std::string(RLLM_BINARY_DIR) + "/tokenizer_ref/chat.json";
  const std::string cmd = std::string("mkdir -p '") + RLLM_BINARY_DIR + "/tokenizer_ref' && '" + RLLM_PYTHON + "' '" +
                          dir + "/make_chat_reference.py' '" + out + "' '" + RLLM_SHARED_MODELS + "' 2>/dev/null";
  const int rc = std::system(cmd.c_str());
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) {
    MESSAGE("skipped: transformers / jinja2 missing from " RLLM_PYTHON " (pip install transformers jinja2)");
    return;
  }
  REQUIRE_MESSAGE(rc == 0, "reference generator failed: " << cmd);
  std::ifstream in(out);
  const auto j = nlohmann::json::parse(in);

  std::map<std::string, std::unique_ptr<rllm::Tokenizer>> folders;
  int checked = 0, errors_expected = 0;
  for (const auto& c : j.at("cases")) {
    std::vector<rllm::ChatMessage> messages;
    for (const auto& m : c.at("messages")) messages.push_back({m.at("role"), m.at("content")});
    const std::string name = c.at("template");
    const bool gen = c.at("add_generation_prompt");
    rllm::Result<std::string> got = rllm::Status::error("not rendered");
    if (c.at("folder")) {
      auto& tok = folders[name];
      if (!tok) {
        auto loaded = rllm::Tokenizer::load_folder(std::string(RLLM_SHARED_MODELS) + "/" + name);
        REQUIRE_MESSAGE(loaded.ok(), loaded.status().message());
        tok = std::move(loaded.value());
      }
      got = rllm::apply_chat_template(*tok, messages, gen);
    } else {
      got = rllm::render_chat_template(read_file(dir + "/chat_templates/" + name), messages, gen, c.at("bos"), c.at("eos"));
    }
    INFO("template " << name << ", " << messages.size() << " messages, add_generation_prompt " << gen);
    if (c.contains("error")) {
      ++errors_expected;
      REQUIRE_FALSE(got.ok());
      CHECK(got.status().message().find(c.at("error").get<std::string>()) != std::string::npos);
    } else {
      REQUIRE_MESSAGE(got.ok(), got.status().message());
      CHECK(got.value() == c.at("text").get<std::string>());
    }
    ++checked;
  }
  CHECK(checked >= 100);
  CHECK(errors_expected > 0);
}

TEST_CASE("an unsupported template construct names itself and the way around it") {
  const std::vector<rllm::ChatMessage> messages{{"user", "hi"}};
  auto r = rllm::render_chat_template("{% macro f(x) %}{{ x }}{% endmacro %}{{ f(1) }}", messages, true, "", "");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("macro") != std::string::npos);
  CHECK(r.status().message().find("--chat-template") != std::string::npos);
}
