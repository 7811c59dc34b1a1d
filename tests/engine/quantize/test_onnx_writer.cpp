// formats/onnx_writer: written models read back identically with our reader,
// pass onnx.checker and run in onnxruntime to numpy's numbers
// (check_written.py), and a real GenAI model survives a rewrite bit for bit.
#include <doctest/doctest.h>

#include <cstring>
#include <memory>

#include "engine/model.h"
#include "formats/onnx_model.h"
#include "formats/onnx_writer.h"
#include "quant_test_util.h"

using namespace rllm;
using rllm::test::quoted;
using rllm::test::ScratchDir;

namespace {

// Values exact in f32, reproduced by check_written.py: ((i*37 + seed*11) % 101 - 50) / 64.
OnnxTensor pattern_tensor(const std::string& name, std::vector<int64_t> dims, int seed) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  auto buf = std::make_shared<std::vector<float>>(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) (*buf)[static_cast<size_t>(i)] = static_cast<float>((i * 37 + seed * 11) % 101 - 50) / 64.0f;
  OnnxTensor t;
  t.name = name;
  t.dtype = DType::f32;
  t.dims = std::move(dims);
  t.data = reinterpret_cast<const uint8_t*>(buf->data());
  t.nbytes = buf->size() * sizeof(float);
  t.owner = buf;
  return t;
}

OnnxValueInfo value(const std::string& name, DType t, std::vector<OnnxDim> dims) {
  OnnxValueInfo v;
  v.name = name;
  v.elem_type = t;
  v.has_shape = true;
  v.dims = std::move(dims);
  return v;
}

OnnxNode node(const std::string& name, const std::string& op, std::vector<std::string> in,
              std::vector<std::string> out, std::vector<OnnxAttribute> attrs = {}) {
  OnnxNode n;
  n.name = name;
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attributes = std::move(attrs);
  return n;
}

OnnxAttribute attr_i(const std::string& name, int64_t v) {
  OnnxAttribute a;
  a.name = name;
  a.type = AttrType::i;
  a.i = v;
  return a;
}

OnnxAttribute attr_f(const std::string& name, float v) {
  OnnxAttribute a;
  a.name = name;
  a.type = AttrType::f;
  a.f = v;
  return a;
}

// X [batch, 32] -> MatMul W1 [32, 48] -> Gemm(G [48, 48]ᵀ, bias) -> MatMul Transpose(E [40, 48])
// -> logits [batch, 40]; Gather(E, ids) · Relu(W2 [48, 16]) * 2 -> y [batch, 16].
OnnxModel test_model() {
  OnnxModel m;
  m.ir_version = 8;
  m.opsets = {{"", 17}};
  m.producer_name = "rllm-test";
  m.producer_version = "1";
  m.metadata = {{"purpose", "writer round trip"}};
  OnnxGraph& g = m.graph;
  g.name = "writer_test";
  const OnnxDim batch{-1, "batch"};
  g.inputs = {value("X", DType::f32, {batch, {32, ""}}), value("ids", DType::i64, {batch})};
  g.outputs = {value("logits", DType::f32, {batch, {40, ""}}), value("y", DType::f32, {batch, {16, ""}})};
  g.value_info = {value("Y1", DType::f32, {batch, {48, ""}})};
  g.initializers = {pattern_tensor("W1", {32, 48}, 1), pattern_tensor("G", {48, 48}, 2),
                    pattern_tensor("bias", {48}, 3), pattern_tensor("E", {40, 48}, 4),
                    pattern_tensor("W2", {48, 16}, 5)};
  OnnxAttribute perm;
  perm.name = "perm";
  perm.type = AttrType::ints;
  perm.ints = {1, 0};
  OnnxAttribute value_attr;
  value_attr.name = "value";
  value_attr.type = AttrType::tensor;
  value_attr.tensors = {pattern_tensor("two", {}, 0)};
  auto two = std::make_shared<float>(2.0f);
  value_attr.tensors[0].data = reinterpret_cast<const uint8_t*>(two.get());
  value_attr.tensors[0].owner = two;
  g.nodes = {
      node("mm1", "MatMul", {"X", "W1"}, {"Y1"}),
      node("gemm", "Gemm", {"Y1", "G", "bias"}, {"Y2"}, {attr_f("alpha", 1.0f), attr_f("beta", 1.0f), attr_i("transB", 1)}),
      node("tr", "Transpose", {"E"}, {"Et"}, {perm}),
      node("lm_head", "MatMul", {"Y2", "Et"}, {"logits"}),
      node("gather", "Gather", {"E", "ids"}, {"emb"}, {attr_i("axis", 0)}),
      node("relu", "Relu", {"W2"}, {"D"}),
      node("mm_dyn", "MatMul", {"emb", "D"}, {"Y4"}),
      node("const", "Constant", {}, {"c"}, {value_attr}),
      node("mul", "Mul", {"Y4", "c"}, {"y"}),
  };
  return m;
}

