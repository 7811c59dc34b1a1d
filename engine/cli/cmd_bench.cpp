// run-llm bench MODEL [-p 128,512] [-n 128] [-t 1,2] [-r 3] [--json]: a
// llama-bench-like table of prefill and decode speed for run-llm alone.
//
// For each thread count the model is loaded once and the DRAM read bandwidth
// is measured with that many threads; then for each prompt length, r runs,
// each with a fresh KV cache: prefill p fixed pseudo-random token ids (one
// forward), take the argmax, then n - 1 single-token decode steps feeding the
// argmax back (EOS is ignored so every run decodes exactly n - 1 steps).
// With several KV cache element types the runs of one prompt length
// alternate between them, so drift on a shared machine hits all alike.
// Decode is also given as a share of the roofline: bandwidth / the weight
// bytes a decoded token reads (every initializer once, but one row of an
// untied embedding table: LoadStats::decode_weight_bytes).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/cli/args.h"
#include "engine/cli/commands.h"
#include "engine/model.h"
#include "kernels/kernels.h"

namespace rllm::cli {
namespace {

const char* kUsage =
    "usage: run-llm bench MODEL [options]\n"
    "  -p 128,512   prompt lengths in tokens (default 128,512)\n"
    "  -n N         generated tokens per run: 1 from the prefill + N-1 decode steps (default 128)\n"
    "  -t 1,2       thread counts (default: 1 and all cores)\n"
    "  -r R         runs per case; figures are the median with min-max (default 3)\n"
    "  --kv-dtype f32,f16  KV cache element types (default f32); with two, their runs alternate\n"
    "  --kv-block N tokens per KV cache block (default 16)\n"
    "  --json       one JSON object per case on stdout instead of the table\n"
    "Prompt ids are 256 + (i * 40503) mod (vocab - 256), i = 0..p-1.\n";

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Result<std::vector<int>> parse_list(const std::string& name, const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v <= 0 || v > (1 << 20))
      return Status::error(name + ": '" + item + "' is not a positive count");
    out.push_back(static_cast<int>(v));
  }
  if (out.empty()) return Status::error(name + ": empty list");
  return out;
}

std::string proc_field(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) {
      size_t c = line.find(':');
      size_t b = line.find_first_not_of(" \t", c + 1);
      return b == std::string::npos ? "" : line.substr(b);
    }
  return "";
}

size_t peak_rss_bytes() {
  return std::strtoull(proc_field("/proc/self/status", "VmHWM").c_str(), nullptr, 10) * 1024;
}

// The x86 SIMD flags that matter to the kernels, as /proc/cpuinfo names them.
std::string simd_flags() {
  std::string flags = proc_field("/proc/cpuinfo", "flags");
  if (flags.empty()) flags = proc_field("/proc/cpuinfo", "Features");
  std::istringstream in(flags);
  std::vector<std::string> have;
  for (std::string f; in >> f;) have.push_back(f);
  std::string out;
  for (const char* f : {"sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
                        "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_int8", "asimd", "asimddp", "sve"}) {
    if (std::find(have.begin(), have.end(), f) == have.end()) continue;
    if (!out.empty()) out += ' ';
    out += f;
  }
  return out;
}

// DRAM read bandwidth in bytes/s: the best of 5 passes summing a 256 MiB
// buffer (8x a 32 MB L3) split across the pool's threads.
double dram_read_bandwidth(ThreadPool& pool) {
  const int64_t n = int64_t(256) << 20 >> 3;
  std::vector<uint64_t> buf(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) buf[static_cast<size_t>(i)] = static_cast<uint64_t>(i);
  std::vector<uint64_t> sums(64 * 8);  // one cache line per chunk, at most 64 chunks
  double best = 1e30;
  for (int pass = 0; pass < 5; ++pass) {
    auto t = Clock::now();
    pool.parallel_for(n, n / pool.size(), [&](int64_t b, int64_t e) {
      uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      const uint64_t* p = buf.data();
      int64_t i = b;
      for (; i + 4 <= e; i += 4) {
        s0 += p[i];
        s1 += p[i + 1];
        s2 += p[i + 2];
        s3 += p[i + 3];
      }
      for (; i < e; ++i) s0 += p[i];
      sums[static_cast<size_t>((b * 64 / n) % 64) * 8] = s0 + s1 + s2 + s3;
    });
    best = std::min(best, since(t));
  }
  volatile uint64_t sink = 0;
  for (uint64_t s : sums) sink = sink + s;
  return double(n) * 8 / best;
}

