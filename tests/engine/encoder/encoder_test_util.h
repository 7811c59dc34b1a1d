// Shared by the encoder tests: where the cached models are, and the onnxruntime
// reference that ort_embed.py writes.
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace rllm::test {

struct Model {
  std::string name;       // reference file stem
  std::string onnx;       // the graph
  std::string tokenizer;  // its tokenizer.json
  std::string output;     // graph output onnxruntime reports
  bool mean_pool = false; // output is token states: the reference averages them
};

inline std::string model_cache() {
  const char* env = std::getenv("RUNLLM_MODELS");
  if (env != nullptr && *env) return env;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.cache/run-llm";
}

inline std::optional<Model> cached(Model m) {
  for (const std::string& p : {m.onnx, m.tokenizer}) {
    if (!std::filesystem::exists(p)) {
      MESSAGE("skipped: " << p << " is not in the model cache (run scripts/fetch_models.sh)");
      return std::nullopt;
    }
  }
  return m;
}

inline std::optional<Model> paraphrase_minilm() {
  const std::string c = model_cache();
  // The package ships no tokenizer: it uses all-MiniLM-L6-v2's uncased WordPiece vocabulary.
  return cached({"paraphrase_minilm_l3", c + "/paraphrase-minilm-l3-v2/paraphrase-MiniLM-L3-v2.onnx",
                 c + "/all-minilm-l6-v2/tokenizer.json", "461", false});
}

struct OrtReference {
  std::vector<std::string> sentences;
  std::vector<std::vector<int32_t>> ids;
  std::vector<std::vector<float>> embeddings;
};

inline std::optional<OrtReference> ort_reference(const Model& m) {
  const std::string dir = std::string(RLLM_BINARY_DIR) + "/encoder_ref";
  std::filesystem::create_directories(dir);
  const std::string out = dir + "/" + m.name + ".json";
  const std::string cmd = std::string("'") + RLLM_PYTHON + "' '" + RLLM_SOURCE_DIR +
                          "/tests/engine/encoder/ort_embed.py' '" + m.onnx + "' '" + m.tokenizer + "' '" + m.output +
                          "' '" + out + "'" + (m.mean_pool ? " --mean-pool" : "");
  const int rc = std::system(cmd.c_str());
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) {
    MESSAGE("skipped: onnxruntime / tokenizers missing from " RLLM_PYTHON);
    return std::nullopt;
  }
  REQUIRE_MESSAGE(rc == 0, "reference generator failed: " << cmd);
  std::ifstream in(out);
  const nlohmann::json j = nlohmann::json::parse(in);
  OrtReference r;
  j.at("sentences").get_to(r.sentences);
  j.at("ids").get_to(r.ids);
  j.at("embeddings").get_to(r.embeddings);
  return r;
}

// Cosine similarity and max |a - b| of a vector against the reference.
inline std::pair<double, double> compare(const float* a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0, max_abs = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
    max_abs = std::max(max_abs, std::fabs(static_cast<double>(a[i]) - b[i]));
  }
  return {dot / std::sqrt(na * nb), max_abs};
}

}  // namespace rllm::test