void check_same_tensor(const OnnxTensor& a, const OnnxTensor& b) {
  INFO("tensor " << a.name);
  CHECK(a.name == b.name);
  CHECK(a.dtype == b.dtype);
  CHECK(a.dims == b.dims);
  REQUIRE(a.nbytes == b.nbytes);
  if (a.nbytes > 0) CHECK(std::memcmp(a.data, b.data, a.nbytes) == 0);  // string tensors hold no bytes
  CHECK(a.strings == b.strings);
}

void check_same_graph(const OnnxGraph& a, const OnnxGraph& b) {
  CHECK(a.name == b.name);
  REQUIRE(a.nodes.size() == b.nodes.size());
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const OnnxNode &x = a.nodes[i], &y = b.nodes[i];
    INFO(x.describe());
    CHECK(x.name == y.name);
    CHECK(x.op_type == y.op_type);
    CHECK(x.domain == y.domain);
    CHECK(x.inputs == y.inputs);
    CHECK(x.outputs == y.outputs);
    REQUIRE(x.attributes.size() == y.attributes.size());
    for (size_t k = 0; k < x.attributes.size(); ++k) {
      const OnnxAttribute &p = x.attributes[k], &q = y.attributes[k];
      CHECK(p.name == q.name);
      CHECK(p.type == q.type);
      CHECK(p.f == q.f);
      CHECK(p.i == q.i);
      CHECK(p.s == q.s);
      CHECK(p.floats == q.floats);
      CHECK(p.ints == q.ints);
      CHECK(p.strings == q.strings);
      REQUIRE(p.tensors.size() == q.tensors.size());
      for (size_t t = 0; t < p.tensors.size(); ++t) check_same_tensor(p.tensors[t], q.tensors[t]);
      REQUIRE(p.graphs.size() == q.graphs.size());
      for (size_t t = 0; t < p.graphs.size(); ++t) check_same_graph(*p.graphs[t], *q.graphs[t]);
    }
  }
  REQUIRE(a.initializers.size() == b.initializers.size());
  for (size_t i = 0; i < a.initializers.size(); ++i) check_same_tensor(a.initializers[i], b.initializers[i]);
  auto same_values = [](const std::vector<OnnxValueInfo>& p, const std::vector<OnnxValueInfo>& q) {
    REQUIRE(p.size() == q.size());
    for (size_t i = 0; i < p.size(); ++i) {
      INFO("value " << p[i].name);
      CHECK(p[i].name == q[i].name);
      CHECK(p[i].elem_type == q[i].elem_type);
      CHECK(p[i].has_shape == q[i].has_shape);
      REQUIRE(p[i].dims.size() == q[i].dims.size());
      for (size_t d = 0; d < p[i].dims.size(); ++d) {
        CHECK(p[i].dims[d].value == q[i].dims[d].value);
        CHECK(p[i].dims[d].param == q[i].dims[d].param);
      }
    }
  };
  same_values(a.inputs, b.inputs);
  same_values(a.outputs, b.outputs);
  same_values(a.value_info, b.value_info);
}

void check_same_model(const OnnxModel& a, const OnnxModel& b) {
  CHECK(a.ir_version == b.ir_version);
  REQUIRE(a.opsets.size() == b.opsets.size());
  for (size_t i = 0; i < a.opsets.size(); ++i) {
    CHECK(a.opsets[i].domain == b.opsets[i].domain);
    CHECK(a.opsets[i].version == b.opsets[i].version);
  }
  CHECK(a.producer_name == b.producer_name);
  CHECK(a.producer_version == b.producer_version);
  CHECK(a.metadata == b.metadata);
  check_same_graph(a.graph, b.graph);
}

}  // namespace

TEST_CASE("onnx writer: a written model reads back field for field, large tensors external and 64-byte aligned") {
  ScratchDir dir("writer");
  OnnxModel m = test_model();
  REQUIRE(write_onnx_model(m, dir / "model.onnx").ok());
  auto back = OnnxModel::load(dir / "model.onnx");
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  check_same_model(m, *back);
  for (const auto& t : back->graph.initializers) {
    INFO(t.name);
    CHECK((t.source == OnnxTensor::Source::external) == (t.nbytes > 1024));
    if (t.source != OnnxTensor::Source::external) continue;
    CHECK(t.external_file == "model.onnx.data");
    const auto& f = back->external_files.at(t.external_file);
    CHECK((t.data - f->data()) % 64 == 0);
  }
  CHECK_FALSE(std::filesystem::exists(dir / "model.onnx.tmp"));
  CHECK_FALSE(std::filesystem::exists(dir / "model.onnx.data.tmp"));
}

