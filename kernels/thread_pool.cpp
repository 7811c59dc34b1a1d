#include "thread_pool.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RLLM_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define RLLM_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define RLLM_CPU_RELAX() ((void)0)
#endif

namespace rllm {
namespace {

// How long a thread polls before sleeping: enough to catch a worker that
// finishes with the caller. Longer spins (30-100 us, to bridge the gaps of a
// decode step) made 2-thread decode 2-4x slower on a machine shared with
// other processes: a spinning thread holds the core its partner needs.
constexpr auto kSpin = std::chrono::microseconds(2);

// Polls done() until it holds or kSpin passes; returns done().
template <typename Done>
bool spin_until(Done done) {
  auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      RLLM_CPU_RELAX();
    }
    if (std::chrono::steady_clock::now() > deadline) return done();
  }
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_release);
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunk(int index) {
  int64_t b = std::min(n_, (units_ * index / parts_) * grain_);
  int64_t e = std::min(n_, (units_ * (index + 1) / parts_) * grain_);
  if (b < e) (*job_)(b, e);
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  int64_t units = (n + grain - 1) / grain;
  int64_t parts = std::min<int64_t>(units, n_threads_);
  if (parts <= 1) {
    fn(0, n);
    return;
  }
  job_ = &fn;
  n_ = n;
  grain_ = grain;
  units_ = units;
  parts_ = parts;
  // Every worker acknowledges, even with no chunk, so none still reads this
  // job's fields when the next one is written.
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  {
    // Under the mutex so a worker between its check and its wait cannot miss it.
    std::lock_guard<std::mutex> lock(mu_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  start_cv_.notify_all();
  run_chunk(0);
  if (!spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; })) {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
  }
  job_ = nullptr;
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    auto fresh = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(fresh)) {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, fresh);
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load(std::memory_order_acquire)) return;
    if (index < parts_) run_chunk(index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mu_);
      done_cv_.notify_one();
    }
  }
}

}  // namespace rllm
