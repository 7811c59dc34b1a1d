// Kernel micro-benchmarks: MatMulNBits GEMV/GEMM and the dense fp32 GEMM
// against oneDNN (u8s8, f32) and onnxruntime's MatMulNBits (accuracy_level 4,
// bench/ref_matmulnbits.py), with the DRAM read bandwidth and the vpmaddubsw
// peak measured in the same run. Candidates of one shape are timed in turns
// (--reps rounds, best kept) so drift on a shared machine hits all alike.
// Prints a table, or one JSON object per row with --json.
// Usage: bench_kernels [--json] [--quick] [--no-ort] [--cpu-time] [--reps R] [--threads 1,2]
//                      [--only gemv|gemm|smollm2|rows]
// --only rows: the row kernels' AVX2 and AVX-512 builds (one thread), alternating.
#include <cpuinfo.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <ctime>
#include <string>
#include <tuple>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/kernels.h"
#include "kernels/vec/rows_isa.h"

using namespace rllm;
using namespace rllm::kernels;

namespace {

struct Row {
  std::string kernel, isa;
  int64_t M = 0, K = 0, N = 0;
  int bits = 0, block = 0, threads = 1;
  std::string zp = "-";
  double seconds = 0, weight_bytes = 0;
};

// One timed candidate: fn(i) runs call i (i cycles through weight copies).
struct Candidate {
  Row row;
  std::function<void(int)> fn;
};

// --cpu-time: the process's CPU time instead of the wall clock. With one
// thread that is the time the work ran, whatever the wait for a core on a
// shared machine; with more it also counts the pool's spinning, so use it
// with --threads 1 only.
bool g_cpu_time = false;

double now() {
  if (g_cpu_time) {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Seconds per call of fn(i).
double time_calls(const std::function<void(int)>& fn, double min_seconds) {
  fn(0);
  int runs = 0;
  double t0 = now(), el = 0;
  do {
    fn(runs++);
    el = now() - t0;
  } while (el < min_seconds || runs < 3);
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

// The same with zmm loads, which read ~10% faster from DRAM on one core of
// the AVX-512 Xeon (fewer load uops in flight per line).
__attribute__((target("avx512f"))) double read_sum512(const float* p, int64_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (int64_t i = 0; i + 64 <= n; i += 64) {
    s0 = _mm512_add_ps(s0, _mm512_load_ps(p + i));
    s1 = _mm512_add_ps(s1, _mm512_load_ps(p + i + 16));
    s2 = _mm512_add_ps(s2, _mm512_load_ps(p + i + 32));
    s3 = _mm512_add_ps(s3, _mm512_load_ps(p + i + 48));
  }
  alignas(64) float t[16];
  _mm512_store_ps(t, _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
  double r = 0;
  for (float x : t) r += x;
  return r;
}

// Last-level cache bytes (cpuinfo; 32 MiB if it reports none).
int64_t llc_bytes() {
  int64_t b = 0;
  for (uint32_t i = 0; i < cpuinfo_get_l3_caches_count(); ++i) b += cpuinfo_get_l3_cache(i)->size;
  return b > 0 ? b : int64_t(32) << 20;
}

// Working set for the DRAM figures: twice the last-level cache, at least 512 MiB.
int64_t dram_set_bytes() { return std::max(int64_t(512) << 20, 2 * llc_bytes()); }

// DRAM read bandwidth in bytes/s over a buffer of dram_set_bytes(): the
// better of the ymm and (where there is AVX-512) zmm readers.
double dram_bandwidth(ThreadPool& pool) {
  const int64_t n = dram_set_bytes() >> 2;
  static float* buf = [n] {
    float* b = static_cast<float*>(std::aligned_alloc(64, size_t(n) * 4));
    for (int64_t i = 0; i < n; ++i) b[i] = float(i & 7);
    return b;
  }();
  volatile double sink = 0;
  double best = 1e30;
  const bool zmm = cpuinfo_has_x86_avx512f();
  for (int r = 0; r < 3; ++r)
    for (bool z : {false, true}) {
      if (z && !zmm) continue;
      best = std::min(best, time_calls([&](int) {
        pool.parallel_for(n, 4096, [&](int64_t b, int64_t e) {
          sink = sink + (z ? read_sum512(buf + b, e - b) : read_sum(buf + b, e - b));
        });
      }, 0.3));
    }
  return double(n) * 4 / best;
}

// 12 independent vpmaddubsw + vpaddw chains: the int8 dot peak of AVX2 in
// ops/s (one vpmaddubsw = 32 u8 x s8 products and their adds = 64 ops).
__attribute__((target("avx2"), noinline)) int64_t maddubs_loop(int64_t iters) {
  __m256i acc[12];
  __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(5);
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_epi16(short(i));
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_add_epi16(acc[i], _mm256_maddubs_epi16(a, b));
    __asm__ volatile("" : "+x"(a));
  }
  __m256i s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_xor_si256(s, acc[i]);
  return _mm256_extract_epi16(s, 0);
}

// 12 independent zmm vpdpbusd chains: the VNNI peak (one instruction = 64
// u8 x s8 products and their adds = 128 ops).
__attribute__((target("avx512f,avx512bw,avx512vnni"), noinline)) int64_t dpbusd_loop(int64_t iters) {
  __m512i acc[12];
  __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(5);
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_epi32(i);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
    __asm__ volatile("" : "+v"(a));
  }
  __m512i s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_xor_si512(s, acc[i]);
  alignas(64) int32_t t[16];
  _mm512_store_si512(t, s);
  return t[0];
}

// GOPS of loop(iters) on every thread of the pool, ops_per_iter each.
double peak_gops(ThreadPool& pool, int64_t (*loop)(int64_t), double ops_per_iter) {
  const int64_t iters = 2000000;
  volatile int64_t sink = 0;
  double best = 1e30;
  for (int r = 0; r < 5; ++r)
    best = std::min(best, time_calls([&](int) {
      pool.parallel_for(pool.size(), 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) sink = sink + loop(iters);
      });
    }, 0.1));
  return double(iters) * ops_per_iter * pool.size() / best / 1e9;
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

// Ours: `copies` packed weight matrices (GEMV cycles through them so the
// working set exceeds L3). zp: none or typed (f32, as Q4_1 conversions carry).
// isa: the kernels it runs (set around each call, so VNNI and AMX rows time in turns).
Candidate nbits_candidate(int64_t M, int64_t K, int64_t N, int bits, int block, int level, ZeroPoints zp,
                          int copies, ThreadPool& pool, Isa isa = active_isa()) {
  std::mt19937 rng(1);
  auto ws = std::make_shared<std::vector<PackedNBits>>();
  int64_t nb = (K + block - 1) / block;
  // One random source, packed into each copy (they differ in address, which
  // is what the working set needs).
  auto b = random_bytes(size_t(N * nb * block * bits / 8), rng);
  auto s = random_floats(size_t(N * nb), rng, 0.001f, 0.02f);
  auto z = random_floats(size_t(N * nb), rng, 0.0f, float((1 << bits) - 1));
  for (int c = 0; c < copies; ++c) {
    NBitsWeights w;
    w.N = N;
    w.K = K;
    w.bits = bits;
    w.block_size = block;
    w.b = b.data();
    w.scales = s.data();
    w.zp = zp;
    w.zero_points = zp == ZeroPoints::typed ? z.data() : nullptr;
    ws->push_back(pack_nbits(w, level, &pool));
  }
  auto A = std::make_shared<std::vector<float>>(random_floats(size_t(M * K), rng, -1, 1));
  auto Y = std::make_shared<std::vector<float>>(size_t(M * N));
  Row row{level == 4 ? "matmul_nbits_q8a" : "matmul_nbits_f32a", isa_name(isa), M, K, N, bits, block,
          pool.size(), zp == ZeroPoints::typed ? "f32" : "-", 0, double((*ws)[0].bytes())};
  return {row, [ws, A, Y, M, copies, isa, &pool](int i) {
            const Isa prev = set_active_isa(isa);
            matmul_nbits((*ws)[size_t(i % copies)], A->data(), M, nullptr, Y->data(), pool);
            set_active_isa(prev);
          }};
}

// Ours, dense fp32 weights packed in panels (plain MatMul of fp32/fp16 models).
Candidate dense_candidate(int64_t M, int64_t K, int64_t N, int copies, ThreadPool& pool) {
  std::mt19937 rng(3);
  auto ws = std::make_shared<std::vector<PackedDense>>();
  for (int c = 0; c < copies; ++c) {
    auto b = random_floats(size_t(K * N), rng, -1, 1);
    ws->push_back(pack_f32(b.data(), K, N));
  }
  auto A = std::make_shared<std::vector<float>>(random_floats(size_t(M * K), rng, -1, 1));
  auto Y = std::make_shared<std::vector<float>>(size_t(M * N));
  Row row{"matmul_packed_f32", isa_name(active_isa()), M, K, N, 32, 0, pool.size(), "-", 0,
          double((*ws)[0].bytes())};
  return {row, [ws, A, Y, M, copies, &pool](int i) {
            matmul_packed((*ws)[size_t(i % copies)], A->data(), M, Y->data(), pool);
          }};
}

// The ISA oneDNN's kernels use here (ONEDNN_MAX_CPU_ISA caps it): on AMX
// machines its u8s8 matmul runs on tiles no vector kernel can match.
const char* onednn_isa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "amx";
    default: return "other";
  }
}

