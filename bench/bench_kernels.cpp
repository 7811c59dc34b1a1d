// Kernel micro-benchmarks: MatMulNBits GEMV/GEMM against oneDNN (u8s8, f32)
// and onnxruntime (bench/ref_matmulnbits.py), with the DRAM read bandwidth
// measured in the same run. Prints a table, or one JSON object per row with
// --json. Usage: bench_kernels [--json] [--quick] [--no-ort]
#include <cpuinfo.h>
#include <immintrin.h>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/kernels.h"

using namespace rllm;
using namespace rllm::kernels;

namespace {

struct Row {
  std::string kernel, isa;
  int64_t M, K, N;
  int bits, block, threads;
  double seconds, weight_bytes;
};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Seconds per call of fn(i), i counting calls (to cycle through weight copies).
double time_calls(const std::function<void(int)>& fn, double min_seconds) {
  fn(0);
  int runs = 0;
  double t0 = now(), el = 0;
  do {
    fn(runs++);
    el = now() - t0;
  } while (el < min_seconds || runs < 5);
  return el / runs;
}

__attribute__((target("avx2"))) double read_sum(const float* p, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (int64_t i = 0; i + 32 <= n; i += 32) {
    s0 = _mm256_add_ps(s0, _mm256_load_ps(p + i));
    s1 = _mm256_add_ps(s1, _mm256_load_ps(p + i + 8));
    s2 = _mm256_add_ps(s2, _mm256_load_ps(p + i + 16));
    s3 = _mm256_add_ps(s3, _mm256_load_ps(p + i + 24));
  }
  alignas(32) float t[8];
  _mm256_store_ps(t, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  return double(t[0]) + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}

// DRAM read bandwidth in bytes/s over a 512 MiB buffer.
double dram_bandwidth(ThreadPool& pool) {
  const int64_t n = int64_t(512) << 20 >> 2;
  static float* buf = [n] {
    float* b = static_cast<float*>(std::aligned_alloc(64, size_t(n) * 4));
    for (int64_t i = 0; i < n; ++i) b[i] = float(i & 7);
    return b;
  }();
  volatile double sink = 0;
  double sec = time_calls([&](int) {
    pool.parallel_for(n, 4096, [&](int64_t b, int64_t e) { sink = sink + read_sum(buf + b, e - b); });
  }, 1.0);
  return double(n) * 4 / sec;
}

std::vector<uint8_t> random_bytes(size_t n, std::mt19937& rng) {
  std::vector<uint8_t> v(n);
  for (auto& x : v) x = uint8_t(rng());
  return v;
}

std::vector<float> random_floats(size_t n, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

Row bench_nbits(int64_t M, int64_t K, int64_t N, int bits, int block, int level, int copies, ThreadPool& pool,
                double min_seconds) {
  std::mt19937 rng(1);
  std::vector<PackedNBits> ws;
  int64_t nb = (K + block - 1) / block;
  for (int c = 0; c < copies; ++c) {
    auto b = random_bytes(size_t(N * nb * block * bits / 8), rng);
    auto s = random_floats(size_t(N * nb), rng, 0.001f, 0.02f);
    NBitsWeights w;
    w.N = N;
    w.K = K;
    w.bits = bits;
    w.block_size = block;
    w.b = b.data();
    w.scales = s.data();
    ws.push_back(pack_nbits(w, level));
  }
  auto A = random_floats(size_t(M * K), rng, -1, 1);
  std::vector<float> Y(size_t(M * N));
  double sec = time_calls([&](int i) { matmul_nbits(ws[size_t(i % copies)], A.data(), M, nullptr, Y.data(), pool); },
                          min_seconds);
  std::string name = std::string(level == 4 ? "matmul_nbits_q8a" : "matmul_nbits_f32a");
  return {name, isa_name(active_isa()), M, K, N, bits, block, pool.size(), sec, double(ws[0].bytes())};
}

// oneDNN matmul: u8 [M,K] x s8 [K,N] -> f32, or f32 x f32 -> f32, weights
// reordered once into oneDNN's preferred layout.
Row bench_onednn(int64_t M, int64_t K, int64_t N, bool u8s8, int copies, int threads, double min_seconds) {
  using namespace dnnl;
  omp_set_num_threads(threads);
  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  auto dt_a = u8s8 ? memory::data_type::u8 : memory::data_type::f32;
  auto dt_w = u8s8 ? memory::data_type::s8 : memory::data_type::f32;
  memory::desc a_md({M, K}, dt_a, memory::format_tag::ab);
  memory::desc w_any({K, N}, dt_w, memory::format_tag::any);
  memory::desc w_plain({K, N}, dt_w, memory::format_tag::ab);
  memory::desc c_md({M, N}, memory::data_type::f32, memory::format_tag::ab);
  primitive_attr attr;
  if (u8s8) attr.set_output_scales(0, {0.01f});
  matmul::primitive_desc pd(matmul::desc(a_md, w_any, c_md), attr, eng);
  matmul prim(pd);
  std::mt19937 rng(2);
  size_t elem = u8s8 ? 1 : 4;
  std::vector<memory> ws;
  for (int c = 0; c < copies; ++c) {
    auto raw = random_bytes(size_t(K * N) * elem, rng);
    if (!u8s8)
      for (size_t i = 0; i < raw.size(); i += 4) raw[i + 3] = 0x3C;  // finite floats
    memory plain(w_plain, eng, raw.data());
    memory packed(pd.weights_desc(), eng);
    reorder(plain, packed).execute(strm, plain, packed);
    ws.push_back(packed);
  }
  auto a_raw = random_bytes(size_t(M * K) * elem, rng);
  if (!u8s8)
    for (size_t i = 0; i < a_raw.size(); i += 4) a_raw[i + 3] = 0x3C;
  memory a(a_md, eng, a_raw.data()), c(c_md, eng);
  double sec = time_calls([&](int i) {
    prim.execute(strm, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, ws[size_t(i % copies)]}, {DNNL_ARG_DST, c}});
    strm.wait();
  }, min_seconds);
  return {u8s8 ? "onednn_u8s8" : "onednn_f32", "onednn", M, K, N, u8s8 ? 8 : 32, 0, threads, sec,
          double(K * N) * double(elem)};
}

bool bench_ort(int64_t M, int64_t K, int64_t N, int bits, int block, int threads, int copies, Row& row) {
  std::string cmd = std::string(RLLM_PYTHON) + " " + RLLM_SOURCE_DIR + "/bench/ref_matmulnbits.py " +
                    std::to_string(M) + " " + std::to_string(K) + " " + std::to_string(N) + " " +
                    std::to_string(bits) + " " + std::to_string(block) + " 4 " + std::to_string(threads) + " " +
                    std::to_string(copies) + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return false;
  char line[2048] = {};
  bool got = std::fgets(line, sizeof line, p) != nullptr;
  pclose(p);
  const char* s = std::strstr(line, "\"seconds\": ");
  if (!got || !s) return false;
  double sec = std::atof(s + 11);
  int64_t nb = (K + block - 1) / block;
  row = {"onnxruntime_matmulnbits_acc4", "ort", M, K, N, bits, block, threads, sec,
         double(N * nb * (block * bits / 8 + 4))};
  return true;
}

void print(const Row& r, bool json, double bw) {
  double gbps = r.weight_bytes / r.seconds / 1e9;
  double gops = 2.0 * double(r.M * r.N * r.K) / r.seconds / 1e9;
  if (json) {
    std::printf("{\"kernel\": \"%s\", \"isa\": \"%s\", \"M\": %ld, \"K\": %ld, \"N\": %ld, \"bits\": %d, "
                "\"block\": %d, \"threads\": %d, \"seconds\": %.6g, \"weight_gb_per_s\": %.4g, \"gops\": %.4g, "
                "\"dram_gb_per_s\": %.4g}\n",
                r.kernel.c_str(), r.isa.c_str(), long(r.M), long(r.K), long(r.N), r.bits, r.block, r.threads,
                r.seconds, gbps, gops, bw / 1e9);
  } else {
    std::printf("| %-30s | %-10s | %4ld | %5ld | %5ld | %4d | %5d | %2d | %10.1f | %8.2f | %6.0f%% | %8.1f |\n",
                r.kernel.c_str(), r.isa.c_str(), long(r.M), long(r.K), long(r.N), r.bits, r.block, r.threads,
                r.seconds * 1e6, gbps, 100.0 * gbps / (bw / 1e9), gops);
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false, quick = false, ort = true;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json")) json = true;
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    if (!std::strcmp(argv[i], "--no-ort")) ort = false;
  }
  cpuinfo_initialize();
  const char* model = cpuinfo_get_package(0)->name;
  std::printf("%s cpu: %s; avx2=%d fma=%d f16c=%d avx512f=%d avx512bw=%d avx512vl=%d avx512vnni=%d; kernels isa: %s\n",
              json ? "#" : "", model, cpuinfo_has_x86_avx2(), cpuinfo_has_x86_fma3(), cpuinfo_has_x86_f16c(),
              cpuinfo_has_x86_avx512f(), cpuinfo_has_x86_avx512bw(), cpuinfo_has_x86_avx512vl(),
              cpuinfo_has_x86_avx512vnni(), isa_name(active_isa()));
  const double min_s = quick ? 0.1 : 0.4;
  const int64_t K = 4096, N = 4096;
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    double bw = dram_bandwidth(pool);
    if (json) {
      std::printf("{\"kernel\": \"dram_read\", \"isa\": \"avx2\", \"threads\": %d, \"weight_gb_per_s\": %.4g}\n",
                  threads, bw / 1e9);
    } else {
      std::printf("\nthreads %d: DRAM read bandwidth %.1f GB/s (512 MiB buffer)\n", threads, bw / 1e9);
      std::printf("| %-30s | %-10s | %4s | %5s | %5s | %4s | %5s | %2s | %10s | %8s | %7s | %8s |\n", "kernel", "isa",
                  "M", "K", "N", "bits", "block", "t", "us/call", "GB/s", "of DRAM", "GOPS");
      std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    }
    for (int64_t M : {int64_t(1), int64_t(128), int64_t(512)}) {
      if (quick && M == 512) continue;
      int copies = M == 1 ? 16 : 1;
      for (int bits : {4, 8}) {
        print(bench_nbits(M, K, N, bits, 32, 4, copies, pool, min_s), json, bw);
        if (M == 1) print(bench_nbits(M, K, N, bits, 32, 0, copies, pool, min_s), json, bw);
        Row r;
        if (ort && bench_ort(M, K, N, bits, 32, threads, copies, r)) print(r, json, bw);
      }
      print(bench_onednn(M, K, N, true, copies, threads, min_s), json, bw);
      print(bench_onednn(M, K, N, false, M == 1 ? 4 : 1, threads, min_s), json, bw);
    }
  }
  return 0;
}
