// Sentence encoders against onnxruntime on the same .onnx files and inputs:
// paraphrase-MiniLM-L3-v2 (a genuine PyTorch export) and our conversion of
// all-MiniLM-L6-v2. References are written by ort_embed.py at test time; a model
// missing from the cache (scripts/fetch_models.sh) skips with a printed reason.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "encoder_test_util.h"
#include "engine/encoder.h"

using namespace rllm;
namespace fs = std::filesystem;

namespace {

using test::Model;

void check_rows(const Tensor& got, const test::OrtReference& ref, const std::vector<size_t>& which) {
  REQUIRE(got.rank() == 2);
  REQUIRE(static_cast<size_t>(got.dim(0)) == which.size());
  const int64_t H = got.dim(1);
  for (size_t r = 0; r < which.size(); ++r) {
    const auto& want = ref.embeddings[which[r]];
    REQUIRE(static_cast<int64_t>(want.size()) == H);
    const auto [cos, max_abs] = test::compare(got.as<float>() + r * H, want);
    INFO("sentence " << which[r] << ": \"" << ref.sentences[which[r]] << "\"");
    CHECK(cos >= 0.9999);
    CHECK(max_abs <= 1e-4);
  }
}

void encoder_matches_ort(const Model& m) {
  auto ref = test::ort_reference(m);
  if (!ref) return;
  auto enc = Encoder::load(m.onnx, {2, ""});
  REQUIRE_MESSAGE(enc.ok(), enc.status().message());
  std::vector<size_t> all(ref->ids.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  // One padded batch of every length at once, and each sentence alone.
  auto batch = (*enc)->embed_ids(ref->ids, false);
  REQUIRE_MESSAGE(batch.ok(), batch.status().message());
  check_rows(*batch, *ref, all);
  for (size_t i = 0; i < ref->ids.size(); ++i) {
    auto alone = (*enc)->embed_ids({ref->ids[i]}, false);
    REQUIRE_MESSAGE(alone.ok(), alone.status().message());
    check_rows(*alone, *ref, {i});
  }
}

}  // namespace

TEST_CASE("encoder: paraphrase-MiniLM-L3-v2 (PyTorch export) ids batch and each alone equal onnxruntime") {
  auto m = test::paraphrase_minilm();
  if (m) encoder_matches_ort(*m);
}

TEST_CASE("encoder: paraphrase-MiniLM-L3-v2 texts through our WordPiece tokenizer, batched, equal onnxruntime") {
  auto m = test::paraphrase_minilm();
  if (!m) return;
  auto ref = test::ort_reference(*m);
  if (!ref) return;
  EncoderOptions opts{2, m->tokenizer};
  auto se = SentenceEncoder::load(m->onnx, opts);
  REQUIRE_MESSAGE(se.ok(), se.status().message());
  CHECK((*se)->max_length() == 128);
  EmbedOptions eo;
  eo.normalize = false;
  eo.batch = 5;  // batches of mixed lengths, the last one short
  eo.max_length = test::token_limit_option();
  auto emb = (*se)->embed(ref->sentences, eo);
  REQUIRE_MESSAGE(emb.ok(), emb.status().message());
  std::vector<size_t> all(ref->sentences.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  check_rows(emb->vectors, *ref, all);
  // The sentences whose HF ids reach the truncation are the ones reported as cut.
  const int64_t limit = test::max_tokens();
  std::vector<size_t> cut;
  for (size_t i = 0; i < ref->ids.size(); ++i)
    if (static_cast<int64_t>(ref->ids[i].size()) == limit) cut.push_back(i);
  CHECK(!cut.empty());
  CHECK(emb->truncated == cut);

  eo.long_input = LongInput::refuse;
  auto refused = (*se)->embed(ref->sentences, eo);
  REQUIRE_FALSE(refused.ok());
  const std::string named = "text " + std::to_string(cut[0] + 1) + " is longer than the model's " + std::to_string(limit) + " tokens";
  CHECK(refused.status().message().find(named) != std::string::npos);

  auto bad = (*se)->embed({"fine", std::string("caf\xC3")}, {});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("text 2") != std::string::npos);
  CHECK(bad.status().message().find("UTF-8") != std::string::npos);
}

TEST_CASE("encoder: a missing tokenizer is a clear error naming the model and the way around it") {
  auto m = test::paraphrase_minilm();
  if (!m) return;
  // The graph alone in a folder of its own (the cache folder gets a tokenizer.json linked in).
  const fs::path dir = fs::path(RLLM_BINARY_DIR) / "encoder_ref" / "no_tokenizer";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::create_symlink(m->onnx, dir / "model.onnx");
  auto se = SentenceEncoder::load(dir.string(), {1, ""});
  REQUIRE_FALSE(se.ok());
  CHECK(se.status().message().find((dir / "model.onnx").string()) != std::string::npos);
  CHECK(se.status().message().find("no tokenizer.json beside the model") != std::string::npos);
  CHECK(se.status().message().find("--tokenizer") != std::string::npos);
  auto wrong = SentenceEncoder::load(m->onnx, {1, "/nonexistent/tokenizer.json"});
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.status().message().find("/nonexistent/tokenizer.json") != std::string::npos);
}