// Resets VmHWM to the current resident size (Linux clear_refs "5"), so the
// bandwidth buffer stays out of the peak memory reported for the runs.
void reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

struct Run {
  double prefill_s = 0, ttft_s = 0, decode_s = 0;
};

int32_t argmax_last(const Tensor& logits) {
  int64_t V = logits.dim(-1);
  const float* row = logits.as<float>() + (logits.numel() - V);
  return static_cast<int32_t>(std::max_element(row, row + V) - row);
}

Result<Run> run_once(Model& model, const std::vector<int32_t>& prompt, int n, DType kv_dtype) {
  KvCacheConfig kc = model.kv_config();
  kc.dtype = kv_dtype;
  KvCache cache(kc);
  int seq = cache.new_sequence();
  Run r;
  auto t0 = Clock::now();
  RLLM_ASSIGN_OR_RETURN(Tensor logits, model.forward(cache, {seq}, {prompt}, Model::Logits::last));
  r.prefill_s = since(t0);
  int32_t next = argmax_last(logits);
  r.ttft_s = since(t0);
  auto t1 = Clock::now();
  for (int i = 1; i < n; ++i) {
    RLLM_ASSIGN_OR_RETURN(Tensor step, model.forward(cache, {seq}, {{next}}));
    next = argmax_last(step);
  }
  r.decode_s = since(t1);
  return r;
}

struct Summary {
  double median = 0, min = 0, max = 0;
};

Summary summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  double med = v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
  return {med, v.front(), v.back()};
}

std::string json_array(const std::vector<double>& v) {
  std::string s = "[";
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.6g", i ? ", " : "", v[i]);
    s += buf;
  }
  return s + "]";
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out;
}

}  // namespace

