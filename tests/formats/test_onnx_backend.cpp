// Conformance of the ONNX reader with the `onnx` Python package on every model
// and TensorProto of Debian's libonnx-testdata. The reference is the golden
// file tests/formats/onnx_golden.py writes (ctest fixture onnx_golden); see
// that script for the value hash and the canonical element bytes.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "formats/onnx_model.h"

using namespace rllm;
using nlohmann::json;

namespace {

const std::string kGolden = std::string(RLLM_BINARY_DIR) + "/onnx_golden.json";

// The golden file, or exit 77 (ctest skip) with the reason when the fixture
// could not make one (no onnx package or no data set).
const json& golden() {
  static const json g = [] {
    std::ifstream in(kGolden);
    if (!in) {
      std::printf("SKIP: %s is missing (the onnx_golden fixture needs the venv's onnx and "
                  "libonnx-testdata)\n", kGolden.c_str());
      std::exit(77);
    }
    return json::parse(in);
  }();
  return g;
}

// wordsum64, as in onnx_golden.py.
uint64_t wordsum64(const std::vector<uint8_t>& b) {
  constexpr uint64_t k0 = 0x9E3779B97F4A7C15ull, k1 = 0xC2B2AE3D27D4EB4Full,
                     k2 = 0x165667B19E3779F9ull;
  uint64_t sum = 0;
  for (size_t i = 0; i * 8 < b.size(); ++i) {
    uint64_t w = 0;
    for (size_t k = 0; k < 8 && i * 8 + k < b.size(); ++k) w |= uint64_t{b[i * 8 + k]} << (8 * k);
    sum += (w ^ (i * k1)) * k2;
  }
  return b.size() * k0 + sum;
}

// Canonical element bytes, as in onnx_golden.py.
std::vector<uint8_t> canonical_bytes(const OnnxTensor& t) {
  std::vector<uint8_t> out;
  if (t.dtype == DType::string) {
    for (const auto& s : t.strings) {
      uint64_t n = s.size();
      for (int k = 0; k < 8; ++k) out.push_back(static_cast<uint8_t>(n >> (8 * k)));
      out.insert(out.end(), s.begin(), s.end());
    }
    return out;
  }
  if (t.dtype == DType::u4 || t.dtype == DType::i4) {
    for (int64_t k = 0; k < t.numel(); ++k) {
      uint8_t nib = (t.data[k / 2] >> (4 * (k % 2))) & 0xf;
      if (t.dtype == DType::i4 && (nib & 0x8)) nib |= 0xf0;
      out.push_back(nib);
    }
    return out;
  }
  return std::vector<uint8_t>(t.data, t.data + t.nbytes);
}

std::string hex16(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string hex(const std::string& s) {
  std::string out;
  char buf[3];
  for (unsigned char c : s) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    out += buf;
  }
  return out;
}

uint32_t f32_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// Collects every difference with the place it was found.
struct Diffs {
  std::vector<std::string> list;
  template <typename A, typename B>
  void expect_eq(const std::string& where, const A& got, const B& want) {
    if (!(got == want)) {
      std::ostringstream s;
      s << where << ": reader has " << json(got).dump() << ", onnx has " << json(want).dump();
      list.push_back(s.str());
    }
  }
  void add(std::string s) { list.push_back(std::move(s)); }
  std::string summary() const {
    std::string s = std::to_string(list.size()) + " mismatches";
    // The first 25, or all of them with RLLM_ALL_DIFFS=1 in the environment.
    const size_t shown = std::getenv("RLLM_ALL_DIFFS") ? list.size() : 25;
    for (size_t k = 0; k < list.size() && k < shown; ++k) s += "\n  " + list[k];
    return s;
  }
};

struct Counts {
  int models = 0, models_refused = 0, graphs = 0, nodes = 0, attributes = 0, tensors = 0,
      tensors_refused = 0, non_tensor_files = 0;
  size_t bytes = 0;
};

void compare_tensor(const std::string& where, const OnnxTensor& t, const json& want, Diffs& d,
                    Counts& c) {
  d.expect_eq(where + " name", t.name, want["name"].get<std::string>());
  d.expect_eq(where + " dtype", static_cast<int>(t.dtype), want["dtype"].get<int>());
  d.expect_eq(where + " dims", t.dims, want["dims"].get<std::vector<int64_t>>());
  auto bytes = canonical_bytes(t);
  d.expect_eq(where + " value hash", hex16(wordsum64(bytes)), want["hash"].get<std::string>());
  ++c.tensors;
  c.bytes += bytes.size();
}

void compare_value_infos(const std::string& where, const std::vector<OnnxValueInfo>& got,
                         const json& want, Diffs& d) {
  d.expect_eq(where + " count", got.size(), want.size());
  for (size_t k = 0; k < got.size() && k < want.size(); ++k) {
    const auto& vi = got[k];
    const auto& w = want[k];
    std::string at = where + "[" + std::to_string(k) + "]";
    d.expect_eq(at + " name", vi.name, w["name"].get<std::string>());
    d.expect_eq(at + " elem_type", static_cast<int>(vi.elem_type), w["elem"].get<int>());
    d.expect_eq(at + " has_shape", vi.has_shape, !w["shape"].is_null());
    if (!vi.has_shape || w["shape"].is_null()) continue;
    std::vector<std::pair<int64_t, std::string>> dims;
    for (const auto& dim : vi.dims) dims.emplace_back(dim.value, dim.param);
    d.expect_eq(at + " dims", dims, w["shape"].get<std::vector<std::pair<int64_t, std::string>>>());
  }
}

void compare_graph(const std::string& where, const OnnxGraph& g, const json& want, Diffs& d,
                   Counts& c);

void compare_attribute(const std::string& where, const OnnxAttribute& a, const json& w, Diffs& d,
                       Counts& c) {
  ++c.attributes;
  d.expect_eq(where + " name", a.name, w["name"].get<std::string>());
  d.expect_eq(where + " type", static_cast<int>(a.type), w["type"].get<int>());
  d.expect_eq(where + " i", a.i, w["i"].get<int64_t>());
  d.expect_eq(where + " f", f32_bits(a.f), w["f"].get<uint32_t>());
  d.expect_eq(where + " s", hex(a.s), w["s"].get<std::string>());
  d.expect_eq(where + " ints", a.ints, w["ints"].get<std::vector<int64_t>>());
  std::vector<uint32_t> floats;
  for (float f : a.floats) floats.push_back(f32_bits(f));
  d.expect_eq(where + " floats", floats, w["floats"].get<std::vector<uint32_t>>());
  std::vector<std::string> strings;
  for (const auto& s : a.strings) strings.push_back(hex(s));
  d.expect_eq(where + " strings", strings, w["strings"].get<std::vector<std::string>>());
  d.expect_eq(where + " tensor count", a.tensors.size(), w["tensors"].size());
  for (size_t k = 0; k < a.tensors.size() && k < w["tensors"].size(); ++k)
    compare_tensor(where + " tensor " + std::to_string(k), a.tensors[k], w["tensors"][k], d, c);
  d.expect_eq(where + " graph count", a.graphs.size(), w["graphs"].size());
  for (size_t k = 0; k < a.graphs.size() && k < w["graphs"].size(); ++k)
    compare_graph(where + " graph " + std::to_string(k), *a.graphs[k], w["graphs"][k], d, c);
}

void compare_graph(const std::string& where, const OnnxGraph& g, const json& want, Diffs& d,
                   Counts& c) {
  ++c.graphs;
  d.expect_eq(where + " name", g.name, want["name"].get<std::string>());
  const auto& nodes = want["nodes"];
  d.expect_eq(where + " node count", g.nodes.size(), nodes.size());
  for (size_t k = 0; k < g.nodes.size() && k < nodes.size(); ++k) {
    const auto& n = g.nodes[k];
    const auto& w = nodes[k];
    std::string at = where + " node " + std::to_string(k);
    ++c.nodes;
    d.expect_eq(at + " name", n.name, w["name"].get<std::string>());
    d.expect_eq(at + " op", n.domain + ":" + n.op_type, w["op"].get<std::string>());
    d.expect_eq(at + " inputs", n.inputs, w["inputs"].get<std::vector<std::string>>());
    d.expect_eq(at + " outputs", n.outputs, w["outputs"].get<std::vector<std::string>>());
    d.expect_eq(at + " attribute count", n.attributes.size(), w["attrs"].size());
    for (size_t j = 0; j < n.attributes.size() && j < w["attrs"].size(); ++j)
      compare_attribute(at + " attribute '" + n.attributes[j].name + "'", n.attributes[j],
                        w["attrs"][j], d, c);
  }
  compare_value_infos(where + " inputs", g.inputs, want["inputs"], d);
  compare_value_infos(where + " outputs", g.outputs, want["outputs"], d);
  d.expect_eq(where + " value_info count", g.value_info.size(), want["value_info"].get<size_t>());
  const auto& inits = want["initializers"];
  d.expect_eq(where + " initializer count", g.initializers.size(), inits.size());
  for (size_t k = 0; k < g.initializers.size() && k < inits.size(); ++k)
    compare_tensor(where + " initializer '" + g.initializers[k].name + "'", g.initializers[k],
                   inits[k], d, c);
}

// A refusal the golden file expects: the reader must fail, naming the reason
// when the golden file gives one.
void expect_refusal(const std::string& where, const Status& st, const json& want, Diffs& d) {
  auto reason = want["error"].get<std::string>();
  if (st.ok())
    d.add(where + ": loaded, but onnx says it must be refused (" +
          (reason.empty() ? want.value("reference_error", "") : reason) + ")");
  else if (st.message().find(reason) == std::string::npos)
    d.add(where + ": refused with '" + st.message() + "', expected '" + reason + "'");
}

}  // namespace

