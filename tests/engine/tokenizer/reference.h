// Runs make_reference.py for one tokenizer and loads what it wrote.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rllm::test {

struct RefCase {
  std::string text;
  std::vector<int32_t> ids, ids_plain;
  std::string decoded, decoded_skip;
  bool lossless = false;
};

struct RefIds {
  std::vector<int32_t> ids;
  std::string decoded, decoded_skip;
};

struct Reference {
  std::vector<RefCase> cases;
  std::vector<RefIds> random_ids;
};

// kind is "hf" or "sp". Returns nullopt (after printing why) when the reference
// package is missing from RLLM_PYTHON.
std::optional<Reference> make_reference(const std::string& kind, const std::string& path, const std::string& name);

}  // namespace rllm::test
