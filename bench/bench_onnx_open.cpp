// Opening a model does not read its weights: OnnxModel::load on a model with
// 1 GiB of external data (64 fp16 initializers of 16 MiB in model.onnx.data),
// timed over several runs, with the process's resident memory before, after,
// and after touching every weight page (the contrast that shows the RSS
// figures would see the weights if they were read).
//
// usage: bench_onnx_open [DIR] [RUNS]   (DIR default /tmp/rllm_bench_onnx_open,
// where the model is generated once and reused; RUNS default 9)
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../tests/formats/proto_builder.h"
#include "formats/onnx_model.h"

namespace fs = std::filesystem;
using rllm::test::external_entry;
using rllm::test::Proto;
using rllm::test::tensor_proto;

namespace {

// prefix + decimal t (appending avoids GCC 12's -Wrestrict false positive on "lit" + string).
std::string numbered(const char* prefix, int t) {
  std::string s(prefix);
  s.append(std::to_string(t));
  return s;
}

constexpr int kTensors = 64;
constexpr int64_t kRows = 4096, kCols = 2048;            // fp16: 16 MiB each
constexpr uint64_t kTensorBytes = kRows * kCols * 2;
constexpr uint64_t kDataBytes = kTensorBytes * kTensors;  // 1 GiB
constexpr int kFp16 = 10;

Proto value_info(const std::string& name, std::vector<int64_t> dims) {
  Proto shape;
  for (int64_t d : dims) shape.msg(1, Proto().varint(1, static_cast<uint64_t>(d)));
  Proto tensor_type;
  tensor_type.varint(1, kFp16).msg(2, shape);
  Proto type;
  type.msg(1, tensor_type);
  Proto vi;
  vi.bytes(1, name).msg(2, type);
  return vi;
}

// A chain of MatMuls over 64 fp16 weights [4096,2048] / [2048,4096], all in
// one external file. Writes model.onnx.data, then model.onnx (last, so a
// model.onnx present means a complete pair).
void generate(const fs::path& dir) {
  fs::create_directories(dir);
  {
    std::ofstream data(dir / "model.onnx.data.tmp", std::ios::binary);
    std::vector<uint16_t> buf(kTensorBytes / 2);
    for (int t = 0; t < kTensors; ++t) {
      // Small fp16 values (exponent 0x2000..) varying by tensor and position.
      for (size_t k = 0; k < buf.size(); ++k)
        buf[k] = static_cast<uint16_t>(0x2000 + ((k * 2654435761u + t) & 0x0fff));
      data.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(kTensorBytes));
    }
    if (!data) {
      std::fprintf(stderr, "cannot write %s\n", (dir / "model.onnx.data.tmp").c_str());
      std::exit(1);
    }
  }
  fs::rename(dir / "model.onnx.data.tmp", dir / "model.onnx.data");

  Proto graph;
  graph.bytes(2, "bench_onnx_open");
  for (int t = 0; t < kTensors; ++t) {
    Proto node;
    node.bytes(1, numbered("h", t)).bytes(1, numbered("w", t)).bytes(2, numbered("h", t + 1))
        .bytes(3, numbered("matmul", t)).bytes(4, "MatMul");
    graph.msg(1, node);
  }
  for (int t = 0; t < kTensors; ++t) {
    std::vector<int64_t> dims = t % 2 == 0 ? std::vector<int64_t>{kRows, kCols}
                                           : std::vector<int64_t>{kCols, kRows};
    Proto init = tensor_proto(numbered("w", t), kFp16, dims);
    init.msg(13, external_entry("location", "model.onnx.data"))
        .msg(13, external_entry("offset", std::to_string(t * kTensorBytes)))
        .msg(13, external_entry("length", std::to_string(kTensorBytes)))
        .varint(14, 1);
    graph.msg(5, init);
  }
  graph.msg(11, value_info("h0", {1, kRows}));
  graph.msg(12, value_info(numbered("h", kTensors), {1, kRows}));
  Proto opset;
  opset.bytes(1, "").varint(2, 17);
  Proto model;
  model.varint(1, 8).bytes(2, "bench_onnx_open").msg(7, graph).msg(8, opset);
  std::ofstream(dir / "model.onnx.tmp", std::ios::binary) << model.str();
  fs::rename(dir / "model.onnx.tmp", dir / "model.onnx");
}