int cmd_bench(const std::vector<std::string>& argv) {
  Args a(argv);
  std::string p_text = a.str("-p", "128,512");
  int n = static_cast<int>(a.num("-n", 128));
  std::string t_text = a.str("-t", "");
  int reps = static_cast<int>(a.num("-r", 3));
  std::string kv_text = a.str("--kv-dtype", "f32");
  const int kv_block = static_cast<int>(a.num("--kv-block", 16));
  bool json = a.flag("--json");
  std::string model_path = a.positional();
  if (!a.ok() || model_path.empty()) {
    std::fprintf(stderr, "run-llm bench: %s\n%s", a.ok() ? "MODEL is required" : a.error().c_str(), kUsage);
    return 2;
  }
  if (n < 1 || reps < 1) {
    std::fprintf(stderr, "run-llm bench: -n and -r must be at least 1\n");
    return 2;
  }
  std::vector<std::string> kv_names;
  std::vector<DType> kv_dtypes;
  {
    std::stringstream ss(kv_text);
    for (std::string item; std::getline(ss, item, ',');) {
      if (item != "f32" && item != "f16") {
        std::fprintf(stderr, "run-llm bench: --kv-dtype takes f32 and/or f16, not '%s'\n", item.c_str());
        return 2;
      }
      kv_names.push_back(item);
      kv_dtypes.push_back(item == "f16" ? DType::f16 : DType::f32);
    }
    if (kv_names.empty()) {
      std::fprintf(stderr, "run-llm bench: --kv-dtype: empty list\n");
      return 2;
    }
  }
  if (kv_block <= 0) {
    std::fprintf(stderr, "run-llm bench: --kv-block must be positive\n");
    return 2;
  }
  auto prompts = parse_list("-p", p_text);
  if (!prompts.ok()) return fail(prompts.status());
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto threads = parse_list("-t", t_text.empty() ? (cores > 1 ? "1," + std::to_string(cores) : "1") : t_text);
  if (!threads.ok()) return fail(threads.status());

  const std::string cpu = proc_field("/proc/cpuinfo", "model name");
  const char* isa = kernels::isa_name(kernels::active_isa());
  if (!json)
    std::printf("run-llm bench %s\ncpu: %s\nsimd: %s\nkernels: %s\nKV cache: blocks of %d tokens\n",
                model_path.c_str(), cpu.c_str(), simd_flags().c_str(), isa, kv_block);

  for (int t : threads.value()) {
    bool header = false;
    ModelOptions mo;
    mo.threads = t;
    mo.kv_block_tokens = kv_block;
    mo.pack_cache = PackCache::settings_from_env();
    auto model = Model::load(model_path, mo);
    if (!model.ok()) return fail(model.status());
    Model& m = **model;
    const double load_s = m.load_stats().seconds;
    const double bytes_per_token = static_cast<double>(m.load_stats().decode_weight_bytes);
    const double bw = dram_read_bandwidth(m.pool());
    reset_peak_rss();
    const double roofline = bw / bytes_per_token;
    if (!json) {
      std::printf("\nthreads %d: load %.3f s, DRAM read %.1f GB/s, %.1f MB of weights per token -> roofline %.1f tok/s\n",
                  t, load_s, bw / 1e9, bytes_per_token / 1e6, roofline);
    }
    // A short warm-up so first-touch page faults and pool start-up stay out of the figures.
    {
      std::vector<int32_t> warm = {256, 257, 258, 259};
      for (DType d : kv_dtypes) {
        auto w = run_once(m, warm, 2, d);
        if (!w.ok()) return fail(w.status());
      }
    }
    const int64_t vocab = m.vocab_size();
    for (int p : prompts.value()) {
      std::vector<int32_t> ids(static_cast<size_t>(p));
      for (int i = 0; i < p; ++i)
        ids[static_cast<size_t>(i)] = static_cast<int32_t>(256 + (int64_t(i) * 40503) % std::max<int64_t>(1, vocab - 256));
      const size_t nk = kv_dtypes.size();
      std::vector<std::vector<double>> pps(nk), tgs(nk), ttfts(nk);
      for (int r = 0; r < reps; ++r)
        for (size_t k = 0; k < nk; ++k) {
          auto run = run_once(m, ids, n, kv_dtypes[k]);
          if (!run.ok()) return fail(run.status());
          pps[k].push_back(p / run->prefill_s);
          ttfts[k].push_back(run->ttft_s);
          if (n > 1) tgs[k].push_back((n - 1) / run->decode_s);
        }
      for (size_t k = 0; k < nk; ++k) {
        const std::vector<double>& pp = pps[k];
        const std::vector<double>& tg = tgs[k];
        const std::vector<double>& ttft = ttfts[k];
        const char* kv = kv_names[k].c_str();
        Summary sp = summarize(pp), st = n > 1 ? summarize(tg) : Summary{}, sf = summarize(ttft);
        if (json) {
          std::printf(
              "{\"engine\": \"run-llm\", \"model\": \"%s\", \"cpu\": \"%s\", \"kernels\": \"%s\", \"threads\": %d, "
              "\"kv_dtype\": \"%s\", \"kv_block_tokens\": %d, \"prompt_tokens\": %d, \"generated_tokens\": %d, \"load_s\": %.6g, \"peak_rss_bytes\": %zu, "
              "\"dram_read_bytes_per_s\": %.6g, \"weight_bytes_per_token\": %.6g, "
              "\"prefill_tok_s\": %s, \"decode_tok_s\": %s, \"ttft_s\": %s}\n",
              json_escape(model_path).c_str(), json_escape(cpu).c_str(), isa, t, kv, kv_block, p, n, load_s, peak_rss_bytes(), bw,
              bytes_per_token, json_array(pp).c_str(), json_array(tg).c_str(), json_array(ttft).c_str());
          std::fflush(stdout);
          continue;
        }
        if (!header) {
          std::printf("\n| threads | KV  | test        | tok/s median | min - max         | TTFT ms | %% roofline |\n"
                      "|--------:|-----|-------------|-------------:|-------------------|--------:|-----------:|\n");
          header = true;
        }
        std::printf("| %7d | %s | pp%-9d | %12.1f | %7.1f - %-7.1f | %7.1f |            |\n", t, kv, p, sp.median,
                    sp.min, sp.max, sf.median * 1e3);
        if (n > 1)
          std::printf("| %7d | %s | tg%-4d @%-4d | %12.1f | %7.1f - %-7.1f |         | %9.1f%% |\n", t, kv, n - 1, p,
                      st.median, st.min, st.max, 100 * st.median / roofline);
        std::fflush(stdout);
      }
    }
  }
  if (!json) std::printf("\npeak memory: %.1f MB (runs: %d per case)\n", peak_rss_bytes() / 1e6, reps);
  return 0;
}

}  // namespace rllm::cli
