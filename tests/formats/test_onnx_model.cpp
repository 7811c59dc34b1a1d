#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <unistd.h>

#include "formats/onnx_model.h"
#include "proto_builder.h"

using namespace rllm;
using rllm::test::external_entry;
using rllm::test::model_with_initializers;
using rllm::test::Proto;
using rllm::test::tensor_proto;

namespace {

const std::string kTiny = std::string(RLLM_SHARED_MODELS) + "/ortgenai-tiny-random-llama-fp16";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A scratch folder for crafted model files, removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("rllm_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& bytes) const {
    auto p = path / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
    return p.string();
  }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

Result<OnnxModel> load_bytes(const std::string& bytes) {
  return OnnxModel::load_from_memory(bytes.data(), bytes.size(), "crafted.onnx", {});
}

}  // namespace

TEST_CASE("onnx: the ORT GenAI fixture loads with every initializer in its one external file") {
  auto m = OnnxModel::load(kTiny + "/model.onnx");
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  CHECK(m->ir_version == 7);
  CHECK(m->opset("") == 14);
  CHECK(m->opset("com.microsoft") == 1);
  REQUIRE(m->external_files.size() == 1);
  const auto& data = m->external_files.at("model.onnx.data");
  CHECK(data->size() == 2130080);
  size_t external = 0;
  for (const auto& t : m->graph.initializers) {
    if (t.source != OnnxTensor::Source::external) continue;
    ++external;
    // Zero copy: the view points into the one mapping of model.onnx.data.
    CHECK(t.data >= data->data());
    CHECK(t.data + t.nbytes <= data->data() + data->size());
  }
  CHECK(external == 23);
  const auto& emb = m->graph.initializers[0];
  CHECK(emb.name == "model.embed_tokens.weight");
  CHECK(emb.dtype == DType::f16);
  CHECK(emb.dims == std::vector<int64_t>{32000, 16});
  CHECK(emb.data == data->data());
  CHECK(m->graph.inputs[0].name == "input_ids");
  CHECK(m->graph.inputs[0].dims[0].param == "batch_size");
}

TEST_CASE("onnx: truncating the fixture anywhere gives an error naming the file") {
  std::string bytes = read_file(kTiny + "/model.onnx");
  REQUIRE(bytes.size() == 35909);
  std::mt19937 rng(7);
  std::vector<size_t> cuts = {0, 1, 2, 3, 10, bytes.size() - 1};
  for (int i = 0; i < 300; ++i) cuts.push_back(rng() % bytes.size());
  for (size_t cut : cuts) {
    std::string prefix = bytes.substr(0, cut);
    auto m = OnnxModel::load_from_memory(prefix.data(), prefix.size(), "cut.onnx",
                                         [](const std::string&) -> Result<std::shared_ptr<const MappedFile>> {
                                           return Status::error("no external data in this test");
                                         });
    CHECK_MESSAGE(!m.ok(), "cut at " << cut);
    if (!m.ok()) CHECK(m.status().message().rfind("cut.onnx", 0) == 0);
  }
}

TEST_CASE("onnx: corrupted bytes never crash or read out of bounds") {
  std::string bytes = read_file(kTiny + "/model.onnx");
  std::mt19937 rng(11);
  int failed = 0;
  for (int i = 0; i < 400; ++i) {
    std::string b = bytes;
    for (int k = 0; k < 4; ++k) b[rng() % b.size()] = static_cast<char>(rng());
    // Copy into an exact-size heap buffer so ASan sees any overread.
    std::unique_ptr<char[]> exact(new char[b.size()]);
    std::memcpy(exact.get(), b.data(), b.size());
    auto m = OnnxModel::load_from_memory(exact.get(), b.size(), "corrupt.onnx", {});
    if (!m.ok()) {
      ++failed;
      CHECK(!m.status().message().empty());
    }
  }
  // Most random corruptions hit a length, tag or the external-data refusal.
  CHECK(failed > 0);
}

TEST_CASE("onnx: initializer errors name the tensor") {
  SUBCASE("dims whose product overflows") {
    auto t = tensor_proto("huge", 1, {int64_t{1} << 40, int64_t{1} << 40});
    t.bytes(9, "abcd");
    auto m = load_bytes(model_with_initializers({t}));
    REQUIRE_FALSE(m.ok());
    CHECK(m.status().message().find("'huge'") != std::string::npos);
    CHECK(m.status().message().find("overflows") != std::string::npos);
  }
  SUBCASE("raw_data shorter than its shape") {
    auto t = tensor_proto("w", 1, {2, 3});
    t.bytes(9, std::string(20, '\0'));
    auto m = load_bytes(model_with_initializers({t}));
    REQUIRE_FALSE(m.ok());
    CHECK(m.status().message().find("'w': raw_data has 20 bytes, its shape needs 24") !=
          std::string::npos);
  }
  SUBCASE("unknown data type") {
    auto t = tensor_proto("odd", 99, {1});
    auto m = load_bytes(model_with_initializers({t}));
    REQUIRE_FALSE(m.ok());
    CHECK(m.status().message().find("'odd': unsupported data_type 99") != std::string::npos);
  }
  SUBCASE("typed data of the wrong count") {
    auto t = tensor_proto("ints", 7, {3});
    t.packed(7, {1, 2});
    auto m = load_bytes(model_with_initializers({t}));
    REQUIRE_FALSE(m.ok());
    CHECK(m.status().message().find("'ints': typed data holds 16 bytes, its shape needs 24") !=
          std::string::npos);
  }
}

