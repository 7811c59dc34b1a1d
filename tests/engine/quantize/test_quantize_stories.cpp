// run-llm quantize on stories260K-fp32: onnxruntime runs the produced graph to
// the logits run-llm computes on the same ids, and int8 greedy decoding keeps
// the known story. Byte-level agreement with scripts/convert/quant.py and the
// printed errors are checked against numpy in check_quantize.py.
#include <doctest/doctest.h>

#include <cmath>
#include <algorithm>
#include <cstring>

#include "engine/model.h"
#include "engine/tokenizer/tokenizer.h"
#include "quant_test_util.h"

using namespace rllm;
using rllm::test::quoted;
using rllm::test::ScratchDir;

namespace {

const std::string kFp32 = std::string(RLLM_BINARY_DIR) + "/models/stories260K-fp32";
// "Once upon a time, there was a little girl named Lily." with BOS.
const std::vector<int32_t> kIds = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426};

bool have_model() {
  if (std::filesystem::exists(kFp32 + "/model.onnx")) return true;
  MESSAGE("skipped: " << kFp32 << " missing (scripts/convert/make_test_models.sh " << RLLM_BINARY_DIR << "/models)");
  return false;
}

test::RunResult quantize(const std::string& out, const std::string& options, const ScratchDir& dir) {
  return test::run(std::string(RLLM_RUN_LLM) + " quantize " + quoted(kFp32) + " " + quoted(out) + " " + options, dir);
}

std::unique_ptr<Model> load(const std::string& path) {
  ModelOptions mo;
  mo.threads = 1;
  auto m = Model::load(path, mo);
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  return std::move(m).value();
}

std::vector<float> run_llm_logits(Model& m, const std::vector<int32_t>& ids) {
  KvCache cache(m.kv_config());
  auto l = m.forward(cache, {cache.new_sequence()}, {ids});
  REQUIRE_MESSAGE(l.ok(), l.status().message());
  return std::vector<float>(l->as<float>(), l->as<float>() + l->numel());
}

// onnxruntime's logits for kIds, or empty when the Python packages are missing.
std::vector<float> ort_logits(const std::string& folder, const ScratchDir& dir) {
  std::string ids;
  for (int32_t id : kIds) {
    if (!ids.empty()) ids += ',';
    ids += std::to_string(id);
  }
  auto r = test::run(std::string(RLLM_PYTHON) + " " + quoted(std::string(RLLM_SOURCE_DIR) +
                     "/tests/engine/quantize/ort_logits.py") + " " + quoted(folder) + " " + ids + " " +
                     quoted(dir / "ort.bin"), dir);
  if (r.code == test::kPythonSkip) {
    MESSAGE("skipped: " << r.out);
    return {};
  }
  REQUIRE_MESSAGE(r.code == 0, r.out << r.err);
  std::string bytes = test::read_text(dir / "ort.bin");
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(static_cast<double>(a[i]) - b[i]));
  return d;
}

}  // namespace

TEST_CASE("quantize: onnxruntime runs the int4/int8 MatMulNBits graphs to run-llm's logits") {
  if (!have_model()) return;
  // Same dequantized weights on both sides and f32 activations (accuracy_level 0): only the
  // summation order differs, ~1e-6 relative on logits of magnitude ~10. With accuracy_level 4
  // both quantize activations to int8 per block, rounding ties may differ: looser bound.
  struct Case {
    std::string options;
    double tol;
  };
  for (Case c : {Case{"--bits 4", 1e-3}, Case{"--bits 8", 1e-3}, Case{"--bits 4 --asym --block 16", 1e-3},
                 Case{"--bits 8 --accuracy-level 4", 5e-2}, Case{"--bits 4 --accuracy-level 4", 5e-2}}) {
    CAPTURE(c.options);
    ScratchDir dir("quant_ort");
    auto r = quantize(dir / "out", c.options, dir);
    REQUIRE_MESSAGE(r.code == 0, r.err);
    std::vector<float> ours = run_llm_logits(*load(dir / "out"), kIds);
    std::vector<float> ref = ort_logits(dir / "out", dir);
    if (ref.empty()) return;
    REQUIRE(ref.size() == ours.size());
    double d = max_abs_diff(ours, ref);
    MESSAGE(c.options << ": max |logit(run-llm) - logit(onnxruntime)| = " << d);
    CHECK(d <= c.tol);
  }
}

TEST_CASE("quantize: int8 greedy decoding of Once upon a time keeps the known story") {
  if (!have_model()) return;
  ScratchDir dir("quant_greedy");
  auto r = quantize(dir / "int8", "--bits 8", dir);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  auto m = load(dir / "int8");
  auto tk = Tokenizer::load_folder(dir / "int8");
  REQUIRE(tk.ok());
  auto ids = (*tk)->encode("Once upon a time", true);
  REQUIRE(ids.ok());
  KvCache cache(m->kv_config());
  int seq = cache.new_sequence();
  std::vector<int32_t> step = *ids, out;
  for (int i = 0; i < 32; ++i) {
    auto l = m->forward(cache, {seq}, {step});
    REQUIRE(l.ok());
    const int64_t V = l->dim(-1);
    const float* last = l->as<float>() + (l->numel() - V);
    step = {static_cast<int32_t>(std::max_element(last, last + V) - last)};
    out.push_back(step[0]);
  }
  // ../shared/models/README.md: the fp32 model's greedy continuation.
  const std::string expected = ", there was a little girl named Lily. She loved to play outside in the park";
  std::string text = (*tk)->decode(out);
  CHECK(text.substr(0, expected.size()) == expected);
}

TEST_CASE("quantize: --fp16 stores f16 weights behind Casts, run-llm and onnxruntime agree with fp32") {
  if (!have_model()) return;
  ScratchDir dir("quant_fp16");
  auto r = quantize(dir / "fp16", "--fp16", dir);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  std::vector<float> fp32 = run_llm_logits(*load(kFp32), kIds);
  std::vector<float> ours = run_llm_logits(*load(dir / "fp16"), kIds);
  // f16 weights: relative rounding 2^-11 per weight; logits of magnitude ~10 move by ~1e-2.
  double d32 = max_abs_diff(ours, fp32);
  MESSAGE("--fp16: max |logit - logit(fp32)| = " << d32);
  CHECK(d32 <= 5e-2);
  std::vector<float> ref = ort_logits(dir / "fp16", dir);
  if (ref.empty()) return;
  double d = max_abs_diff(ours, ref);
  MESSAGE("--fp16: max |logit(run-llm) - logit(onnxruntime)| = " << d);
  CHECK(d <= 1e-3);
}
