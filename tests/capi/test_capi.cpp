// Runs the C API tests (C sources, compiled as C) as doctest cases.
#include <doctest/doctest.h>

#include "capi_tests.h"

TEST_CASE("capi: load from a folder, greedy stories260K gives the known continuation") {
  CHECK(capi_test_path_matches_known_continuation() == 0);
}
TEST_CASE("capi: the same greedy text as run-llm --ids") { CHECK(capi_test_path_matches_cli() == 0); }
TEST_CASE("capi: load from memory gives the same ids as from the folder") {
  CHECK(capi_test_memory_matches_path() == 0);
}
TEST_CASE("capi: external data through the resolve callback, no tokenizer") {
  CHECK(capi_test_memory_resolve_callback() == 0);
}
TEST_CASE("capi: tokenize and detokenize against HF tokenizers, buffer sizes") {
  CHECK(capi_test_tokenizer_round_trip() == 0);
}
TEST_CASE("capi: two sessions in two threads give the ids each gives alone") { CHECK(capi_test_two_threads() == 0); }
TEST_CASE("capi: cancellation from another thread stops within one token") {
  CHECK(capi_test_cancel_from_thread() == 0);
}
TEST_CASE("capi: a later turn reuses the cached prefix and matches a fresh session") {
  CHECK(capi_test_multi_turn_reuses_cache() == 0);
}
TEST_CASE("capi: memory figures of a generation, f32 and f16 KV, model info") { CHECK(capi_test_memory_stats() == 0); }
TEST_CASE("capi: pack cache written then read with the same tokens") { CHECK(capi_test_pack_cache() == 0); }
TEST_CASE("capi: errors - missing file") { CHECK(capi_test_error_missing_file() == 0); }
TEST_CASE("capi: errors - bad bytes") { CHECK(capi_test_error_bad_bytes() == 0); }
TEST_CASE("capi: errors - unsupported op") { CHECK(capi_test_error_unsupported_op() == 0); }
TEST_CASE("capi: errors - context overflow") { CHECK(capi_test_error_context_overflow() == 0); }
TEST_CASE("capi: errors - NULL arguments") { CHECK(capi_test_error_null_arguments() == 0); }
TEST_CASE("capi: errors - options and inputs") { CHECK(capi_test_error_options_and_inputs() == 0); }
TEST_CASE("capi: SmolLM2 chat template as transformers renders it, greedy reply, stop string") {
  CHECK(capi_test_chat_smollm2() == 0);
}