// Ours, kernels/int8 (MatMulInteger): u8 A [M,K] x s8 B [K,N] -> f32 with a
// per-column scale, the same product and output as oneDNN's u8s8 row.
Candidate int8_candidate(int64_t M, int64_t K, int64_t N, ThreadPool& pool) {
  std::mt19937 rng(4);
  auto b = random_bytes(size_t(K * N), rng);
  Int8Weights iw{K, N, b.data(), true, nullptr, false};
  auto w = std::make_shared<PackedInt8>(pack_int8(iw));
  auto A = std::make_shared<std::vector<uint8_t>>(random_bytes(size_t(M * K), rng));
  auto scale = std::make_shared<std::vector<float>>(size_t(N), 0.01f);
  auto Y = std::make_shared<std::vector<float>>(size_t(M * N));
  Row row{"gemm_u8x8 (int8)", isa_name(active_isa()), M, K, N, 8, 0, pool.size(), "-", 0, double(w->bytes())};
  return {row, [w, A, scale, Y, M, &pool](int) {
            Int8Output out;
            out.y = Y->data();
            out.ld = w->N();
            out.scale = scale->data();
            gemm_u8x8(*w, A->data(), w->K(), 0, M, out, pool);
          }};
}

// oneDNN matmul: u8 [M,K] x s8 [K,N] -> f32, or f32 x f32 -> f32, weights
// reordered once into oneDNN's preferred layout.
Candidate onednn_candidate(int64_t M, int64_t K, int64_t N, bool u8s8, int copies, int threads) {
  using namespace dnnl;
  auto eng = std::make_shared<engine>(engine::kind::cpu, 0);
  auto strm = std::make_shared<stream>(*eng);
  auto dt_a = u8s8 ? memory::data_type::u8 : memory::data_type::f32;
  auto dt_w = u8s8 ? memory::data_type::s8 : memory::data_type::f32;
  memory::desc a_md({M, K}, dt_a, memory::format_tag::ab);
  memory::desc w_any({K, N}, dt_w, memory::format_tag::any);
  memory::desc w_plain({K, N}, dt_w, memory::format_tag::ab);
  memory::desc c_md({M, N}, memory::data_type::f32, memory::format_tag::ab);
  primitive_attr attr;
  if (u8s8) attr.set_output_scales(0, {0.01f});
  matmul::primitive_desc pd(matmul::desc(a_md, w_any, c_md), attr, *eng);
  auto prim = std::make_shared<matmul>(pd);
  std::mt19937 rng(2);
  size_t elem = u8s8 ? 1 : 4;
  auto ws = std::make_shared<std::vector<memory>>();
  auto raw = random_bytes(size_t(K * N) * elem, rng);
  if (!u8s8)
    for (size_t i = 0; i < raw.size(); i += 4) raw[i + 3] = 0x3C;  // finite floats
  for (int c = 0; c < copies; ++c) {
    memory plain(w_plain, *eng, raw.data());
    memory packed(pd.weights_desc(), *eng);
    reorder(plain, packed).execute(*strm, plain, packed);
    ws->push_back(packed);
  }
  auto a_raw = std::make_shared<std::vector<uint8_t>>(random_bytes(size_t(M * K) * elem, rng));
  if (!u8s8)
    for (size_t i = 0; i < a_raw->size(); i += 4) (*a_raw)[i + 3] = 0x3C;
  auto a = std::make_shared<memory>(a_md, *eng, a_raw->data());
  auto c = std::make_shared<memory>(c_md, *eng);
  Row row{u8s8 ? "onednn_u8s8" : "onednn_f32", onednn_isa(), M, K, N, u8s8 ? 8 : 32, 0, threads, "-", 0,
          double(K * N) * double(elem)};
  return {row, [=](int i) {
            omp_set_num_threads(threads);
            prim->execute(*strm, {{DNNL_ARG_SRC, *a}, {DNNL_ARG_WEIGHTS, (*ws)[size_t(i % copies)]}, {DNNL_ARG_DST, *c}});
            strm->wait();
          }};
}

