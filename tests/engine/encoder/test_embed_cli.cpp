// `run-llm embed` end to end against onnxruntime: paraphrase-MiniLM-L3-v2's folder
// (the tokenizer linked in by scripts/fetch_models.sh), --file with --format npy and
// json, truncation warnings, --refuse-long and a missing tokenizer.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "encoder_test_util.h"

namespace fs = std::filesystem;
using namespace rllm;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string quoted(const std::string& s) {
  std::string q(1, '\'');
  q += s;
  q += '\'';
  return q;
}

// Exit status of `run-llm embed ARGS > out 2> err`, with test::with_limit's --max-length.
int run_llm(const std::string& args, const std::string& out, const std::string& err) {
  const std::string cmd = std::string("'") + RLLM_RUN_LLM + "' embed " + args + test::with_limit(" --max-length ") + " > '" +
                          out + "' 2> '" + err + "'";
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Rows of a float32 .npy written by run-llm, with its declared shape.
std::vector<std::vector<float>> read_npy(const std::string& path, int64_t& rows, int64_t& cols) {
  const std::string b = slurp(path);
  REQUIRE(b.size() > 10);
  REQUIRE(b.compare(0, 8, std::string("\x93NUMPY\x01\x00", 8)) == 0);
  const size_t hlen = static_cast<unsigned char>(b[8]) | (static_cast<unsigned char>(b[9]) << 8);
  REQUIRE((10 + hlen) % 64 == 0);
  const std::string header = b.substr(10, hlen);
  REQUIRE(header.find("'descr': '<f4'") != std::string::npos);
  const size_t open = header.find("'shape': (");
  REQUIRE(open != std::string::npos);
  std::sscanf(header.c_str() + open + 10, "%ld, %ld", &rows, &cols);
  REQUIRE(b.size() == 10 + hlen + static_cast<size_t>(rows * cols) * 4);
  std::vector<std::vector<float>> v(static_cast<size_t>(rows), std::vector<float>(static_cast<size_t>(cols)));
  for (int64_t r = 0; r < rows; ++r) std::memcpy(v[r].data(), b.data() + 10 + hlen + r * cols * 4, static_cast<size_t>(cols) * 4);
  return v;
}

std::vector<float> normalized(std::vector<float> v) {
  double ss = 0;
  for (float x : v) ss += static_cast<double>(x) * x;
  for (float& x : v) x = static_cast<float>(x / std::sqrt(ss));
  return v;
}

void check_vector(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  INFO(what);
  REQUIRE(got.size() == want.size());
  const auto [cos, max_abs] = test::compare(got.data(), want);
  CHECK(cos >= 0.9999);
  CHECK(max_abs <= 1e-4);
}

}  // namespace

TEST_CASE("run-llm embed: paraphrase-MiniLM-L3-v2 folder, --file to .npy and JSON, equals onnxruntime") {
  auto m = test::paraphrase_minilm();
  if (!m) return;
  const std::string folder = fs::path(m->onnx).parent_path().string();
  if (!fs::exists(folder + "/tokenizer.json")) {
    MESSAGE("skipped: " << folder << "/tokenizer.json is not linked yet (run scripts/fetch_models.sh)");
    return;
  }
  auto ref = test::ort_reference(*m);
  if (!ref) return;
  // One sentence per line: those without a newline of their own.
  std::vector<size_t> lines;
  const std::string dir = test::ref_dir();
  {
    std::ofstream f(dir + "/cli_lines.txt", std::ios::binary);
    for (size_t i = 0; i < ref->sentences.size(); ++i) {
      if (ref->sentences[i].find('\n') != std::string::npos) continue;
      f << ref->sentences[i] << "\n";
      lines.push_back(i);
    }
  }
  const std::string out = dir + "/cli_out", err = dir + "/cli_err";
  REQUIRE(run_llm("'" + folder + "' --file '" + dir + "/cli_lines.txt' --batch 4 --threads 2 --no-normalize --format npy --output '" +
                      dir + "/cli.npy'", out, err) == 0);
  int64_t rows = 0, cols = 0;
  const auto npy = read_npy(dir + "/cli.npy", rows, cols);
  REQUIRE(static_cast<size_t>(rows) == lines.size());
  CHECK(cols == 384);
  const int64_t limit = test::max_tokens();
  size_t warned = 0;
  for (size_t r = 0; r < lines.size(); ++r) {
    check_vector(npy[r], ref->embeddings[lines[r]], "npy row " + std::to_string(r));
    if (static_cast<int64_t>(ref->ids[lines[r]].size()) == limit) {
      ++warned;
      CHECK(slurp(err).find("warning: text " + std::to_string(r + 1) + " is longer than " + std::to_string(limit) +
                            " tokens and was truncated") != std::string::npos);
    }
  }
  CHECK(warned >= 1);

  // JSON on stdout, L2-normalised by default: one vector per line.
  REQUIRE(run_llm("'" + folder + "' --file '" + dir + "/cli_lines.txt' --threads 2", out, err) == 0);
  const auto j = nlohmann::json::parse(slurp(out));
  REQUIRE(j.size() == lines.size());
  for (size_t r = 0; r < lines.size(); ++r)
    check_vector(j[r].get<std::vector<float>>(), normalized(ref->embeddings[lines[r]]), "json row " + std::to_string(r));

  // --refuse-long: the first over-long line is named and nothing is written.
  fs::remove(dir + "/refused.npy");
  CHECK(run_llm("'" + folder + "' --file '" + dir + "/cli_lines.txt' --refuse-long --format npy --output '" + dir +
                    "/refused.npy'", out, err) == 1);
  CHECK(slurp(err).find("is longer than the model's " + std::to_string(limit) + " tokens") != std::string::npos);
  CHECK_FALSE(fs::exists(dir + "/refused.npy"));
}

TEST_CASE("run-llm embed: an .onnx with --tokenizer, and a clear message when the tokenizer is missing") {
  auto m = test::paraphrase_minilm();
  if (!m) return;
  auto ref = test::ort_reference(*m);
  if (!ref) return;
  // Files of this case's own: ctest runs the cases of this file in parallel.
  const std::string dir = test::ref_dir(), out = dir + "/cli_tokenizer_out", err = dir + "/cli_tokenizer_err";
  REQUIRE(run_llm("'" + m->onnx + "' --tokenizer '" + m->tokenizer + "' --no-normalize --text '" + ref->sentences[1] + "'",
                  out, err) == 0);
  const auto j = nlohmann::json::parse(slurp(out));
  REQUIRE(j.size() == 1);
  check_vector(j[0].get<std::vector<float>>(), ref->embeddings[1], "--text");

  const fs::path lone = fs::path(dir) / "cli_no_tokenizer";
  fs::remove_all(lone);
  fs::create_directories(lone);
  fs::create_symlink(m->onnx, lone / "encoder.onnx");
  const std::string lone_arg = quoted(lone.string());
  CHECK(run_llm(lone_arg + " --text hi", out, err) == 1);
  CHECK(slurp(err).find("no tokenizer.json beside the model; pass the tokenizer with --tokenizer PATH") != std::string::npos);
  CHECK(run_llm(lone_arg, out, err) == 2);  // no text: usage
  CHECK(slurp(err).find("usage: run-llm embed") != std::string::npos);
}
