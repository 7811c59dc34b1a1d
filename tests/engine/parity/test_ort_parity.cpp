// run-llm against onnxruntime on the same model folder: last-position logits
// after prefill and after each decode step, with onnxruntime's greedy tokens
// fed to both (teacher forcing), and the greedy choice at every step. The
// reference files are written by ort_reference.py (ctest fixtures).
#include <doctest/doctest.h>

#include <filesystem>

#include "parity_check.h"

using namespace rllm;
using rllm::parity::compare;

TEST_CASE("parity: ORT GenAI builder fp16 fixture (MultiHeadAttention, RotaryEmbedding), batch of 2 lengths") {
  compare(std::string(RLLM_SHARED_MODELS) + "/ortgenai-tiny-random-llama-fp16",
          std::string(RLLM_BINARY_DIR) + "/parity/tiny_fp16.bin", {1e-3, 9});
}

// onnxruntime keeps an fp16 model's KV cache in fp16: an f16 paged cache holds
// exactly those values, so the bound stays that of the f32 cache.
TEST_CASE("parity: ORT GenAI builder fp16 fixture with an f16 KV cache") {
  compare(std::string(RLLM_SHARED_MODELS) + "/ortgenai-tiny-random-llama-fp16",
          std::string(RLLM_BINARY_DIR) + "/parity/tiny_fp16.bin", {1e-3, 9, DType::f16});
}

// The fixture's embedding table model.embed_tokens.weight [32000, 16] fp16 feeds
// only its Gather: a decoded token reads one row of it, so the bytes per token
// are the external data file (every initializer) less the table.
TEST_CASE("load stats: a decoded token's weight bytes leave out an embedding table only looked up") {
  const std::string dir = std::string(RLLM_SHARED_MODELS) + "/ortgenai-tiny-random-llama-fp16";
  auto m = Model::load(dir, ModelOptions{});
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  CHECK((*m)->load_stats().decode_weight_bytes == std::filesystem::file_size(dir + "/model.onnx.data") - 32000 * 16 * 2);
}

TEST_CASE("parity: stories260K fp32 (GroupQueryAttention, plain MatMul)") {
  compare(std::string(RLLM_BINARY_DIR) + "/models/stories260K-fp32",
          std::string(RLLM_BINARY_DIR) + "/parity/stories_fp32.bin", {1e-4, 33});
}

// An f16 cache under an fp32 model rounds every K and V to 11 significant
// bits (relative error <= 2^-11 ~ 4.9e-4 each); through the softmax-weighted
// sums of 4 layers that stays well inside 5e-3 of fp32 onnxruntime's logits.
TEST_CASE("parity: stories260K fp32 with an f16 KV cache") {
  compare(std::string(RLLM_BINARY_DIR) + "/models/stories260K-fp32",
          std::string(RLLM_BINARY_DIR) + "/parity/stories_fp32.bin", {5e-3, 33, DType::f16});
}

// bf16 weights widened by Cast (onnxruntime folds each Cast to fp32 weights at
// load): run-llm packs them in bf16 and widens in registers, which is exact, so
// the products are fp32's and the bound is the fp32 folder's. The packed
// weights take half the bytes of the fp32 folder's.
TEST_CASE("parity: stories260K bf16 weights (Cast-widened MatMul and Gather)") {
  compare(std::string(RLLM_BINARY_DIR) + "/models/stories260K-bf16",
          std::string(RLLM_BINARY_DIR) + "/parity/stories_bf16.bin", {1e-4, 33});
  ModelOptions mo;
  auto bf16 = Model::load(std::string(RLLM_BINARY_DIR) + "/models/stories260K-bf16", mo);
  auto fp32 = Model::load(std::string(RLLM_BINARY_DIR) + "/models/stories260K-fp32", mo);
  REQUIRE(bf16.ok());
  REQUIRE(fp32.ok());
  CHECK((*fp32)->load_stats().repacked_bytes > 0);
  CHECK((*bf16)->load_stats().repacked_bytes * 2 == (*fp32)->load_stats().repacked_bytes);
}

// accuracy_level 4 quantizes activations to int8 per block of K on the fly in
// both engines, and their int8 paths round and accumulate differently. The
// yardstick is onnxruntime against itself: the same graph run at accuracy_level
// 0 moves its logits by 0.8-1.7% (stories260K int8, 13 steps) and 2.2-6.9%
// (SmolLM2 int4, 9 steps) relative (measured with ort_reference.py on a copy
// whose accuracy_level attributes are set to 0). The bounds below sit inside
// that spread; greedy picks may differ only at near-ties.
TEST_CASE("parity: stories260K int8 and int4 (MatMulNBits, GatherBlockQuantized)") {
  compare(std::string(RLLM_BINARY_DIR) + "/models/stories260K-int8",
          std::string(RLLM_BINARY_DIR) + "/parity/stories_int8.bin", {2.5e-2, 33});
  compare(std::string(RLLM_BINARY_DIR) + "/models/stories260K-int4",
          std::string(RLLM_BINARY_DIR) + "/parity/stories_int4.bin", {2.5e-2, 33});
}

// SmolLM2's 30 layers amplify a one-step flip of an activation's int8
// rounding: the same kernels give a worst step of 0.028 (AVX2, -O3), 0.031
// (scalar) and 0.051 (AVX2 under -O2 with sanitizers, and NEON), so the bound
// is the top of onnxruntime's own level-0-vs-level-4 spread (6.9%), not 5%.
TEST_CASE("parity: genuine builder output SmolLM2-135M int4 (accuracy_level 4)") {
  compare(std::string(RLLM_SHARED_MODELS) + "/smollm2-135m-instruct-int4-ortgenai",
          std::string(RLLM_BINARY_DIR) + "/parity/smollm2_int4.bin", {7e-2, 9});
}

