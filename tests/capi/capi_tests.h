/* The C API tests: each returns its number of failed checks (printed to stderr);
 * test_capi.cpp runs each as one doctest case. */
#ifndef RLLM_CAPI_TESTS_H
#define RLLM_CAPI_TESTS_H

#ifdef __cplusplus
extern "C" {
#endif

int capi_test_path_matches_known_continuation(void);
int capi_test_path_matches_cli(void);
int capi_test_memory_matches_path(void);
int capi_test_memory_resolve_callback(void);
int capi_test_two_threads(void);
int capi_test_cancel_from_thread(void);
int capi_test_multi_turn_reuses_cache(void);
int capi_test_tokenizer_round_trip(void);
int capi_test_error_missing_file(void);
int capi_test_error_bad_bytes(void);
int capi_test_error_unsupported_op(void);
int capi_test_error_context_overflow(void);
int capi_test_error_null_arguments(void);
int capi_test_error_options_and_inputs(void);
int capi_test_memory_stats(void);
int capi_test_chat_smollm2(void);
int capi_test_pack_cache(void);

#ifdef __cplusplus
}
#endif

#endif