TEST_CASE("encoder: converted all-MiniLM-L6-v2 ids batch and each alone equal onnxruntime on the same file") {
  auto m = test::all_minilm_converted();
  if (m) encoder_matches_ort(*m);
}

TEST_CASE("encoder: converted all-MiniLM-L6-v2 equals a numpy forward from the safetensors (independent of ONNX)") {
  auto m = test::all_minilm_converted();
  if (!m) return;
  const std::string out = test::ref_dir() + "/all_minilm_numpy" + test::with_limit("_") + ".json";
  const std::string src = test::model_cache() + "/all-minilm-l6-v2";
  if (!test::fresh(out, {RLLM_SOURCE_DIR "/tests/engine/encoder/bert_numpy_reference.py",
                         RLLM_SOURCE_DIR "/tests/engine/encoder/ort_embed.py", src + "/model.safetensors"}) &&
      !test::run_or_skip(test::script("tests/engine/encoder/bert_numpy_reference.py") + " '" + test::model_cache() +
                         "/all-minilm-l6-v2' '" + out + "'" + test::with_limit(" ")))
    return;
  const test::OrtReference ref = test::read_reference(out);
  auto se = SentenceEncoder::load(fs::path(m->onnx).parent_path().string(), {2, ""});
  REQUIRE_MESSAGE(se.ok(), se.status().message());
  EmbedOptions eo;
  eo.batch = 4;
  eo.max_length = test::token_limit_option();
  auto emb = (*se)->embed(ref.sentences, eo);
  REQUIRE_MESSAGE(emb.ok(), emb.status().message());
  std::vector<size_t> all(ref.sentences.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  check_rows(emb->vectors, ref, all);
}

TEST_CASE("encoder: a graph giving token states is mean-pooled over the mask and normalised in C++") {
  auto m = test::all_minilm_converted();
  if (!m) return;
  auto ref = test::ort_reference(*m);  // the pooled, normalised graph's sentence_embedding
  if (!ref) return;
  const std::string dir = test::ref_dir() + "/all_minilm_tokens";
  const std::string src = test::model_cache() + "/all-minilm-l6-v2";
  if (!test::fresh(dir + "/model.onnx", {RLLM_SOURCE_DIR "/scripts/convert/bert_safetensors_to_onnx.py", src + "/model.safetensors"}) &&
      !test::run_or_skip(test::script("scripts/convert/bert_safetensors_to_onnx.py") + " '" + test::model_cache() +
                         "/all-minilm-l6-v2' '" + dir + "' --pooling none > /dev/null"))
    return;
  auto enc = Encoder::load(dir + "/model.onnx", {2, ""});
  REQUIRE_MESSAGE(enc.ok(), enc.status().message());
  CHECK((*enc)->output_kind() == EncoderOutput::tokens);
  CHECK((*enc)->output_name() == "last_hidden_state");
  CHECK((*enc)->has_token_type_ids());
  auto emb = (*enc)->embed_ids(ref->ids, true);
  REQUIRE_MESSAGE(emb.ok(), emb.status().message());
  std::vector<size_t> all(ref->ids.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  check_rows(*emb, *ref, all);
}

TEST_CASE("encoder: a graph with an op we lack is refused naming the node") {
  const std::string path = test::ref_dir() + "/unknown_op.onnx";
  if (!test::run_or_skip(test::script("tests/engine/encoder/make_bad_graph.py") + " '" + path + "'")) return;
  auto enc = Encoder::load(path, {1, ""});
  REQUIRE_FALSE(enc.ok());
  CHECK(enc.status().message().find(path) != std::string::npos);
  CHECK(enc.status().message().find("/encoder/layer.0/attention/Einsum") != std::string::npos);
  CHECK(enc.status().message().find("Einsum") != std::string::npos);
}
