// The load-time rewrites of engine/graph/encoder_fusion.cpp on the graphs of
// make_op_cases.py (fusion_*): each pattern becomes its single op, and is left
// alone when an intermediate has another reader. That the fused graph still
// equals onnxruntime's output on these graphs is test_op_parity's check (the
// Plan applies the rewrite); the real encoders are compared end to end in
// tests/engine/encoder and tests/engine/int8.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "engine/graph/encoder_fusion.h"

using namespace rllm;

namespace {

OnnxModel load_case(const std::string& name) {
  const auto path = std::filesystem::path(RLLM_BINARY_DIR) / "op_cases" / name / "model.onnx";
  auto m = OnnxModel::load(path.string());
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  return std::move(m).value();
}

size_t count(const OnnxGraph& g, const std::string& op) {
  return size_t(std::count_if(g.nodes.begin(), g.nodes.end(), [&](const OnnxNode& n) { return n.op_type == op; }));
}

}  // namespace

TEST_CASE("encoder fusion: x * 0.5 * (1 + erf(x / sqrt 2)), both spellings, becomes one Gelu") {
  for (const char* name : {"fusion_gelu_erf_f32", "fusion_gelu_half_first_f32"}) {
    INFO(name);
    OnnxModel m = load_case(name);
    auto fused = fuse_encoder_patterns(m);
    REQUIRE(fused != nullptr);
    CHECK(fused->graph.nodes.size() == 1);
    CHECK(count(fused->graph, "Gelu") == 1);
    CHECK(fused->graph.nodes[0].domain == "com.microsoft");
    CHECK(fused->graph.nodes[0].inputs == std::vector<std::string>{"x"});
    CHECK(fused->graph.nodes[0].outputs == std::vector<std::string>{"y0"});
  }
}

TEST_CASE("encoder fusion: the attention chain becomes one EncoderSelfAttention on q, k, v [B, S, H, D]") {
  OnnxModel m = load_case("fusion_attention_f32");
  auto fused = fuse_encoder_patterns(m);
  REQUIRE(fused != nullptr);
  REQUIRE(fused->graph.nodes.size() == 1);
  const OnnxNode& n = fused->graph.nodes[0];
  CHECK(n.op_type == "EncoderSelfAttention");
  CHECK(n.domain == kRunLlmDomain);
  CHECK(n.inputs == std::vector<std::string>{"q", "k", "v", "c", "mask"});
  CHECK(n.outputs == std::vector<std::string>{"y0"});
}

TEST_CASE("encoder fusion: an attention whose probabilities are also a graph output is left alone") {
  OnnxModel m = load_case("fusion_attention_probs_read_f32");
  CHECK(fuse_encoder_patterns(m) == nullptr);
}
