// run-llm quantize IN OUT --bits 4|8 ...: MatMul/Gemm weights to MatMulNBits
// (or, with --dynamic, onnxruntime quantize_dynamic's int8 form; with --fp16,
// weights stored as f16), with the error each tensor takes.
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>

#include "engine/cli/args.h"
#include "engine/cli/commands.h"
#include "engine/model_files.h"
#include "engine/quantize/block_quant.h"
#include "engine/quantize/quantize_model.h"
#include "formats/onnx_model.h"
#include "formats/onnx_writer.h"

namespace rllm::cli {
namespace {

namespace fs = std::filesystem;

const char* kUsage =
    "usage: run-llm quantize IN OUT --bits 4|8 [options]\n"
    "       run-llm quantize IN OUT --dynamic [--keep PATTERN]\n"
    "       run-llm quantize IN OUT --fp16\n"
    "  IN, OUT            model folders (other files of IN are copied) or .onnx files\n"
    "  --bits 4|8         MatMulNBits bit width\n"
    "  --block N          block size along K, a power of two in 16..256 (default 32)\n"
    "  --asym             asymmetric blocks with uint8 zero points (default: symmetric)\n"
    "  --accuracy-level L MatMulNBits accuracy_level attribute (4: int8 activations)\n"
    "  --keep PATTERN     leave MatMuls whose node or weight name contains PATTERN\n"
    "                     (or matches it as a regex)\n"
    "  --dynamic          dynamic int8 (encoders): DynamicQuantizeLinear + MatMulInteger with\n"
    "                     uint8 weights per output column, and Gather tables (embeddings) as\n"
    "                     uint8 per tensor + DequantizeLinear, as onnxruntime's quantize_dynamic\n"
    "  --fp16             store MatMul/Gemm/Gather weights as f16, cast to f32 in the graph\n";

std::string mb(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

// Bytes of the .onnx file and of every external data file it names.
size_t files_bytes(const OnnxModel& m) {
  size_t n = m.file ? m.file->size() : 0;
  for (const auto& [loc, f] : m.external_files) n += f->size();
  return n;
}

// Copies IN's folder into OUT, except the model and its external data.
Status copy_side_files(const fs::path& in_dir, const fs::path& out_dir, const OnnxModel& m,
                       const fs::path& onnx_in) {
  std::error_code ec;
  if (fs::exists(out_dir) && fs::equivalent(in_dir, out_dir, ec)) return ok_status();
  std::set<fs::path> skip = {onnx_in.filename()};
  for (const auto& [loc, f] : m.external_files) skip.insert(fs::path(loc).filename());
  for (const auto& e : fs::directory_iterator(in_dir, ec)) {
    const fs::path name = e.path().filename();
    if (!e.is_regular_file() || skip.count(name) || name.string().front() == '.') continue;
    fs::copy_file(e.path(), out_dir / name, fs::copy_options::overwrite_existing, ec);
    if (ec) return Status::error("copying '" + e.path().string() + "' into '" + out_dir.string() + "': " + ec.message());
  }
  if (ec) return Status::error("reading '" + in_dir.string() + "': " + ec.message());
  return ok_status();
}

}  // namespace

int cmd_quantize(const std::vector<std::string>& args) {
  Args a(args);
  quant::QuantizeOptions opt;
  opt.bits = static_cast<int>(a.num("--bits", 0));
  opt.block = static_cast<int>(a.num("--block", 32));
  opt.asym = a.flag("--asym");
  opt.accuracy_level = static_cast<int>(a.num("--accuracy-level", -1));
  opt.keep = a.str("--keep", "");
  bool fp16 = a.flag("--fp16");
  bool dynamic = a.flag("--dynamic");
  std::string in = a.positional();
  std::string out = a.positional();
  if (!a.ok() || in.empty() || out.empty()) {
    std::fprintf(stderr, "run-llm quantize: %s\n%s", a.ok() ? "IN and OUT are required" : a.error().c_str(), kUsage);
    return 2;
  }
  if (int(fp16) + int(dynamic) + int(opt.bits != 0) != 1) {
    std::fprintf(stderr, "run-llm quantize: give exactly one of --bits, --dynamic or --fp16\n%s", kUsage);
    return 2;
  }
  if (opt.bits != 0) {
    Status s = quant::check_quant_params(opt.bits, opt.block);
    if (!s.ok()) return fail(Status::error("quantize: " + s.message()));
  }
  if (opt.accuracy_level > 4) return fail(Status::error("quantize: --accuracy-level must be 0..4"));

  auto files = ModelFiles::locate(in);
  if (!files.ok()) return fail(files.status());
  auto loaded = OnnxModel::load(files->onnx_path);
  if (!loaded.ok()) return fail(loaded.status());
  OnnxModel& model = *loaded;
  const size_t bytes_in = files_bytes(model);

  // OUT: a folder when IN is one, or when OUT does not name an .onnx file.
  const bool in_folder = fs::is_directory(in);
  fs::path out_onnx = fs::path(out);
  if (in_folder || out_onnx.extension() != ".onnx") out_onnx /= fs::path(files->onnx_path).filename();
  std::error_code ec;
  fs::create_directories(out_onnx.parent_path().empty() ? fs::path(".") : out_onnx.parent_path(), ec);
  if (ec) return fail(Status::error("cannot create '" + out_onnx.parent_path().string() + "': " + ec.message()));

  std::fprintf(stderr, "quantize: %s -> %s (%s)\n", files->onnx_path.c_str(), out_onnx.c_str(),
               fp16 ? "fp16 weights" : dynamic ? "dynamic int8, uint8 weights per column, embeddings per tensor" : ("int" + std::to_string(opt.bits) + " block " + std::to_string(opt.block) +
                                        (opt.asym ? " asymmetric" : " symmetric")).c_str());
  auto progress = [](const quant::TensorReport& r, size_t i, size_t n) {
    std::fprintf(stderr, "[%zu/%zu] %s\n", i + 1, n, r.weight.c_str());
  };
  auto report = fp16      ? quant::convert_weights_fp16(model, progress)
                : dynamic ? quant::quantize_matmuls_dynamic(model, opt, progress)
                          : quant::quantize_matmuls(model, opt, progress);
  if (!report.ok()) return fail(report.status());

  Status written = write_onnx_model(model, out_onnx.string());
  if (!written.ok()) return fail(written);
  if (in_folder) {
    Status copied = copy_side_files(files->dir, out_onnx.parent_path(), model, files->onnx_path);
    if (!copied.ok()) return fail(copied);
  }
  auto reread = OnnxModel::load(out_onnx.string());
  if (!reread.ok()) return fail(Status::error("the written model does not read back: " + reread.status().message()));

  std::printf("%-56s %12s %12s %12s %12s\n", "weight", "N x K", "rel_error", "bytes", "-> bytes");
  for (const auto& t : report->tensors)
    std::printf("tensor %-49s %5lldx%-6lld %12.6e %12zu %12zu\n", t.weight.c_str(), (long long)t.N, (long long)t.K,
                t.relative_error(), t.bytes_before, t.bytes_after);
  for (const auto& s : report->skipped) std::printf("left as is: %s: %s\n", s.node.c_str(), s.reason.c_str());
  std::printf("total: %zu tensors, relative error %.6e\n", report->tensors.size(), report->total_relative_error());
  std::printf("initializers: %s -> %s\n", mb(report->initializer_bytes_before).c_str(),
              mb(report->initializer_bytes_after).c_str());
  std::printf("model files: %s -> %s\n", mb(bytes_in).c_str(), mb(files_bytes(*reread)).c_str());
  return 0;
}

}  // namespace rllm::cli
