// run-llm embed MODEL (--text T ... | --file F): one sentence embedding per text,
// printed as JSON (one vector per line) or written as JSON / .npy.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <string>

#include "engine/cli/args.h"
#include "engine/cli/commands.h"
#include "engine/encoder.h"

namespace rllm::cli {
namespace {

void usage() {
  std::fprintf(stderr,
               "usage: run-llm embed MODEL (--text T [--text T2 ...] | --file LINES.txt) [options]\n"
               "  MODEL: a folder with the encoder .onnx and tokenizer.json, or an .onnx with tokenizer.json beside it\n"
               "  --tokenizer PATH      tokenizer.json to use (for graphs shipped without one)\n"
               "  --batch N             sentences per run (default 32)\n"
               "  --format json|npy     output format (default json: one vector per line)\n"
               "  --output PATH         write there instead of stdout (required for npy)\n"
               "  --no-normalize        keep the raw pooled vectors (default: L2-normalised)\n"
               "  --truncate            cut texts longer than the model's maximum length, with a warning (default)\n"
               "  --refuse-long         refuse such texts instead\n"
               "  --max-length N        token limit instead of the model's (tokenizer.json truncation, else positions)\n"
               "  --threads N           threads (default: one per core)\n"
               "  --verbose             print load time and sentences/s on stderr\n");
}

std::string json_rows(const Tensor& v) {
  const int64_t n = v.dim(0), h = v.dim(1);
  std::string out = "[\n";
  char buf[32];
  for (int64_t i = 0; i < n; ++i) {
    out += '[';
    for (int64_t j = 0; j < h; ++j) {
      std::snprintf(buf, sizeof buf, j ? ", %.9g" : "%.9g", static_cast<double>(v.as<float>()[i * h + j]));
      out += buf;
    }
    out += i + 1 < n ? "],\n" : "]\n";
  }
  return out + "]\n";
}

// NumPy .npy version 1.0: magic, header length, a dict literal padded to 64 bytes, data.
std::string npy(const Tensor& v) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(v.dim(0)) + ", " +
                       std::to_string(v.dim(1)) + "), }";
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(static_cast<const char*>(v.data()), static_cast<size_t>(v.nbytes()));
  return out;
}

}  // namespace

int cmd_embed(const std::vector<std::string>& argv) {
  Args a(argv);
  if (a.flag("--help") || a.flag("-h")) {
    usage();
    return 0;
  }
  std::vector<std::string> texts = a.all("--text");
  const std::string file = a.str("--file", "");
  EncoderOptions eo;
  eo.tokenizer = a.str("--tokenizer", "");
  eo.threads = static_cast<int>(a.num("--threads", 0));
  EmbedOptions opts;
  opts.batch = static_cast<int>(a.num("--batch", 32));
  opts.max_length = static_cast<int64_t>(a.num("--max-length", 0));
  opts.normalize = !a.flag("--no-normalize");
  const bool truncate = a.flag("--truncate"), refuse = a.flag("--refuse-long");
  opts.long_input = refuse ? LongInput::refuse : LongInput::truncate;
  const std::string format = a.str("--format", "json");
  const std::string output = a.str("--output", "");
  const bool verbose = a.flag("--verbose");
  const std::string model = a.positional();
  if (!a.ok() || model.empty() || texts.empty() == file.empty()) {
    if (!a.ok()) std::fprintf(stderr, "run-llm embed: %s\n", a.error().c_str());
    usage();
    return 2;
  }
  if (truncate && refuse) return fail(Status::error("embed: --truncate and --refuse-long exclude each other"));
  if (format != "json" && format != "npy") return fail(Status::error("embed: --format must be json or npy, got '" + format + "'"));
  if (format == "npy" && output.empty()) return fail(Status::error("embed: --format npy needs --output PATH"));
  if (opts.batch < 1) return fail(Status::error("embed: --batch must be at least 1"));
  if (opts.max_length < 0) return fail(Status::error("embed: --max-length must not be negative"));
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail(Status::error(file + ": cannot open"));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      texts.push_back(line);
    }
    if (texts.empty()) return fail(Status::error(file + ": no lines to embed"));
  }

  const auto t0 = std::chrono::steady_clock::now();
  auto se = SentenceEncoder::load(model, eo);
  if (!se.ok()) return fail(se.status());
  const auto t1 = std::chrono::steady_clock::now();
  auto emb = (*se)->embed(texts, opts);
  if (!emb.ok()) return fail(Status::error((file.empty() ? "" : file + ": ") + emb.status().message()));
  const auto t2 = std::chrono::steady_clock::now();
  const int64_t max_len = opts.max_length > 0 ? opts.max_length : (*se)->max_length();
  for (size_t i : emb->truncated)
    std::fprintf(stderr, "run-llm: warning: text %zu is longer than %" PRId64 " tokens and was truncated (--refuse-long refuses instead)\n",
                 i + 1, max_len);
  if (verbose) {
    const double load = std::chrono::duration<double>(t1 - t0).count(), run = std::chrono::duration<double>(t2 - t1).count();
    std::fprintf(stderr, "run-llm: loaded %s in %.3f s; %zu sentences in %.3f s (%.1f sentences/s, batch %d, %d threads)\n",
                 (*se)->encoder().path().c_str(), load, texts.size(), run, static_cast<double>(texts.size()) / run,
                 opts.batch, (*se)->encoder().pool().size());
  }

  const std::string bytes = format == "npy" ? npy(emb->vectors) : json_rows(emb->vectors);
  if (output.empty()) {
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    return 0;
  }
  std::ofstream out(output, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) return fail(Status::error(output + ": cannot write"));
  return 0;
}

}  // namespace rllm::cli