// A "VmRSS:"-style line of /proc/self/status, in KiB.
long proc_status_kib(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string k = std::string(key) + ":";
  while (std::getline(in, line))
    if (line.rfind(k, 0) == 0) return std::strtol(line.c_str() + k.size(), nullptr, 10);
  return -1;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

long maxrss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

double mib(long kib) { return kib / 1024.0; }

}  // namespace

int main(int argc, char** argv) {
  const fs::path dir = argc > 1 ? argv[1] : "/tmp/rllm_bench_onnx_open";
  const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 9;
  const std::string path = (dir / "model.onnx").string();
  std::error_code ec;
  if (!fs::exists(path) || fs::file_size(dir / "model.onnx.data", ec) != kDataBytes) {
    std::printf("generating %s (+ %.0f MiB of external data) ...\n", path.c_str(),
                kDataBytes / 1048576.0);
    generate(dir);
    // Measure in a fresh process: the generator's buffers would hide a peak-RSS rise.
    std::fflush(stdout);
    execv("/proc/self/exe", argv);
    std::perror("execv");
    return 1;
  }

  const long rss0 = proc_status_kib("VmRSS");
  const long maxrss0 = maxrss_kib();
  std::vector<double> ms;
  for (int r = 0; r < runs; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    auto m = rllm::OnnxModel::load(path);
    auto t1 = std::chrono::steady_clock::now();
    if (!m.ok()) {
      std::fprintf(stderr, "%s\n", m.status().message().c_str());
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());

  // One model kept open: its views cover the whole 1 GiB, yet nothing is resident.
  auto m = rllm::OnnxModel::load(path);
  if (!m.ok()) return 1;
  uint64_t weight_bytes = 0;
  for (const auto& t : m->graph.initializers) weight_bytes += t.nbytes;
  const long rss_open = proc_status_kib("VmRSS");
  const long maxrss_open = maxrss_kib();

  // Reading one byte per page of every weight faults the mapping in.
  const long page = sysconf(_SC_PAGESIZE);
  unsigned sum = 0;
  for (const auto& t : m->graph.initializers)
    for (size_t k = 0; k < t.nbytes; k += static_cast<size_t>(page)) sum += t.data[k];
  const long rss_touched = proc_status_kib("VmRSS");

  std::printf("cpu: %s\n", cpu_model().c_str());
  std::printf("model: %s, %zu initializers, %.0f MiB external data in %zu file(s)\n", path.c_str(),
              m->graph.initializers.size(), weight_bytes / 1048576.0, m->external_files.size());
  std::printf("\n| figure | value |\n|---|---|\n");
  std::printf("| OnnxModel::load, median of %d | %.3f ms (min %.3f, max %.3f) |\n", runs,
              ms[ms.size() / 2], ms.front(), ms.back());
  std::printf("| VmRSS before opening | %.1f MiB |\n", mib(rss0));
  std::printf("| VmRSS with the model open | %.1f MiB (+%.1f MiB) |\n", mib(rss_open),
              mib(rss_open - rss0));
  std::printf("| peak RSS (ru_maxrss) growth over all opens | +%.1f MiB |\n",
              mib(maxrss_open - maxrss0));
  std::printf("| VmRSS after reading one byte per weight page | %.1f MiB (+%.1f MiB) |\n",
              mib(rss_touched), mib(rss_touched - rss0));
  std::printf("\n(checksum %u)\n", sum);
  return 0;
}
