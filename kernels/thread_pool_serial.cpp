// RLLM_MINIMAL builds (firmware): no worker threads; every range runs on the
// calling thread, whatever size was asked for.
#include "thread_pool.h"

namespace rllm {

ThreadPool::ThreadPool(int) : n_threads_(1) {}

ThreadPool::~ThreadPool() = default;

void ThreadPool::parallel_for(int64_t n, int64_t, const std::function<void(int64_t, int64_t)>& fn) {
  if (n > 0) fn(0, n);
}

}  // namespace rllm
