#include "engine/cli/args.h"

#include <cstdlib>

namespace rllm::cli {

std::vector<std::string> Args::all(const std::string& name) {
  std::vector<std::string> out;
  for (size_t i = 0; i < argv_.size(); ++i) {
    if (used_[i] || argv_[i] != name) continue;
    used_[i] = true;
    if (i + 1 >= argv_.size()) {
      error_ = "option " + name + " needs a value";
      continue;
    }
    used_[i + 1] = true;
    out.push_back(argv_[i + 1]);
    ++i;
  }
  return out;
}

std::string Args::str(const std::string& name, const std::string& fallback) {
  auto v = all(name);
  return v.empty() ? fallback : v.back();
}

double Args::num(const std::string& name, double fallback) {
  auto v = all(name);
  if (v.empty()) return fallback;
  char* end = nullptr;
  double d = std::strtod(v.back().c_str(), &end);
  if (end == v.back().c_str() || *end != '\0') {
    error_ = "option " + name + " expects a number, got '" + v.back() + "'";
    return fallback;
  }
  return d;
}

bool Args::flag(const std::string& name) {
  bool found = false;
  for (size_t i = 0; i < argv_.size(); ++i)
    if (!used_[i] && argv_[i] == name) {
      used_[i] = true;
      found = true;
    }
  return found;
}

std::string Args::positional() {
  for (size_t i = 0; i < argv_.size(); ++i)
    if (!used_[i] && (argv_[i].empty() || argv_[i][0] != '-')) {
      used_[i] = true;
      return argv_[i];
    }
  return "";
}

bool Args::ok() {
  if (!error_.empty()) return false;
  for (size_t i = 0; i < argv_.size(); ++i)
    if (!used_[i]) {
      error_ = "unknown argument '" + argv_[i] + "'";
      return false;
    }
  return true;
}

Result<std::vector<int32_t>> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find(',', i);
    std::string tok = text.substr(i, j == std::string::npos ? std::string::npos : j - i);
    char* end = nullptr;
    long v = std::strtol(tok.c_str(), &end, 10);
    if (tok.empty() || *end != '\0' || v < 0 || v > INT32_MAX)
      return Status::error("--ids: '" + tok + "' is not a token id");
    ids.push_back(static_cast<int32_t>(v));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  if (ids.empty()) return Status::error("--ids: no token ids");
  return ids;
}

}  // namespace rllm::cli
