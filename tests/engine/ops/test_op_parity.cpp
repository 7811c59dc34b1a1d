// Each op alone against onnxruntime: make_op_cases.py writes one-node graphs
// with their inputs and onnxruntime's outputs; the executor runs the same
// graph and must agree (ints and bools exactly, floats within rounding).
// Where a case also has exact_<i>.pb (u8 x s8 MatMulInteger), that exact int32
// product is the reference on CPUs whose int8 kernel multiplies exactly (NEON,
// VNNI, scalar): onnxruntime on an AVX2 host saturates int16 pairs, as our AVX2
// kernel does, and only that kernel compares with onnxruntime's output_<i>.pb.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "engine/graph/plan.h"
#include "engine/ops/op_util.h"
#include "kernels/kernels.h"

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

// Tolerance: f32 results differ by summation order (a few ulp); f16 results
// are rounded to f16 by both engines, so one f16 ulp (2^-10 relative) apart.
void check_close(const std::string& name, const Tensor& got, const Tensor& want) {
  INFO(name);
  REQUIRE(got.dtype() == want.dtype());
  REQUIRE(got.shape() == want.shape());
  if (!ops::is_float(want.dtype())) {
    CHECK(std::memcmp(got.data(), want.data(), static_cast<size_t>(want.nbytes())) == 0);
    return;
  }
  bool half = want.dtype() == DType::f16;
  auto a = ops::to_f32(got), b = ops::to_f32(want);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  double rel = half ? 2e-3 : 1e-5, abs_tol = half ? 1e-3 : 1e-5;
  int bad = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    float x = a->as<float>()[i], y = b->as<float>()[i];
    if (std::fabs(x - y) > abs_tol + rel * std::fabs(y)) ++bad;
  }
  CHECK_MESSAGE(bad == 0, bad << " of " << want.numel() << " elements differ");
}

// True when MatMulInteger with int8 weights saturates int16 pairs on this CPU.
bool int8_weights_saturate() {
  const int8_t b[4] = {};
  kernels::Int8Weights w{4, 1, b, true, nullptr, false};
  return kernels::int8_saturates(kernels::pack_int8(w), kernels::active_isa());
}

}  // namespace

TEST_CASE("ops: each op alone matches onnxruntime (fp32 and fp16)") {
  fs::path root = fs::path(RLLM_BINARY_DIR) / "op_cases";
  REQUIRE_MESSAGE(fs::is_directory(root), "missing " << root << " (written by the op_cases fixture)");
  ThreadPool pool(2);
  int cases = 0;
  for (const auto& dir : fs::directory_iterator(root)) {
    std::string name = dir.path().filename().string();
    INFO("case " << name);
    auto model = OnnxModel::load((dir.path() / "model.onnx").string());
    REQUIRE_MESSAGE(model.ok(), model.status().message());
    auto plan = Plan::build(model.value(), {}, pool);
    REQUIRE_MESSAGE(plan.ok(), plan.status().message());
    std::unordered_map<std::string, Tensor> inputs;
    for (size_t i = 0; i < model->graph.inputs.size(); ++i)
      inputs[model->graph.inputs[i].name] = read_pb(dir.path() / ("input_" + std::to_string(i) + ".pb"));
    std::vector<std::string> names;
    for (const auto& o : model->graph.outputs) names.push_back(o.name);
    ExecContext ctx;
    ctx.pool = &pool;
    auto out = (*plan)->run(inputs, names, ctx);
    REQUIRE_MESSAGE(out.ok(), out.status().message());
    for (size_t i = 0; i < names.size(); ++i) {
      fs::path exact = dir.path() / ("exact_" + std::to_string(i) + ".pb");
      bool use_exact = fs::exists(exact) && !int8_weights_saturate();
      check_close(name, out.value()[i], read_pb(use_exact ? exact : dir.path() / ("output_" + std::to_string(i) + ".pb")));
    }
    ++cases;
  }
  MESSAGE(cases << " one-op graphs compared with onnxruntime");
  CHECK(cases >= 50);
}
