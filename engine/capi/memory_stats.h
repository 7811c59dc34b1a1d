// Process memory figures the C API reports next to the model's and the KV cache's.
#pragma once

#include <cstddef>

namespace rllm::capi {

// Peak resident set of this process in bytes (Linux VmHWM), 0 where /proc is absent.
size_t peak_rss_bytes();

}  // namespace rllm::capi
