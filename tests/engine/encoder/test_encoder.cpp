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
