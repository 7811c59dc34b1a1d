// One pool for the process (or one per session in the C API). Kernels never
// spawn threads: callers split work into ranges and hand them to parallel_for.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace rllm {

class ThreadPool {
 public:
  // n_threads counts the calling thread: 1 means no worker threads at all.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Splits [0, n) into at most size() contiguous chunks (multiples of `grain`
  // except the last) and runs fn(begin, end) on each; returns when all are done.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker(int index);
  void run_chunk(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  // The current job, published by bumping generation_ (release) and read by
  // the workers after they see the new generation (acquire).
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t n_ = 0, grain_ = 1, units_ = 0, parts_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  // Threads poll the atomics briefly, then sleep on these.
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  std::atomic<bool> stop_{false};
};

}  // namespace rllm
