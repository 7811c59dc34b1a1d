// GroupQueryAttention alone against onnxruntime, over several steps: make_op_cases.py writes
// one-node graphs (local_window_size, softcap, scale, packed QKV, rotary from the node's cos/sin
// caches in f32 and f16) with the inputs of each step and onnxruntime's output, past/present fed
// back as onnxruntime-genai does. Here the node runs on the paged KV cache (blocks of 4 tokens, so
// the window crosses block edges) with shape-only past inputs, as the engine runs models.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "engine/graph/plan.h"
#include "engine/kv_cache/paged_kv_cache.h"
#include "engine/ops/op_util.h"

using namespace rllm;
namespace fs = std::filesystem;

namespace {

Tensor read_pb(const fs::path& p) {
  auto file = MappedFile::open(p.string());
  REQUIRE_MESSAGE(file.ok(), file.status().message());
  auto t = parse_tensor_proto(file.value());
  REQUIRE_MESSAGE(t.ok(), t.status().message());
  return tensor_of(t.value());
}

// f32: summation order (a few ulp); f16: both engines round to f16, one ulp
// apart. An f16 KV cache rounds every cached key and value to f16 (2^-11
// relative), which the f16 bounds cover.
int count_bad(const Tensor& got, const Tensor& want, DType cache_dtype) {
  auto a = ops::to_f32(got), b = ops::to_f32(want);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  bool half = want.dtype() == DType::f16 || cache_dtype == DType::f16;
  double rel = half ? 2e-3 : 1e-5, abs_tol = half ? 2e-3 : 1e-5;
  int bad = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    float x = a->as<float>()[i], y = b->as<float>()[i];
    if (!(std::fabs(x - y) <= abs_tol + rel * std::fabs(y))) ++bad;
  }
  return bad;
}

void compare_with_onnxruntime(DType cache_dtype) {
  fs::path root = fs::path(RLLM_BINARY_DIR) / "op_cases_attention";
  REQUIRE_MESSAGE(fs::is_directory(root), "missing " << root << " (written by the op_cases fixture)");
  ThreadPool pool(2);
  int cases = 0;
  for (const auto& dir : fs::directory_iterator(root)) {
    std::string name = dir.path().filename().string();
    INFO("case " << name);
    auto model = OnnxModel::load((dir.path() / "model.onnx").string());
    REQUIRE_MESSAGE(model.ok(), model.status().message());
    PlanOptions po;
    po.kv_layer_of = [](const std::string& in) { return in.rfind("past_key_values.0.", 0) == 0 ? 0 : -1; };
    auto plan = Plan::build(model.value(), po, pool);
    REQUIRE_MESSAGE(plan.ok(), plan.status().message());
    KvCacheConfig kc;
    std::vector<std::string> run_inputs, past;
    for (const auto& in : model->graph.inputs) {
      if (in.name.rfind("past_", 0) == 0) {
        past.push_back(in.name);
        kc.kv_heads = static_cast<int>(in.dims[1].value);
        kc.head_dim = static_cast<int>(in.dims[3].value);
      } else {
        run_inputs.push_back(in.name);
      }
    }
    kc.n_layers = 1;
    kc.block_tokens = 4;
    kc.max_context = 64;
    kc.dtype = cache_dtype;
    KvCache cache(kc);
    int seq = cache.new_sequence();
    int steps = 0;
    for (; fs::is_directory(dir.path() / ("step" + std::to_string(steps))); ++steps) {
      fs::path sd = dir.path() / ("step" + std::to_string(steps));
      std::unordered_map<std::string, Tensor> inputs;
      for (size_t i = 0; i < run_inputs.size(); ++i)
        inputs[run_inputs[i]] = read_pb(sd / ("input_" + std::to_string(i) + ".pb"));
      const int64_t S = inputs.at("q").dim(1), n_past = cache.length(seq);
      for (const auto& n : past) inputs[n] = Tensor::view(DType::f32, {1, kc.kv_heads, n_past, kc.head_dim}, nullptr);
      BatchState bs;
      bs.seqs = {seq};
      bs.n_past = {n_past};
      bs.n_new = S;
      REQUIRE(cache.append(seq, S).ok());
      ExecContext ctx;
      ctx.pool = &pool;
      ctx.kv = &cache;
      ctx.batch = &bs;
      auto out = (*plan)->run(inputs, {"y"}, ctx);
      REQUIRE_MESSAGE(out.ok(), out.status().message());
      Tensor want = read_pb(sd / "output_0.pb");
      REQUIRE(out.value()[0].dtype() == want.dtype());
      REQUIRE(out.value()[0].shape() == want.shape());
      int bad = count_bad(out.value()[0], want, cache_dtype);
      CHECK_MESSAGE(bad == 0, "step " << steps << ": " << bad << " of " << want.numel() << " elements differ");
    }
    CHECK(steps >= 3);
    ++cases;
  }
  MESSAGE(cases << " GroupQueryAttention cases compared with onnxruntime");
  CHECK(cases >= 5);
}

}  // namespace

TEST_CASE("ops: GroupQueryAttention on the KV cache matches onnxruntime step by step") {
  compare_with_onnxruntime(DType::f32);
}

// The f16 cache's decode steps run the f16 kernels (kernels/attn_f16.h), its
// prefill widens rows to f32: both against onnxruntime's f32 cache.
TEST_CASE("ops: GroupQueryAttention on an f16 KV cache matches onnxruntime within f16 rounding") {
  compare_with_onnxruntime(DType::f16);
}

TEST_CASE("ops: GroupQueryAttention refuses inputs it would otherwise ignore, naming the node and input") {
  fs::path root = fs::path(RLLM_BINARY_DIR) / "op_cases_attention_refused";
  REQUIRE_MESSAGE(fs::is_directory(root), "missing " << root << " (written by the op_cases fixture)");
  ThreadPool pool(1);
  int cases = 0;
  for (const auto& dir : fs::directory_iterator(root)) {
    std::string input = dir.path().filename().string();
    auto model = OnnxModel::load((dir.path() / "model.onnx").string());
    REQUIRE_MESSAGE(model.ok(), model.status().message());
    PlanOptions po;
    po.kv_layer_of = [](const std::string& in) { return in.rfind("past_key_values.0.", 0) == 0 ? 0 : -1; };
    auto plan = Plan::build(model.value(), po, pool);
    REQUIRE_FALSE(plan.ok());
    const std::string& msg = plan.status().message();
    CHECK_MESSAGE(msg.find("gqa_with_" + input) != std::string::npos, msg);
    CHECK_MESSAGE(msg.find("input " + input + " is not supported") != std::string::npos, msg);
    ++cases;
  }
  CHECK(cases == 2);
}