TEST_CASE("onnx writer: onnx.checker accepts the written model and onnxruntime runs it to numpy's outputs") {
  ScratchDir dir("writer_ort");
  REQUIRE(write_onnx_model(test_model(), dir / "model.onnx").ok());
  auto r = test::run(std::string(RLLM_PYTHON) + " " + quoted(std::string(RLLM_SOURCE_DIR) +
                     "/tests/engine/quantize/check_written.py") + " " + quoted(dir / "model.onnx"), dir);
  if (r.code == test::kPythonSkip) {
    MESSAGE("skipped: " << r.out);
    return;
  }
  INFO(r.out << r.err);
  CHECK(r.code == 0);
}

TEST_CASE("onnx writer: attributes of every kind, subgraphs and string tensors round-trip") {
  ScratchDir dir("writer_attrs");
  OnnxModel m = test_model();
  m.opsets.push_back({"test.domain", 3});
  auto sub = std::make_shared<OnnxGraph>();
  sub->name = "body";
  sub->nodes = {node("inner", "Identity", {"c"}, {"out"})};
  sub->initializers = {pattern_tensor("sub_w", {600}, 9)};  // > inline limit: goes external too
  sub->outputs = {value("out", DType::f32, {})};
  OnnxAttribute floats, strings, graph, tensors, s;
  floats.name = "fs";
  floats.type = AttrType::floats;
  floats.floats = {0.5f, -1.25f, 3e-8f};
  strings.name = "ss";
  strings.type = AttrType::strings;
  strings.strings = {"a", "", "long string"};
  graph.name = "g";
  graph.type = AttrType::graph;
  graph.graphs = {sub};
  tensors.name = "ts";
  tensors.type = AttrType::tensors;
  OnnxTensor str;
  str.name = "names";
  str.dtype = DType::string;
  str.dims = {2};
  str.strings = {"x", "yz"};
  tensors.tensors = {pattern_tensor("t0", {3}, 1), str};
  s.name = "mode";
  s.type = AttrType::s;
  s.s = "linear";
  OnnxNode custom = node("custom", "Custom", {"X", ""}, {"z"}, {floats, strings, graph, tensors, s, attr_i("neg", -7)});
  custom.domain = "test.domain";
  m.graph.nodes.push_back(custom);
  REQUIRE(write_onnx_model(m, dir / "model.onnx", {"weights.bin", 256, 128}).ok());
  auto back = OnnxModel::load(dir / "model.onnx");
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  check_same_model(m, *back);
  for (const auto& t : back->graph.initializers)
    if (t.source == OnnxTensor::Source::external)
      CHECK((t.data - back->external_files.at("weights.bin")->data()) % 128 == 0);
}

TEST_CASE("onnx writer: stories260K-fp32 rewritten gives the same graph and the same logits") {
  const std::string src = std::string(RLLM_BINARY_DIR) + "/models/stories260K-fp32";
  if (!std::filesystem::exists(src + "/model.onnx")) {
    MESSAGE("skipped: " << src << " missing (scripts/convert/make_test_models.sh " << RLLM_BINARY_DIR << "/models)");
    return;
  }
  ScratchDir dir("writer_stories");
  auto m = OnnxModel::load(src + "/model.onnx");
  REQUIRE(m.ok());
  REQUIRE(write_onnx_model(*m, dir / "model.onnx").ok());
  for (const char* f : {"genai_config.json", "tokenizer.json", "tokenizer_config.json"})
    std::filesystem::copy_file(src + "/" + f, dir / f);
  auto back = OnnxModel::load(dir / "model.onnx");
  REQUIRE(back.ok());
  check_same_model(*m, *back);

  ModelOptions mo;
  mo.threads = 1;
  auto a = Model::load(src, mo);
  auto b = Model::load(dir.path.string(), mo);
  REQUIRE(a.ok());
  REQUIRE_MESSAGE(b.ok(), b.status().message());
  const std::vector<int32_t> ids = {1, 403, 407, 261, 378, 280};
  KvCache ca((*a)->kv_config()), cb((*b)->kv_config());
  auto la = (*a)->forward(ca, {ca.new_sequence()}, {ids});
  auto lb = (*b)->forward(cb, {cb.new_sequence()}, {ids});
  REQUIRE(la.ok());
  REQUIRE(lb.ok());
  REQUIRE(la->numel() == lb->numel());
  CHECK(std::memcmp(la->as<float>(), lb->as<float>(), static_cast<size_t>(la->numel()) * 4) == 0);
}
