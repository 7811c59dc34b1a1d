// Every input in tests/fuzz/regressions/ once crashed or hung the ONNX reader
// under the fuzzer; read as a model and as a TensorProto, exactly the way
// fuzz_onnx_reader does, each must now end in a clean error.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "formats/onnx_model.h"

using namespace rllm;

namespace {

std::vector<std::filesystem::path> regression_inputs() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(RLLM_FUZZ_REGRESSIONS))
    if (e.is_regular_file() && e.path().filename() != "README.md") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("fuzz regressions: each input is refused with a message, as a model and as a tensor") {
  static const std::vector<uint8_t> external(4096, 0x5a);
  auto resolver = [](const std::string& location) -> Result<std::shared_ptr<const MappedFile>> {
    return MappedFile::borrow(external.data(), external.size(), location);
  };
  auto inputs = regression_inputs();
  REQUIRE(!inputs.empty());
  for (const auto& path : inputs) {
    INFO(path.filename().string());
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    auto model = OnnxModel::load_from_memory(bytes.data(), bytes.size(), "regression.onnx", resolver);
    auto tensor = parse_tensor_proto(MappedFile::borrow(bytes.data(), bytes.size(), "regression.pb"));
    CHECK(!model.ok());
    CHECK(!tensor.ok());
    if (!model.ok()) CHECK(!model.status().message().empty());
    if (!tensor.ok()) CHECK(!tensor.status().message().empty());
  }
}