// onnxruntime's MatMulNBits (accuracy_level 4) in a subprocess; times itself.
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
  int64_t nb = (K + block - 1) / block;
  row = {"onnxruntime_matmulnbits_acc4", "ort", M, K, N, bits, block, threads, "-", std::atof(s + 11),
         double(N * nb * (block * bits / 8 + 4))};
  return true;
}

struct Context {
  bool json = false;
  double bw = 0, peak = 0, vnni_peak = 0;  // bytes/s, GOPS at this thread count (vnni: 0 if absent)
  // The peak "of peak" is taken against: the VNNI one when the kernels run VNNI.
  double ref_peak() const { return vnni_peak > 0 ? vnni_peak : peak; }
};

void print_header(const Context& c, int threads) {
  if (c.json) return;
  std::printf("\nthreads %d: DRAM read bandwidth %.1f GB/s (%ld MiB buffer); vpmaddubsw peak %.0f GOPS; "
              "vpdpbusd zmm peak %.0f GOPS (of peak: against %s)\n", threads, c.bw / 1e9, long(dram_set_bytes() >> 20),
              c.peak, c.vnni_peak, c.vnni_peak > 0 ? "vpdpbusd" : "vpmaddubsw");
  std::printf("| %-28s | %-6s | %4s | %5s | %5s | %4s | %5s | %3s | %2s | %10s | %7s | %7s | %7s | %7s |\n", "kernel",
              "isa", "M", "K", "N", "bits", "block", "zp", "t", "us/call", "GB/s", "of DRAM", "GOPS", "of peak");
  std::printf("|---|---|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|\n");
}

