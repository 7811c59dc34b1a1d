#include "model_files.h"

#include <filesystem>

namespace rllm {

Result<ModelFiles> ModelFiles::locate(const std::string& model) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p(model);
  ModelFiles f;
  if (fs::is_directory(p, ec)) {
    fs::path cfg = p / "genai_config.json";
    if (!fs::exists(cfg, ec))
      return Status::error(model + ": folder has no genai_config.json (pass the .onnx file instead)");
    RLLM_ASSIGN_OR_RETURN(f.config, GenAiConfig::load(cfg.string()));
    f.dir = p.string();
    f.onnx_path = (p / f.config->decoder_filename).string();
    return f;
  }
  if (!fs::exists(p, ec)) return Status::error(model + ": no such file or folder");
  f.dir = p.parent_path().empty() ? "." : p.parent_path().string();
  f.onnx_path = p.string();
  return f;
}

}  // namespace rllm
