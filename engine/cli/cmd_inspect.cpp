// run-llm inspect MODEL: what a model file holds, read without running it.
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "engine/cli/commands.h"
#include "engine/model_files.h"
#include "formats/onnx_model.h"
#include "kernels/kernels.h"

namespace rllm::cli {
namespace {

std::string dims_str(const OnnxValueInfo& v) {
  if (!v.has_shape) return "?";
  std::string s = "[";
  for (size_t i = 0; i < v.dims.size(); ++i) {
    if (i) s += ", ";
    s += v.dims[i].value >= 0 ? std::to_string(v.dims[i].value)
                              : (v.dims[i].param.empty() ? "?" : v.dims[i].param);
  }
  return s + "]";
}

void print_values(const char* title, const std::vector<OnnxValueInfo>& vs) {
  std::printf("%s (%zu):\n", title, vs.size());
  for (const auto& v : vs)
    std::printf("  %-40s %-5s %s\n", v.name.c_str(), std::string(dtype_name(v.elem_type)).c_str(),
                dims_str(v).c_str());
}

}  // namespace

int cmd_inspect(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    std::fprintf(stderr, "usage: run-llm inspect MODEL   (a model folder or an .onnx file)\n");
    return 2;
  }
  auto t0 = std::chrono::steady_clock::now();
  auto files = ModelFiles::locate(args[0]);
  if (!files.ok()) return fail(files.status());
  auto model = OnnxModel::load(files->onnx_path, MappedFile::Prefetch::none);
  if (!model.ok()) return fail(model.status());
  double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const OnnxModel& m = *model;

  std::printf("model: %s\n", files->onnx_path.c_str());
  if (files->config)
    std::printf("genai_config: type %s, %lld layers, hidden %lld, heads %lld/%lld kv, head_size %lld, context %lld\n",
                files->config->model_type.c_str(), (long long)files->config->num_hidden_layers,
                (long long)files->config->hidden_size, (long long)files->config->num_attention_heads,
                (long long)files->config->num_key_value_heads, (long long)files->config->head_size,
                (long long)files->config->context_length);
  std::printf("ir_version: %lld, producer: %s %s\n", (long long)m.ir_version, m.producer_name.c_str(),
              m.producer_version.c_str());
  std::printf("opsets:");
  for (const auto& o : m.opsets)
    std::printf(" %s=%lld", o.domain.empty() ? "ai.onnx" : o.domain.c_str(), (long long)o.version);
  std::printf("\n");
  print_values("inputs", m.graph.inputs);
  print_values("outputs", m.graph.outputs);

  std::map<std::string, int> ops;
  std::map<std::string, int> nbits;
  for (const auto& n : m.graph.nodes) {
    ops[(n.domain.empty() ? "ai.onnx" : n.domain) + ":" + n.op_type]++;
    if (n.op_type == "MatMulNBits")
      nbits["bits=" + std::to_string(n.attr_i("bits", 4)) + " block=" +
            std::to_string(n.attr_i("block_size", 0)) + " accuracy_level=" +
            std::to_string(n.attr_i("accuracy_level", 0))]++;
  }
  std::printf("nodes (%zu) by op:\n", m.graph.nodes.size());
  for (const auto& [op, count] : ops) std::printf("  %-50s %d\n", op.c_str(), count);
  if (!nbits.empty()) {
    std::printf("MatMulNBits:\n");
    for (const auto& [k, count] : nbits) std::printf("  %-50s %d\n", k.c_str(), count);
  }

  std::map<std::string, std::pair<int, size_t>> by_dtype;
  size_t total = 0;
  for (const auto& t : m.graph.initializers) {
    auto& e = by_dtype[std::string(dtype_name(t.dtype))];
    e.first++;
    e.second += t.nbytes;
    total += t.nbytes;
  }
  std::printf("initializers (%zu, %zu bytes) by dtype:\n", m.graph.initializers.size(), total);
  for (const auto& [dt, e] : by_dtype) std::printf("  %-6s %6d  %12zu bytes\n", dt.c_str(), e.first, e.second);
  std::printf("external data files (%zu):\n", m.external_files.size());
  for (const auto& [loc, f] : m.external_files) std::printf("  %-40s %12zu bytes\n", loc.c_str(), f->size());
  std::printf("kernels: %s\n", kernels::isa_name(kernels::active_isa()));
  std::printf("load time: %.2f ms\n", load_ms);
  return 0;
}

}  // namespace rllm::cli