void print(const Row& r, const Context& c) {
  double gbps = r.weight_bytes / r.seconds / 1e9;
  double gops = 2.0 * double(r.M * r.N * r.K) / r.seconds / 1e9;
  if (c.json) {
    std::printf("{\"kernel\": \"%s\", \"isa\": \"%s\", \"M\": %ld, \"K\": %ld, \"N\": %ld, \"bits\": %d, "
                "\"block\": %d, \"zero_points\": \"%s\", \"threads\": %d, \"seconds\": %.6g, "
                "\"weight_gb_per_s\": %.4g, \"gops\": %.4g, \"dram_gb_per_s\": %.4g, \"maddubs_peak_gops\": %.4g, "
                "\"vnni_peak_gops\": %.4g}\n",
                r.kernel.c_str(), r.isa.c_str(), long(r.M), long(r.K), long(r.N), r.bits, r.block, r.zp.c_str(),
                r.threads, r.seconds, gbps, gops, c.bw / 1e9, c.peak, c.vnni_peak);
  } else {
    std::printf("| %-28s | %-6s | %4ld | %5ld | %5ld | %4d | %5d | %3s | %2d | %10.1f | %7.2f | %6.0f%% | %7.1f | %6.0f%% |\n",
                r.kernel.c_str(), r.isa.c_str(), long(r.M), long(r.K), long(r.N), r.bits, r.block, r.zp.c_str(),
                r.threads, r.seconds * 1e6, gbps, 100.0 * gbps / (c.bw / 1e9), gops, 100.0 * gops / c.ref_peak());
  }
  std::fflush(stdout);
}

