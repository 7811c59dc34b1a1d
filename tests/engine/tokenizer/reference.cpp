#include "reference.h"

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

namespace rllm::test {

namespace {

std::string out_path(const std::string& name) { return std::string(RLLM_BINARY_DIR) + "/tokenizer_ref/" + name + ".json"; }

}  // namespace

std::string variant_path(const std::string& kind, const std::string& name) {
  return kind == "sp" ? std::string(RLLM_BINARY_DIR) + "/tokenizer_ref/" + name + ".json.model"
                      : out_path(name) + ".tokenizer.json";
}

std::optional<Reference> make_reference(const std::string& kind, const std::string& path, const std::string& name,
                                        const std::string& variant) {
  const std::string out = out_path(name);
  const std::string cmd = std::string("'") + RLLM_PYTHON + "' '" + RLLM_SOURCE_DIR +
                          "/tests/engine/tokenizer/make_reference.py' " + kind + " '" + path + "' '" + out + "' " +
                          variant;
  const int rc = std::system(cmd.c_str());
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) {
    MESSAGE("skipped: the reference package is missing from " RLLM_PYTHON);
    return std::nullopt;
  }
  REQUIRE_MESSAGE(rc == 0, "reference generator failed: " << cmd);
  std::ifstream in(out);
  const nlohmann::json j = nlohmann::json::parse(in);
  Reference ref;
  for (const auto& c : j.at("cases")) {
    ref.cases.push_back({c.at("text"), c.at("ids"), c.at("ids_plain"), c.value("ids_truncated", std::vector<int32_t>{}),
                         c.at("decoded"), c.at("decoded_skip"), c.at("lossless")});
  }
  ref.truncation = j.value("truncation", int64_t{0});
  for (const auto& r : j.at("random_ids")) ref.random_ids.push_back({r.at("ids"), r.at("decoded"), r.at("decoded_skip")});
  return ref;
}

}  // namespace rllm::test
