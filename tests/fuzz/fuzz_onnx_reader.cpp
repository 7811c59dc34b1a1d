// libFuzzer target for the ONNX reader: the input is read as a ModelProto
// (every external-data location resolves to one small fixed buffer) and as a
// standalone TensorProto. Every byte of every tensor view is read, so a view
// past the input or the external buffer trips AddressSanitizer.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "formats/onnx_model.h"

namespace {

using rllm::OnnxGraph;
using rllm::OnnxTensor;

volatile uint8_t g_sink;

void touch(const OnnxTensor& t) {
  uint8_t acc = static_cast<uint8_t>(t.numel());
  for (size_t k = 0; k < t.nbytes; ++k) acc ^= t.data[k];
  for (const auto& s : t.strings) acc ^= static_cast<uint8_t>(s.size());
  g_sink = acc;
}

void touch(const OnnxGraph& g) {
  for (const auto& t : g.initializers) touch(t);
  for (const auto& n : g.nodes) {
    for (const auto& a : n.attributes) {
      for (const auto& t : a.tensors) touch(t);
      for (const auto& sub : a.graphs) touch(*sub);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<uint8_t> external(4096, 0x5a);
  auto resolver = [](const std::string& location)
      -> rllm::Result<std::shared_ptr<const rllm::MappedFile>> {
    return rllm::MappedFile::borrow(external.data(), external.size(), location);
  };
  auto model = rllm::OnnxModel::load_from_memory(data, size, "fuzz.onnx", resolver);
  if (model.ok()) touch(model->graph);

  auto tensor = rllm::parse_tensor_proto(rllm::MappedFile::borrow(data, size, "fuzz.pb"));
  if (tensor.ok()) touch(tensor.value());
  return 0;
}
