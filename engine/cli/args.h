// A small command-line parser: named options with values, flags, positionals.
#pragma once

#include <string>
#include <vector>

#include "formats/status.h"

namespace rllm::cli {

class Args {
 public:
  explicit Args(std::vector<std::string> argv) : argv_(std::move(argv)), used_(argv_.size(), false) {}

  std::string str(const std::string& name, const std::string& fallback);
  std::vector<std::string> all(const std::string& name);
  double num(const std::string& name, double fallback);
  bool flag(const std::string& name);
  // The next argument not consumed as an option ("" if none). Call after
  // every option has been read.
  std::string positional();
  // False when an option lacked its value, a number did not parse, or an
  // argument was left unused.
  bool ok();
  const std::string& error() const { return error_; }

 private:
  std::vector<std::string> argv_;
  std::vector<bool> used_;
  std::string error_;
};

// "1,2,3" -> {1, 2, 3}.
Result<std::vector<int32_t>> parse_ids(const std::string& text);

}  // namespace rllm::cli