// Times the candidates in turns, reps rounds, and prints each one's best.
void run_group(std::vector<Candidate> cands, int reps, double min_s, const Context& c) {
  std::vector<double> best(cands.size(), 1e30);
  for (int r = 0; r < reps; ++r)
    for (size_t i = 0; i < cands.size(); ++i) best[i] = std::min(best[i], time_calls(cands[i].fn, min_s));
  for (size_t i = 0; i < cands.size(); ++i) {
    cands[i].row.seconds = best[i];
    print(cands[i].row, c);
  }
}

// The row kernels of vec/rows_avx2.cpp and vec/rows_avx512.cpp called
// directly (dispatch may keep a kernel on one build), at the encoder's and
// SmolLM2's row sizes; rows are contiguous, as the engine lays them out.
// Prints the median of `reps` alternating rounds in ns per row.
void bench_rows(int reps, double min_s) {
  if (!isa_supported(Isa::avx512vnni)) {
    std::printf("rows: this CPU/build has no AVX-512 rows\n");
    return;
  }
  std::mt19937 rng(4);
  const int64_t R = 32;  // rows per call, so that the calls are independent as in the engine
  auto x = random_floats(size_t(R * 1536), rng, -4, 4), w = random_floats(1536, rng, 0.5f, 1.5f),
       b = random_floats(1536, rng, -0.1f, 0.1f), y = x, sc = x;
  std::vector<int8_t> q(x.size());
  // f(avx512, row x, row y, n): one row on either build.
  using RowFn = std::function<void(bool, const float*, float*, int64_t)>;
  const std::tuple<const char*, int64_t, RowFn> cases[] = {
      {"softmax", 31, [](bool z, const float*, float* ys, int64_t n) { z ? avx512::softmax(ys, n) : avx2::softmax(ys, n); }},
      {"softmax", 128, [](bool z, const float*, float* ys, int64_t n) { z ? avx512::softmax(ys, n) : avx2::softmax(ys, n); }},
      {"layernorm", 384, [&](bool z, const float* xs, float* ys, int64_t n) {
         z ? avx512::layernorm(xs, w.data(), b.data(), 1e-12f, n, ys) : avx2::layernorm(xs, w.data(), b.data(), 1e-12f, n, ys);
       }},
      {"gelu_erf", 1536, [](bool z, const float* xs, float* ys, int64_t n) { z ? avx512::gelu_erf(xs, ys, n) : avx2::gelu_erf(xs, ys, n); }},
      {"add", 384, [&](bool z, const float* xs, float* ys, int64_t n) { z ? avx512::add(xs, b.data(), ys, n) : avx2::add(xs, b.data(), ys, n); }},
      {"rmsnorm", 576, [&](bool z, const float* xs, float* ys, int64_t n) {
         z ? avx512::rmsnorm(xs, w.data(), 1e-5f, n, ys) : avx2::rmsnorm(xs, w.data(), 1e-5f, n, ys);
       }},
      {"silu_mul", 1536, [&](bool z, const float* xs, float* ys, int64_t n) {
         z ? avx512::silu_mul(xs, w.data(), ys, n) : avx2::silu_mul(xs, w.data(), ys, n);
       }},
      {"quantize_row_i8", 576, [&](bool z, const float* xs, float* ys, int64_t n) {
         int8_t* qs = q.data() + (ys - y.data());
         float* ss = sc.data() + (ys - y.data()) / 32;
         z ? avx512::quantize_row_i8(xs, n, 32, qs, ss) : avx2::quantize_row_i8(xs, n, 32, qs, ss);
       }},
  };
  std::printf("\n| row kernel | n | AVX2 ns/row | AVX-512 ns/row | AVX2 / AVX-512 |\n|---|--:|--:|--:|--:|\n");
  for (const auto& [kernel, n, f] : cases) {
    std::vector<double> t[2];
    for (int r = 0; r < reps; ++r)
      for (int i = 0; i < 2; ++i)
        t[i].push_back(time_calls([&](int) {
          for (int64_t j = 0; j < R; ++j) f(i == 1, x.data() + j * n, y.data() + j * n, n);
        }, min_s) / double(R) * 1e9);
    for (auto& v : t) std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
    const double a = t[0][t[0].size() / 2], z = t[1][t[1].size() / 2];
    std::printf("| %s | %ld | %.1f | %.1f | %.2f |\n", kernel, long(n), a, z, a / z);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, ort = true;
  int reps = 3;
  std::string only;
  std::vector<int> thread_counts = {1, 2};
  Context ctx;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json") ctx.json = true;
    else if (a == "--quick") quick = true;
    else if (a == "--no-ort") ort = false;
    else if (a == "--cpu-time") g_cpu_time = true;
    else if (a == "--reps" && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
    else if (a == "--threads" && i + 1 < argc) {
      thread_counts.clear();
      for (char* t = std::strtok(argv[++i], ","); t; t = std::strtok(nullptr, ",")) thread_counts.push_back(std::atoi(t));
    } else {
      std::fprintf(stderr, "usage: bench_kernels [--json] [--quick] [--no-ort] [--cpu-time] [--reps R] [--threads 1,2] "
                           "[--only gemv|gemm|smollm2|rows]\n");
      return 2;
    }
  }
  auto want = [&](const char* group) { return only.empty() || only == group; };
  cpuinfo_initialize();
  std::printf("%s cpu: %s; avx2=%d fma=%d f16c=%d avx512f=%d avx512bw=%d avx512vl=%d avx512vnni=%d; kernels isa: %s; oneDNN isa: %s; clock: %s\n",
              ctx.json ? "#" : "", cpuinfo_get_package(0)->name, cpuinfo_has_x86_avx2(), cpuinfo_has_x86_fma3(),
              cpuinfo_has_x86_f16c(), cpuinfo_has_x86_avx512f(), cpuinfo_has_x86_avx512bw(),
              cpuinfo_has_x86_avx512vl(), cpuinfo_has_x86_avx512vnni(), isa_name(active_isa()), onednn_isa(), g_cpu_time ? "process cpu time" : "wall");
  const double min_s = quick ? 0.05 : 0.2;
  if (only == "rows") {
    bench_rows(reps, min_s);
    return 0;
  }
  const int64_t K = 4096, N = 4096;
  for (int threads : thread_counts) {
    // Before any oneDNN call (weight reorders included): an OpenMP team larger
    // than `threads` left spinning after a call takes CPU time from the rows
    // timed after it (with --cpu-time it is even charged to them).
    omp_set_num_threads(threads);
    ThreadPool pool(threads);
    ctx.bw = dram_bandwidth(pool);
    ctx.peak = peak_gops(pool, maddubs_loop, 12 * 64);
    ctx.vnni_peak = fallback_isa(active_isa()) == Isa::avx512vnni ? peak_gops(pool, dpbusd_loop, 12 * 128) : 0;
    if (ctx.json)
      std::printf("{\"kernel\": \"dram_read\", \"isa\": \"avx2\", \"threads\": %d, \"weight_gb_per_s\": %.4g}\n"
                  "{\"kernel\": \"vpmaddubsw_peak\", \"isa\": \"avx2\", \"threads\": %d, \"gops\": %.4g}\n"
                  "{\"kernel\": \"vpdpbusd_zmm_peak\", \"isa\": \"avx512vnni\", \"threads\": %d, \"gops\": %.4g}\n",
                  threads, ctx.bw / 1e9, threads, ctx.peak, threads, ctx.vnni_peak);
    print_header(ctx, threads);
    if (want("gemv")) {
      // Working set of dram_set_bytes() (> 2x L3: 96 int4 copies of 10.5 MB
      // on a 480 MB L3), at least 16 copies. accuracy_level 0 is compute
      // bound: 2 copies.
      for (int bits : {4, 8}) {
        const int64_t copy_bytes = N * K * bits / 8 + N * (K / 32) * 4;
        const int copies = int(std::max<int64_t>(16, (dram_set_bytes() + copy_bytes - 1) / copy_bytes));
        std::vector<Candidate> c;
        c.push_back(nbits_candidate(1, K, N, bits, 32, 4, ZeroPoints::none, copies, pool));
        if (bits == 4) c.push_back(nbits_candidate(1, K, N, bits, 32, 4, ZeroPoints::typed, copies, pool));
        if (!quick) c.push_back(nbits_candidate(1, K, N, bits, 32, 0, ZeroPoints::none, 2, pool));
        run_group(std::move(c), reps, min_s, ctx);
        Row r;
        if (ort && bench_ort(1, K, N, bits, 32, threads, copies, r)) print(r, ctx);
      }
      if (!quick)
        run_group({onednn_candidate(1, K, N, true, int(dram_set_bytes() / (K * N)) + 1, threads), onednn_candidate(1, K, N, false, 4, threads),
                   dense_candidate(1, K, N, 4, pool)},
                  reps, min_s, ctx);
    }
    if (want("smollm2")) {
      // SmolLM2-135M decode shapes: int4 block 32, f32 zero points (Q4_1), the
      // tied lm_head without; one copy each (they fit in L3, as in a decode step).
      for (auto [k, n, zp] : {std::tuple{int64_t(576), int64_t(1536), ZeroPoints::typed},
                              std::tuple{int64_t(1536), int64_t(576), ZeroPoints::typed},
                              std::tuple{int64_t(576), int64_t(576), ZeroPoints::typed},
                              std::tuple{int64_t(576), int64_t(49152), ZeroPoints::none}})
        run_group({nbits_candidate(1, k, n, 4, 32, 4, zp, 1, pool)}, reps, min_s, ctx);
    }
    if (want("gemm")) {
      for (int64_t M : {int64_t(128), int64_t(512)}) {
        if (quick && M == 512) continue;
        std::vector<Candidate> c;
        c.push_back(nbits_candidate(M, K, N, 4, 32, 4, ZeroPoints::none, 1, pool));
        c.push_back(nbits_candidate(M, K, N, 8, 32, 4, ZeroPoints::none, 1, pool));
        // On AMX machines, the VNNI kernels too, timed in the same turns.
        if (active_isa() == Isa::avx512amx)
          for (int bits : {4, 8}) c.push_back(nbits_candidate(M, K, N, bits, 32, 4, ZeroPoints::none, 1, pool, Isa::avx512vnni));
        if (active_isa() == Isa::avx512amx) c.push_back(nbits_candidate(M, K, N, 4, 32, 4, ZeroPoints::typed, 1, pool));
        c.push_back(onednn_candidate(M, K, N, true, 1, threads));
        c.push_back(int8_candidate(M, K, N, pool));
        if (!quick) {
          c.push_back(nbits_candidate(M, K, N, 4, 32, 0, ZeroPoints::none, 1, pool));
          c.push_back(dense_candidate(M, K, N, 1, pool));
          c.push_back(onednn_candidate(M, K, N, false, 1, threads));
        }
        run_group(std::move(c), reps, min_s, ctx);
        for (int bits : {4, 8}) {
          Row r;
          if (ort && bench_ort(M, K, N, bits, 32, threads, 1, r)) print(r, ctx);
        }
      }
    }
  }
  return 0;
}
