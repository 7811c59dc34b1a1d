// libFuzzer target for the tokenizer's JSON reader (engine/tokenizer/json_reader.h),
// which reads the large parts of untrusted tokenizer.json files: the input is
// skipped as one value (the iterative checker), then walked member by member and
// element by element with the typed reads. Any JsonError is a refusal; a crash,
// a read past the input or a hang is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/tokenizer/json_reader.h"

namespace {

using rllm::tok::JsonError;
using rllm::tok::JsonReader;

volatile size_t g_sink;

void walk(JsonReader& r, int depth) {
  std::string s;
  if (depth > 64) {
    g_sink = g_sink + r.skip_value().size();
    return;
  }
  switch (r.peek()) {
    case JsonReader::Kind::kObject:
      r.begin_object();
      while (r.next_member(s)) walk(r, depth + 1);
      break;
    case JsonReader::Kind::kArray:
      r.begin_array();
      while (r.next_element()) walk(r, depth + 1);
      break;
    case JsonReader::Kind::kString:
      r.read_string(s);
      g_sink = g_sink + s.size();
      break;
    case JsonReader::Kind::kNumber:
      try {
        g_sink = g_sink + static_cast<size_t>(r.read_integer());
      } catch (const JsonError&) {
        g_sink = g_sink + r.skip_value().size();  // a fraction or exponent: not an integer
      }
      break;
    case JsonReader::Kind::kBool: g_sink = g_sink + r.read_bool(); break;
    case JsonReader::Kind::kNull: g_sink = g_sink + r.skip_value().size(); break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    JsonReader r(text);
    r.skip_value();
    r.finish();
  } catch (const JsonError& e) {
    g_sink = g_sink + JsonReader::where(text, e.offset()).size();
  }
  try {
    JsonReader r(text);
    walk(r, 0);
    r.finish();
  } catch (const JsonError&) {
  }
  return 0;
}
