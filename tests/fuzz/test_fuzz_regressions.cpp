// Inputs that once crashed, hung or exhausted a parser of untrusted files (found by
// the fuzzers or by review; tests/fuzz/regressions/README.md says which). Each must now
// end in a clean error: the ONNX inputs at the top level read as a model and as a
// TensorProto, exactly the way fuzz_onnx_reader does; the chat templates in
// chat_template/ with the message their leading {# expect: ... #} comment names.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/tokenizer/chat_template.h"
#include "formats/onnx_model.h"

using namespace rllm;

namespace {

std::vector<std::filesystem::path> regression_inputs(const std::string& dir = RLLM_FUZZ_REGRESSIONS) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename() != "README.md") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

const rllm::ChatMessage kMessages[] = {{"system", "Be brief."}, {"user", "Hi"}};

std::string render(const std::string& source) {
  auto out = render_chat_template(source, kMessages, true, "<s>", "</s>");
  return out.ok() ? out.value() : "error: " + out.status().message();
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
    const std::string bytes = read_bytes(path);
    auto model = OnnxModel::load_from_memory(bytes.data(), bytes.size(), "regression.onnx", resolver);
    auto tensor = parse_tensor_proto(MappedFile::borrow(bytes.data(), bytes.size(), "regression.pb"));
    CHECK(!model.ok());
    CHECK(!tensor.ok());
    if (!model.ok()) CHECK(!model.status().message().empty());
    if (!tensor.ok()) CHECK(!tensor.status().message().empty());
  }
}

TEST_CASE("fuzz regressions: each chat template is refused with the message its comment names") {
  auto inputs = regression_inputs(std::string(RLLM_FUZZ_REGRESSIONS) + "/chat_template");
  REQUIRE(!inputs.empty());
  for (const auto& path : inputs) {
    INFO(path.filename().string());
    const std::string source = read_bytes(path);
    const std::string tag = "{# expect: ";
    REQUIRE(source.starts_with(tag));
    const std::string expected = source.substr(tag.size(), source.find(" #}") - tag.size());
    auto out = render_chat_template(source, kMessages, true, "<s>", "</s>");
    REQUIRE(!out.ok());
    CHECK(out.status().message().find(expected) != std::string::npos);
    INFO(out.status().message());
  }
}

// The arithmetic and slicing the fixes above made safe still give the answers of
// Jinja2 3.x's ImmutableSandboxedEnvironment (what transformers renders with).
TEST_CASE("fuzz regressions: guarded integer, slice and float formatting keep Python's results") {
  CHECK(render("{{ -7 // 2 }} {{ -7 % 2 }} {{ 7 % -2 }} {{ 7 // -1 }} {{ 2 ** 62 }} {{ -2 ** 2 }}") ==
        "-4 1 -1 -7 4611686018427387904 4");
  CHECK(render("{{ 'abc'[::9223372036854775807] }} {{ 'abc'[::-9223372036854775807] }} {{ 'abcdef'[1::2] }}") ==
        "a c bdf");
  CHECK(render("{{ range(0, 10, 4)|list }} {{ range(10, 0, -4)|list }} {{ range(3, 3)|list }}") ==
        "[0, 4, 8] [10, 6, 2] []");
  CHECK(render("{{ 'a\nb'|indent(-1) }}") == "a\nb");
  CHECK(render("{{ 0." + std::string(323, '0') + "5 }}") == "5e-324");  // the smallest denormal
  CHECK(render("{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}") == "3");
}
