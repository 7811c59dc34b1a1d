// libFuzzer target for the pack cache file's reader (formats/pack_cache.h):
// the input is parsed as a cache file for the identity its own bytes 8..15
// give (so the parser gets past the identity check), and every byte of every
// blob it accepts is read, so a blob past the input trips AddressSanitizer.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "formats/pack_cache.h"

namespace {
volatile uint8_t g_sink;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint64_t identity = 0;
  if (size >= 16) std::memcpy(&identity, data + 8, 8);
  std::string why;
  auto cache = rllm::PackCache::parse(rllm::MappedFile::borrow(data, size, "fuzz"), identity, &why);
  if (cache == nullptr) return 0;
  for (const std::string& key : cache->keys()) {
    size_t n = 0;
    auto blob = cache->find(key, &n);
    uint8_t acc = 0;
    for (size_t i = 0; i < n; ++i) acc ^= blob.get()[i];
    g_sink = acc;
  }
  return 0;
}
