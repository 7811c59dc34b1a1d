// scripts/cross_aarch64.sh sets RLLM_EMULATED=1 (0 turns it off): the tests run under qemu,
// about 50x slower, and the real-model ones then check a smaller workload against the same
// reference with the same tolerance, and say how much smaller.
#pragma once

#include <cstdlib>
#include <string_view>

namespace rllm::test {

inline bool emulated() {
  const char* env = std::getenv("RLLM_EMULATED");
  return env != nullptr && *env && std::string_view(env) != "0";
}

}  // namespace rllm::test
