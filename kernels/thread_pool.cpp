#include "thread_pool.h"

#include <sched.h>

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

using Clock = std::chrono::steady_clock;

// An idle worker polls for this long after its last chunk before sleeping: a
// decode step issues a parallel op every few microseconds and a token every
// few milliseconds, and a futex wake-up costs tens of microseconds in a VM.
constexpr auto kWorkerSpin = std::chrono::microseconds(2000);
// The caller polls this long for the workers' last chunks before sleeping.
constexpr auto kCallerSpin = std::chrono::microseconds(200);
// Past this much polling a thread yields between polls, so a process sharing
// the core (or our own caller) gets it.
constexpr auto kYieldAfter = std::chrono::microseconds(20);

// Polls done() until it holds or `limit` passes; returns done().
template <typename Done>
bool poll(Done done, Clock::duration limit) {
  const auto start = Clock::now();
  for (;;) {
    for (int i = 0; i < 32; ++i) {
      if (done()) return true;
      RLLM_CPU_RELAX();
    }
    const auto spent = Clock::now() - start;
    if (spent > limit) return done();
    if (spent > kYieldAfter) sched_yield();
  }
}

constexpr uint64_t pack_claim(uint64_t id, uint64_t chunks, uint64_t next) {
  return id << 32 | chunks << 16 | next;
}
constexpr uint64_t claim_chunks(uint64_t c) { return c >> 16 & 0xffff; }
constexpr uint64_t claim_next(uint64_t c) { return c & 0xffff; }
bool claimable(uint64_t c) { return claim_next(c) < claim_chunks(c); }

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::clamp(n_threads, 1, 0xffff)) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this] { worker(); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_seq_cst);
  epoch_.fetch_add(1, std::memory_order_seq_cst);
  epoch_.notify_all();
  for (auto& t : workers_) t.join();
}

bool ThreadPool::run_claimed() {
  bool ran = false;
  uint64_t c = claim_.load(std::memory_order_acquire);
  while (claimable(c)) {
    if (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    // Chunk claim_next(c) of claim_chunks(c): the job's fields are stable
    // until done_ counts it.
    const int64_t index = int64_t(claim_next(c)), chunks = int64_t(claim_chunks(c));
    const int64_t b = std::min(n_, units_ * index / chunks * grain_);
    const int64_t e = std::min(n_, units_ * (index + 1) / chunks * grain_);
    if (b < e) (*job_)(b, e);
    done_.fetch_add(1, std::memory_order_seq_cst);
    if (caller_sleeping_.load(std::memory_order_seq_cst)) done_.notify_one();
    ran = true;
    c = claim_.load(std::memory_order_acquire);
  }
  return ran;
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t units = (n + grain - 1) / grain;
  const int64_t chunks = std::min<int64_t>(units, n_threads_);
  if (chunks <= 1) {
    fn(0, n);
    return;
  }
  job_ = &fn;
  n_ = n;
  grain_ = grain;
  units_ = units;
  done_.store(0, std::memory_order_relaxed);
  const uint64_t id = (claim_.load(std::memory_order_relaxed) >> 32) + 1;
  claim_.store(pack_claim(id & 0xffffffff, uint64_t(chunks), 0), std::memory_order_seq_cst);
  epoch_.fetch_add(1, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) epoch_.notify_all();
  run_claimed();
  auto all_done = [&] { return done_.load(std::memory_order_acquire) == chunks; };
  if (!poll(all_done, kCallerSpin)) {
    caller_sleeping_.store(true, std::memory_order_seq_cst);
    for (int d; (d = done_.load(std::memory_order_seq_cst)) != chunks;) done_.wait(d, std::memory_order_seq_cst);
    caller_sleeping_.store(false, std::memory_order_relaxed);
  }
  job_ = nullptr;
}

void ThreadPool::worker() {
  for (;;) {
    if (run_claimed()) continue;
    auto work = [this] {
      return stop_.load(std::memory_order_relaxed) || claimable(claim_.load(std::memory_order_relaxed));
    };
    if (!poll(work, kWorkerSpin)) {
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      for (;;) {
        const uint32_t e = epoch_.load(std::memory_order_seq_cst);
        if (work()) break;
        epoch_.wait(e, std::memory_order_seq_cst);
      }
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
    }
    if (stop_.load(std::memory_order_acquire)) return;
  }
}

}  // namespace rllm
