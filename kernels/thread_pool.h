// One pool for the process (or one per session in the C API). Kernels never
// spawn threads: callers split work into ranges and hand them to parallel_for.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
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
  // One caller at a time.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker();
  // Claims and runs chunks of the current job until none is left; false if
  // there was none to claim.
  bool run_claimed();

  int n_threads_;
  std::vector<std::thread> workers_;
  // The current job. Its chunks are claimed, by the caller as well as the
  // workers, with a CAS on claim_ = job id << 32 | chunk count << 16 | next
  // chunk; the fields below are written before claim_ is published (release)
  // and stay valid while a claimed chunk runs, since the caller returns only
  // when done_ counts every chunk. A worker that wakes after the caller has
  // taken every chunk therefore reads nothing of the job: a descheduled
  // worker costs the caller nothing.
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t n_ = 0, grain_ = 1, units_ = 0;
  std::atomic<uint64_t> claim_{0};
  std::atomic<int> done_{0};
  std::atomic<bool> caller_sleeping_{false};
  // Idle workers poll claim_ for a while, then sleep on epoch_ (bumped per job).
  std::atomic<uint32_t> epoch_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace rllm
