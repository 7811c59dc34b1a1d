// Shared by the encoder tests: where the cached models are, and the onnxruntime
// reference that ort_embed.py writes.
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "emulated.h"

namespace rllm::test {

struct Model {
  std::string name;       // reference file stem
  std::string onnx;       // the graph
  std::string tokenizer;  // its tokenizer.json
  std::string output;     // graph output onnxruntime reports, [1, H]
};

inline std::string model_cache() {
  const char* env = std::getenv("RUNLLM_MODELS");
  if (env != nullptr && *env) return env;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.cache/run-llm";
}

// Under an emulator (RLLM_EMULATED=1, set by scripts/cross_aarch64.sh) the texts are cut to
// 32 tokens instead of the models' 128: fp32 forwards run about 50x slower in qemu, at a cost
// in proportion to the tokens. At 32 the one over-long sentence is still cut and the others (at
// most 16 tokens) still fit, so the same padding, batching and truncation paths are checked.
// The value goes to EmbedOptions::max_length / --max-length; 0 natively (the model's).
inline int64_t token_limit_option() { return emulated() ? 32 : 0; }

// The token limit texts are cut to: the option above, else the models' tokenizer.json 128.
inline int64_t max_tokens() { return token_limit_option() ? token_limit_option() : 128; }

// PREFIX and the option (for file names and command lines), or "" natively.
inline std::string with_limit(const char* prefix) {
  std::string s;
  if (const int64_t limit = token_limit_option()) {
    s = prefix;
    s += std::to_string(limit);
  }
  return s;
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
                 c + "/all-minilm-l6-v2/tokenizer.json", "461"});
}

// scripts/fetch_models.sh converts all-MiniLM-L6-v2 with scripts/convert/bert_safetensors_to_onnx.py.
inline std::optional<Model> all_minilm_converted() {
  const std::string c = model_cache();
  return cached({"all_minilm_l6", c + "/all-minilm-l6-v2/onnx/model.onnx", c + "/all-minilm-l6-v2/onnx/tokenizer.json",
                 "sentence_embedding"});
}

// True when `out` exists and is newer than every file it is computed from, so the
// test cases of one run share a reference instead of recomputing it.
inline bool fresh(const std::string& out, const std::vector<std::string>& sources) {
  std::error_code ec;
  const auto t = std::filesystem::last_write_time(out, ec);
  if (ec) return false;
  for (const auto& s : sources) {
    const auto ts = std::filesystem::last_write_time(s, ec);
    if (ec || ts > t) return false;
  }
  return true;
}

// Runs a command line; false (after saying why) when it exits 77, the scripts' "skip".
inline bool run_or_skip(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) {
    MESSAGE("skipped: a Python package is missing from " RLLM_PYTHON " (" << cmd << ")");
    return false;
  }
  REQUIRE_MESSAGE(rc == 0, "failed: " << cmd);
  return true;
}

struct OrtReference {
  std::vector<std::string> sentences;
  std::vector<std::vector<int32_t>> ids;
  std::vector<std::vector<float>> embeddings;
};

inline std::string ref_dir() {
  const std::string dir = std::string(RLLM_BINARY_DIR) + "/encoder_ref";
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::string script(const std::string& name) {
  return std::string("'") + RLLM_PYTHON + "' '" + RLLM_SOURCE_DIR + "/" + name + "'";
}

inline OrtReference read_reference(const std::string& path) {
  std::ifstream in(path);
  const nlohmann::json j = nlohmann::json::parse(in);
  OrtReference r;
  j.at("sentences").get_to(r.sentences);
  j.at("ids").get_to(r.ids);
  j.at("embeddings").get_to(r.embeddings);
  return r;
}

// onnxruntime's output for ort_embed.SENTENCES, each alone, cut to token_limit_option().
inline std::optional<OrtReference> ort_reference(const Model& m) {
  const std::string out = ref_dir() + "/" + m.name + with_limit("_") + ".json";
  const std::string gen = std::string(RLLM_SOURCE_DIR) + "/tests/engine/encoder/ort_embed.py";
  if (fresh(out, {gen, m.onnx, m.tokenizer})) return read_reference(out);
  // Written under a name of this process's own, then renamed into place: ctest
  // runs test cases in parallel processes, and two may make the same reference.
  const std::string tmp = out + "." + std::to_string(::getpid());
  if (!run_or_skip(script("tests/engine/encoder/ort_embed.py") + " '" + m.onnx + "' '" + m.tokenizer + "' '" + m.output +
                   "' '" + tmp + "'" + with_limit(" ")))
    return std::nullopt;
  std::filesystem::rename(tmp, out);
  return read_reference(out);
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
