// Helpers shared by the quantize tests: scratch folders, running a command and
// reading back what it printed.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace rllm::test {

// A scratch folder under the build tree, removed at the end of the test.
struct ScratchDir {
  std::filesystem::path path;
  explicit ScratchDir(const std::string& tag) {
    path = std::filesystem::path(RLLM_BINARY_DIR) / "test-scratch" /
           (tag + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~ScratchDir() { std::filesystem::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct RunResult {
  int code = -1;
  std::string out, err;
};

// Runs `cmd` through the shell, capturing stdout and stderr.
inline RunResult run(const std::string& cmd, const ScratchDir& dir) {
  const std::string out = dir / "cmd.out", err = dir / "cmd.err";
  int status = std::system((cmd + " > '" + out + "' 2> '" + err + "'").c_str());
  RunResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

inline std::string quoted(const std::string& s) { return "'" + s + "'"; }

// Exit code of the Python reference scripts when a package they need is missing.
constexpr int kPythonSkip = 77;

}  // namespace rllm::test
