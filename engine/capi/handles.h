// What the C API's opaque handles are, and the guard that keeps C++ exceptions
// from crossing extern "C". A C handle pointer is a Handle* converted to the C
// type; handle_cast converts it back.
#pragma once

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/tokenizer/tokenizer.h"
#include "runllm.h"

namespace rllm::capi {

struct Handle {
  std::string error;  // message of the last failed call, "" after a success

  rllm_status fail(rllm_status status, std::string message) {
    error = std::move(message);
    return status;
  }
};

struct ModelHandle : Handle {
  std::unique_ptr<Model> model;
  std::shared_ptr<const Tokenizer> tokenizer;  // null: loaded without one
  std::string tokenizer_error;                 // why there is none
  std::vector<int32_t> eos_ids;                // genai_config's and the tokenizer's
  // Model::forward runs on the model's one thread pool: generations take turns.
  std::mutex forward_mutex;
};

struct TokenizerHandle : Handle {
  std::shared_ptr<const Tokenizer> tokenizer;
  std::string chat_template;  // "": the model's
};

struct SessionHandle : Handle {
  ModelHandle* owner = nullptr;
  std::unique_ptr<KvCache> cache;
  int seq = 0;
  std::vector<int32_t> held;  // the ids the cache holds for `seq`
  std::atomic<bool> cancel{false};
};

template <typename H, typename C>
H* handle_cast(C* c) {
  return static_cast<H*>(reinterpret_cast<Handle*>(c));
}
template <typename C, typename H>
C* to_c(H* h) {
  return reinterpret_cast<C*>(static_cast<Handle*>(h));
}

// Runs `body` (returning rllm_status); an escaping exception becomes a status
// and a message on `h`.
template <typename F>
rllm_status guarded(Handle* h, F&& body) noexcept {
  try {
    h->error.clear();
    return body();
  } catch (const std::bad_alloc&) {
    return h->fail(RLLM_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return h->fail(RLLM_ERR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return h->fail(RLLM_ERR_INTERNAL, "internal error");
  }
}

// Copies `n` items into a caller buffer of `capacity` after storing the length.
template <typename T>
rllm_status fill(Handle* h, const T* src, size_t n, T* dst, size_t capacity, size_t* length, const char* what) {
  *length = n;
  if (capacity < n) {
    return h->fail(RLLM_ERR_BUFFER_TOO_SMALL, std::string(what) + ": " + std::to_string(n) + " needed, capacity " +
                                                  std::to_string(capacity));
  }
  for (size_t i = 0; i < n; ++i) dst[i] = src[i];
  return RLLM_OK;
}

// A NUL-terminated string into a caller buffer: capacity must exceed its length.
rllm_status fill_text(Handle* h, const std::string& s, char* dst, size_t capacity, size_t* length);

}  // namespace rllm::capi
