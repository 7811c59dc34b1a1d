// Graphs in the standard-op form of optimum / torch.onnx exports (attention as
// MatMul/Softmax/..., KV state as past_key_values.{i} inputs and present.{i}
// outputs) against onnxruntime on the same graph, fed its own present outputs
// as past. run-llm keeps the KV state in its paged cache and gathers each row's
// past into the inputs (left-padded when a batch's rows differ in length), so
// the batched decode steps here are compared with onnxruntime's unpadded
// single-row runs. The models and references are written by the ctest
// fixtures (make_optimum_llama.py, ort_reference.py).
#include <doctest/doctest.h>

#include "engine/generate.h"
#include "engine/parity/parity_check.h"

using namespace rllm;

namespace {

std::string dir(const std::string& sub) { return std::string(RLLM_BINARY_DIR) + "/optimum/" + sub; }

}  // namespace

// Both engines run fp32 with the same op order up to summation inside MatMul:
// 1e-4 of the largest logit, for the prefill and all 32 decode steps.
TEST_CASE("optimum: bare fp32 export (no genai_config.json) equals onnxruntime, batch of 2 lengths") {
  parity::compare(dir("fp32/model.onnx"), dir("fp32.bin"), {1e-4, 33});
}

// fp16 past/present tensors (either cache holds their values exactly) and
// fp16 ops, which both engines compute wider and round to f16 after every op:
// where two results straddle a rounding edge they part by one f16 ulp, and
// ~40 such roundings per layer reach the f16 logits. Those are below 8 here,
// where an f16 ulp is 2^-8: the bound is three ulps of the largest (~5.8),
// 2e-3 relative (measured: 0.6-1.5e-3 per step, no growth over 33 steps).
TEST_CASE("optimum: fp16 export equals onnxruntime, with f32 and f16 paged caches") {
  parity::compare(dir("fp16/model.onnx"), dir("fp16.bin"), {2e-3, 33});
  parity::compare(dir("fp16/model.onnx"), dir("fp16.bin"), {2e-3, 33, DType::f16});
}

// MatMulNBits at accuracy_level 0 dequantizes to f32 in both engines; the
// causal mask goes through Trilu, rotary through Cos/Sin.
TEST_CASE("optimum: MatMulNBits export with renamed past/present (genai_config.json) equals onnxruntime") {
  parity::compare(dir("int4"), dir("int4.bin"), {1e-4, 33});
}

// An f16 cache rounds every K and V to 11 significant bits (relative error
// <= 2^-11 each); through 2 layers that stays inside 5e-3 of the fp32 logits.
TEST_CASE("optimum: fp32 export with an f16 paged cache") {
  parity::compare(dir("fp32/model.onnx"), dir("fp32.bin"), {5e-3, 33, DType::f16});
}

// The generation loop itself (prefill each prompt, then batched greedy decode)
// must pick onnxruntime's greedy tokens, free-running for 33 tokens.
TEST_CASE("optimum: greedy generation of 2 prompts equals onnxruntime's 33 tokens") {
  for (const char* sub : {"fp32/model.onnx", "fp16/model.onnx", "int4"}) {
    INFO(sub);
    std::string name = std::string(sub).substr(0, 4);
    auto rows = parity::read_reference(dir(name + ".bin"));
    ModelOptions mo;
    mo.threads = 2;
    mo.kv_block_tokens = 4;  // the pasts cross several blocks
    auto model = Model::load(dir(sub), mo);
    REQUIRE_MESSAGE(model.ok(), model.status().message());
    KvCache cache((*model)->kv_config());
    std::vector<int> seqs;
    std::vector<std::vector<int32_t>> prompts;
    for (const auto& r : rows) {
      seqs.push_back(cache.new_sequence());
      prompts.push_back(r.prompt);
    }
    GenerateOptions go;
    go.max_new_tokens = static_cast<int>(rows[0].tokens.size());
    auto res = generate(**model, cache, seqs, prompts, go, nullptr, nullptr);
    REQUIRE_MESSAGE(res.ok(), res.status().message());
    for (size_t r = 0; r < rows.size(); ++r) {
      CHECK(res->tokens[r] == rows[r].tokens);
      CHECK(cache.length(seqs[r]) == static_cast<int64_t>(rows[r].prompt.size() + rows[r].tokens.size() - 1));
    }
  }
}

TEST_CASE("optimum: an unsupported op fails at load naming the node, op and domain") {
  auto model = Model::load(dir("bad_op/model.onnx"), {});
  REQUIRE_FALSE(model.ok());
  const std::string& msg = model.status().message();
  CHECK_MESSAGE(msg.find("/model/layers.0/self_attn/Softmax_") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("FancySoftmax") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("com.example") != std::string::npos, msg);
}

TEST_CASE("optimum: a past input without its present output fails at load naming both") {
  auto model = Model::load(dir("no_present/model.onnx"), {});
  REQUIRE_FALSE(model.ok());
  const std::string& msg = model.status().message();
  CHECK_MESSAGE(msg.find("past_key_values.1.value") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("present.1.value") != std::string::npos, msg);
}