TEST_CASE("onnx backend data: every model reads as the onnx package reads it") {
  const json& g = golden();
  Diffs d;
  for (const auto& set : g["sets"]) {
    const std::string root = set["root"].get<std::string>();
    Counts c;
    for (const auto& want : set["models"]) {
      const std::string path = want["path"].get<std::string>();
      auto m = OnnxModel::load(root + "/" + path);
      ++c.models;
      if (want.contains("error")) {
        ++c.models_refused;
        expect_refusal(path, m.ok() ? Status() : m.status(), want, d);
        continue;
      }
      if (!m.ok()) {
        d.add(path + ": " + m.status().message());
        continue;
      }
      d.expect_eq(path + " ir_version", m->ir_version, want["ir_version"].get<int64_t>());
      std::vector<std::pair<std::string, int64_t>> opsets;
      for (const auto& o : m->opsets) opsets.emplace_back(o.domain, o.version);
      d.expect_eq(path + " opsets", opsets,
                  want["opsets"].get<std::vector<std::pair<std::string, int64_t>>>());
      d.expect_eq(path + " producer_name", m->producer_name,
                  want["producer_name"].get<std::string>());
      compare_graph(path + " graph", m->graph, want["graph"], d, c);
    }
    std::printf("%s models: %d compared (%d refused as expected), %d graphs, %d nodes, "
                "%d attributes, %d tensors (%zu value bytes), onnx %s\n",
                set["name"].get<std::string>().c_str(), c.models, c.models_refused, c.graphs,
                c.nodes, c.attributes, c.tensors, c.bytes,
                g["onnx_version"].get<std::string>().c_str());
    CHECK(c.models > 0);
  }
  CHECK(g["sets"][0]["models"].size() > 900);
  CHECK_MESSAGE(d.list.empty(), d.summary());
}