TEST_CASE("onnx: typed fields decode to the element bytes") {
  auto t = tensor_proto("i64", 7, {3});
  t.packed(7, {5, -1, 1ll << 40});
  auto h = tensor_proto("f16", 10, {2});
  h.packed(5, {0x3c00, 0xc000});
  auto m = load_bytes(model_with_initializers({t, h}));
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  const auto& a = m->graph.initializers[0];
  std::vector<int64_t> v(3);
  std::memcpy(v.data(), a.data, 24);
  CHECK(v == std::vector<int64_t>{5, -1, 1ll << 40});
  const auto& b = m->graph.initializers[1];
  uint16_t hv[2];
  std::memcpy(hv, b.data, 4);
  CHECK(hv[0] == 0x3c00);
  CHECK(hv[1] == 0xc000);
}

TEST_CASE("onnx: external data is checked and confined to the model folder") {
  TempDir dir;
  auto ext = [](const std::string& name, std::vector<Proto> entries) {
    auto t = tensor_proto(name, 1, {4});
    for (auto& e : entries) t.msg(13, e);
    t.varint(14, 1);
    return t;
  };
  dir.write("w.bin", std::string(32, '\x01'));

  SUBCASE("a good reference maps the file once for every tensor") {
    auto path = dir.write("m.onnx", model_with_initializers(
        {ext("a", {external_entry("location", "w.bin"), external_entry("offset", "0")}),
         ext("b", {external_entry("location", "w.bin"), external_entry("offset", "16"),
                   external_entry("length", "16")})}));
    auto m = OnnxModel::load(path);
    REQUIRE_MESSAGE(m.ok(), m.status().message());
    CHECK(m->external_files.size() == 1);
    CHECK(m->graph.initializers[1].data == m->graph.initializers[0].data + 16);
  }
  SUBCASE("missing file") {
    auto path = dir.write("m.onnx", model_with_initializers({ext("a", {external_entry("location", "nope.bin")})}));
    auto m = OnnxModel::load(path);
    REQUIRE_FALSE(m.ok());
    CHECK(m.status().message().find("tensor 'a': external data:") != std::string::npos);
    CHECK(m.status().message().find("nope.bin: cannot open") != std::string::npos);
  }
  SUBCASE("too short") {
    auto path = dir.write("m.onnx", model_with_initializers(
        {ext("a", {external_entry("location", "w.bin"), external_entry("offset", "24")})}));
    auto m = OnnxModel::load(path);
    REQUIRE_FALSE(m.ok());
    CHECK(m.status().message().find("runs past the end of 'w.bin' (32 bytes)") != std::string::npos);
  }
  SUBCASE("an offset that overflows") {
    auto path = dir.write("m.onnx", model_with_initializers(
        {ext("a", {external_entry("location", "w.bin"), external_entry("offset", "18446744073709551615")})}));
    auto m = OnnxModel::load(path);
    REQUIRE_FALSE(m.ok());
    CHECK(m.status().message().find("tensor 'a'") != std::string::npos);
  }
  SUBCASE("escaping the folder") {
    for (std::string loc : {"../w.bin", "sub/../../w.bin", "/etc/passwd"}) {
      auto path = dir.write("m.onnx", model_with_initializers({ext("a", {external_entry("location", loc)})}));
      auto m = OnnxModel::load(path);
      REQUIRE_FALSE(m.ok());
      bool named = m.status().message().find("leaves the model folder") != std::string::npos ||
                   m.status().message().find("is absolute") != std::string::npos;
      CHECK_MESSAGE(named, m.status().message());
    }
  }
  SUBCASE("length disagreeing with the shape") {
    auto path = dir.write("m.onnx", model_with_initializers(
        {ext("a", {external_entry("location", "w.bin"), external_entry("length", "8")})}));
    auto m = OnnxModel::load(path);
    REQUIRE_FALSE(m.ok());
    CHECK(m.status().message().find("external data length 8 does not match its shape (16 bytes)") !=
          std::string::npos);
  }
}

TEST_CASE("onnx: files that are not ONNX models are refused clearly") {
  TempDir dir;
  auto text = OnnxModel::load(dir.write("readme.onnx", "This is plain text, not a model.\n"));
  REQUIRE_FALSE(text.ok());
  CHECK(text.status().message().find("readme.onnx") != std::string::npos);
  auto empty = OnnxModel::load(dir.write("empty.onnx", ""));
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.status().message().find("no graph") != std::string::npos);
  auto missing = OnnxModel::load((dir.path / "absent.onnx").string());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("absent.onnx: cannot open") != std::string::npos);
  auto folder = OnnxModel::load(dir.path.string());
  REQUIRE_FALSE(folder.ok());
  CHECK(folder.status().message().find("not a regular file") != std::string::npos);
}

TEST_CASE("onnx: deeply nested graph attributes are refused, not recursed into") {
  Proto g;
  g.bytes(2, "leaf");
  for (int i = 0; i < 100; ++i) {
    Proto attr;
    attr.bytes(1, "body").varint(20, 5).msg(6, g);
    Proto node;
    node.bytes(4, "Loop").msg(5, attr);
    Proto outer;
    outer.msg(1, node);
    g = outer;
  }
  Proto opset;
  opset.bytes(1, "").varint(2, 17);
  Proto model;
  model.varint(1, 8).msg(7, g).msg(8, opset);
  auto m = load_bytes(model.str());
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().message().find("nested deeper") != std::string::npos);
}

TEST_CASE("Result: status() of a value is ok, of an error the error") {
  Result<std::string> value(std::string("w"));
  CHECK(value.status().ok());
  Result<int> error(Status::error("no such tensor 'w'"));
  CHECK(!error.status().ok());
  CHECK(error.status().message() == "no such tensor 'w'");
}
