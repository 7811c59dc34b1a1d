// The pack cache (formats/pack_cache.h): a load that maps the packed
// weights an earlier load wrote computes the same logits, bit for bit, as one
// that packs them; a damaged, stale or foreign cache file is not used.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "formats/pack_cache.h"
#include "engine/kv_cache/paged_kv_cache.h"
#include "engine/model.h"

using namespace rllm;
namespace fs = std::filesystem;

namespace {

struct Run {
  std::vector<float> logits;
  LoadStats stats;
};

// Prefill of 3 tokens then one decode step: both GEMM and GEMV paths.
Run run(const std::string& model, const std::optional<PackCache::Settings>& cache) {
  ModelOptions mo;
  mo.threads = 2;
  mo.pack_cache = cache;
  auto m = Model::load(model, mo);
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  KvCache kv((*m)->kv_config());
  int seq = kv.new_sequence();
  Run r;
  for (const std::vector<int32_t>& step : {std::vector<int32_t>{1, 403, 407}, std::vector<int32_t>{261}}) {
    auto out = (*m)->forward(kv, {seq}, {step});
    REQUIRE_MESSAGE(out.ok(), out.status().message());
    r.logits.insert(r.logits.end(), out->as<float>(), out->as<float>() + out->numel());
  }
  r.stats = (*m)->load_stats();
  return r;
}

std::vector<fs::path> cache_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  return files;
}

struct TempDir {
  fs::path path;
  TempDir() : path(fs::temp_directory_path() / ("rllm-pack-cache-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("pack cache: written once then mapped with the logits of packing at every load") {
  const std::string model = std::string(RLLM_BINARY_DIR) + "/models/stories260K-int4";
  if (!fs::exists(model)) {
    MESSAGE("skipped: " << model << " is absent (scripts/convert/make_test_models.sh)");
    return;
  }
  TempDir tmp;
  const fs::path dir = tmp.path / "packed";
  PackCache::Settings settings{dir.string(), 0};

  const Run packed = run(model, std::nullopt);
  CHECK(packed.stats.pack_cache_file.empty());
  REQUIRE(packed.stats.repacked_bytes > 0);

  const Run first = run(model, settings);
  CHECK_FALSE(first.stats.pack_cache_read);
  CHECK(first.stats.pack_cache_written > packed.stats.repacked_bytes);  // blobs + header page + index
  REQUIRE(cache_files(dir).size() == 1);
  const fs::path file = cache_files(dir)[0];
  CHECK(first.stats.pack_cache_file == file.string());
  CHECK(first.logits == packed.logits);

  const Run second = run(model, settings);
  CHECK(second.stats.pack_cache_read);
  CHECK(second.stats.pack_cache_written == 0);
  CHECK(second.stats.pack_cache_note.empty());
  CHECK(second.logits == packed.logits);

  SUBCASE("a model smaller than min_bytes gets no cache file") {
    fs::remove_all(dir);
    const Run small = run(model, PackCache::Settings{dir.string(), size_t{1} << 40});
    CHECK(small.stats.pack_cache_file.empty());
    CHECK_FALSE(fs::exists(dir));
    CHECK(small.logits == packed.logits);
  }

  SUBCASE("a cache directory that cannot be made: packed in memory, with a note") {
    const fs::path blocker = tmp.path / "a-file";
    std::ofstream(blocker) << "x";
    const Run r = run(model, PackCache::Settings{(blocker / "packed").string(), 0});
    CHECK(r.stats.pack_cache_file.empty());
    CHECK(r.stats.pack_cache_note.find("cannot create") != std::string::npos);
    CHECK(r.logits == packed.logits);
  }

  SUBCASE("a truncated cache file is not used, and is written again") {
    fs::resize_file(file, fs::file_size(file) - 1);
    const Run again = run(model, settings);
    CHECK_FALSE(again.stats.pack_cache_read);
    CHECK(again.stats.pack_cache_note.find("truncated") != std::string::npos);
    CHECK(again.stats.pack_cache_written == first.stats.pack_cache_written);
    CHECK(again.logits == packed.logits);
    CHECK(run(model, settings).stats.pack_cache_read);
  }

  SUBCASE("every single-byte corruption of the header and index is caught or harmless") {
    // Bytes past the header page are packed weights (a flip there changes
    // numbers, as a flip in the model file would). A flip in the header's
    // fields must be caught; one in the index may only rename a key or move a
    // blob within the file (what AddressSanitizer checks in CI).
    std::vector<uint8_t> bytes(fs::file_size(file));
    std::ifstream(file, std::ios::binary).read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    uint64_t identity, index_off;
    std::memcpy(&identity, bytes.data() + 8, 8);
    std::memcpy(&index_off, bytes.data() + 24, 8);
    std::string why;
    REQUIRE(PackCache::parse(MappedFile::borrow(bytes.data(), bytes.size(), "intact"), identity, &why) != nullptr);
    CHECK(PackCache::parse(MappedFile::borrow(bytes.data(), bytes.size(), "other"), identity + 1, &why) == nullptr);
    CHECK(why.find("other model files") != std::string::npos);
    std::vector<size_t> positions;
    for (size_t i = 0; i < 64; ++i) positions.push_back(i);
    for (size_t i = index_off; i < bytes.size(); ++i) positions.push_back(i);
    for (size_t pos : positions) {
      for (uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xFF}}) {
        bytes[pos] ^= flip;
        std::string reason;
        auto cache = PackCache::parse(MappedFile::borrow(bytes.data(), bytes.size(), "damaged"), identity, &reason);
        if (pos < 48) CHECK_MESSAGE(cache == nullptr, "byte " << pos << " ^ " << int(flip));
        if (cache == nullptr) CHECK(reason.rfind("damaged: ", 0) == 0);
        bytes[pos] ^= flip;
      }
    }
    for (size_t size : {size_t{0}, size_t{63}, size_t{64}, size_t{4096}, static_cast<size_t>(index_off), bytes.size() - 1}) {
      std::string reason;
      CHECK(PackCache::parse(MappedFile::borrow(bytes.data(), size, "short"), identity, &reason) == nullptr);
    }
  }

  SUBCASE("a rewritten model file misses, and its cache file is replaced") {
    const fs::path copy = tmp.path / "model";
    fs::copy(model, copy);
    const Run a = run(copy.string(), settings);
    CHECK(a.stats.pack_cache_written > 0);
    CHECK(cache_files(dir).size() == 2);
    // Same path, new modification time: the identity changes.
    const fs::path onnx = copy / "model.onnx";
    fs::last_write_time(onnx, fs::last_write_time(onnx) + std::chrono::seconds(5));
    const Run b = run(copy.string(), settings);
    CHECK_FALSE(b.stats.pack_cache_read);
    CHECK(b.stats.pack_cache_note.find("other model files") != std::string::npos);
    CHECK(b.logits == packed.logits);
    CHECK(run(copy.string(), settings).stats.pack_cache_read);
    // A model that is gone: the next cache write deletes its file.
    fs::remove_all(copy);
    fs::remove(file);
    run(model, settings);
    CHECK(cache_files(dir).size() == 1);
  }
}