TEST_CASE("onnx backend data: every TensorProto .pb decodes to numpy_helper.to_array's values") {
  const json& g = golden();
  Diffs d;
  for (const auto& set : g["sets"]) {
    const std::string root = set["root"].get<std::string>();
    Counts c;
    for (const auto& want : set["tensors"]) {
      const std::string path = want["path"].get<std::string>();
      auto file = MappedFile::open(root + "/" + path);
      REQUIRE_MESSAGE(file.ok(), file.status().message());
      auto t = parse_tensor_proto(file.value());
      if (want["kind"] != "tensor") {
        // A SequenceProto or OptionalProto: not ours to decode, but reading it
        // as a tensor must end in a value or an error, not a crash.
        ++c.non_tensor_files;
        continue;
      }
      if (want.contains("error")) {
        ++c.tensors_refused;
        expect_refusal(path, t.ok() ? Status() : t.status(), want, d);
        continue;
      }
      if (!t.ok()) {
        d.add(path + ": " + t.status().message());
        continue;
      }
      compare_tensor(path, t.value(), want, d, c);
    }
    std::printf("%s tensors: %d .pb tensors compared (%zu value bytes), %d refused as "
                "expected, %d sequence/optional files read without a crash\n",
                set["name"].get<std::string>().c_str(), c.tensors, c.bytes, c.tensors_refused,
                c.non_tensor_files);
    CHECK(c.tensors > 0);
  }
  CHECK(g["sets"][0]["tensors"].size() > 3000);
  CHECK_MESSAGE(d.list.empty(), d.summary());
}
