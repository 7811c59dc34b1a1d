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
  std::vector<int32_t> ids_truncated;  // hf: with the file's truncation (when it sets one)
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
  int64_t truncation = 0;  // the tokenizer.json's truncation.max_length, 0 if none
};

// kind is "hf" or "sp". With a variant, the generator first rewrites the
// tokenizer.json ("hf") or trains a model ("sp", see make_reference.py), and
// variant_path() names the file it wrote. Returns
// nullopt (after printing why) when the reference package is missing from RLLM_PYTHON.
std::optional<Reference> make_reference(const std::string& kind, const std::string& path, const std::string& name,
                                        const std::string& variant = "");
std::string variant_path(const std::string& kind, const std::string& name);

}  // namespace rllm::test
