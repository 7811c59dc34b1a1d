// ThreadPool: every index of [0, n) is run exactly once, chunks are whole
// multiples of the grain, and back-to-back jobs (as a decode step issues them)
// neither lose a wake-up nor overlap.
#include <doctest/doctest.h>

#include <atomic>
#include <vector>

#include "kernels/thread_pool.h"

using rllm::ThreadPool;

TEST_CASE("parallel_for runs every index of 0..n-1 once, in chunks of whole grains") {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 2, 7, 64, 1000})
      for (int64_t grain : {1, 3, 16}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::atomic<int> chunks{0};
        bool aligned = true;
        pool.parallel_for(n, grain, [&](int64_t b, int64_t e) {
          if (b % grain != 0 || (e != n && e % grain != 0)) aligned = false;
          chunks.fetch_add(1);
          for (int64_t i = b; i < e; ++i) hits[size_t(i)].fetch_add(1);
        });
        INFO("threads=" << threads << " n=" << n << " grain=" << grain);
        CHECK(aligned);
        CHECK(chunks.load() <= threads);
        for (auto& h : hits) CHECK(h.load() == 1);
      }
  }
}

TEST_CASE("many back-to-back parallel_for calls all complete with every index run once") {
  ThreadPool pool(3);
  std::vector<int64_t> sums(2000);
  for (size_t j = 0; j < sums.size(); ++j) {
    std::atomic<int64_t> s{0};
    const int64_t n = int64_t(j % 37) + 1;
    pool.parallel_for(n, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) s.fetch_add(i + 1);
    });
    sums[j] = s.load();
    CHECK(sums[j] == n * (n + 1) / 2);  // 1 + 2 + ... + n
  }
}
