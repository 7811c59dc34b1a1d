#include "formats/pack_cache.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace rllm {
namespace {

constexpr char kMagic[8] = {'R', 'L', 'L', 'M', 'P', 'A', 'K', '1'};
constexpr size_t kHeaderBytes = 64;
constexpr size_t kBlobAlign = 4096;
constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ull;

uint64_t fnv1a(uint64_t h, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

uint64_t read_u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

uint64_t align_up(uint64_t x) { return (x + kBlobAlign - 1) / kBlobAlign * kBlobAlign; }

bool write_all(int fd, const void* p, size_t n, off_t offset) {
  const auto* b = static_cast<const uint8_t*>(p);
  while (n > 0) {
    ssize_t w = ::pwrite(fd, b, n, offset);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    b += w;
    n -= static_cast<size_t>(w);
    offset += w;
  }
  return true;
}

}  // namespace

std::optional<PackCache::Settings> PackCache::settings_from_env() {
  Settings s;
  const char* env = std::getenv("RLLM_PACK_CACHE");
  if (env != nullptr && *env != '\0') {
    if (std::string(env) != "off") s.dir = env;
  } else if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    s.dir = std::string(xdg) + "/run-llm/packed";
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    s.dir = std::string(home) + "/.cache/run-llm/packed";
  }
  if (const char* mb = std::getenv("RLLM_PACK_CACHE_MIN_MB"); mb != nullptr && *mb != '\0') {
    char* end = nullptr;
    unsigned long long v = std::strtoull(mb, &end, 10);
    if (end != mb && *end == '\0') s.min_bytes = static_cast<size_t>(v) << 20;
  }
  if (s.dir.empty()) return std::nullopt;
  return s;
}

std::unique_ptr<PackCache> PackCache::open(const Settings& settings, const std::vector<std::string>& model_files) {
  if (settings.dir.empty() || model_files.empty()) return nullptr;
  std::error_code ec;
  uint64_t identity = fnv1a(kFnvBasis, kMagic, sizeof kMagic);
  uint64_t total = 0;
  std::string onnx_real;
  for (const std::string& f : model_files) {
    std::string real = std::filesystem::weakly_canonical(f, ec).string();
    if (ec) real = f;
    if (onnx_real.empty()) onnx_real = real;
    struct stat st {};
    if (::stat(f.c_str(), &st) != 0) return nullptr;
    const uint64_t facts[5] = {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                               static_cast<uint64_t>(st.st_size), static_cast<uint64_t>(st.st_mtim.tv_sec),
                               static_cast<uint64_t>(st.st_mtim.tv_nsec)};
    identity = fnv1a(identity, real.data(), real.size() + 1);
    identity = fnv1a(identity, facts, sizeof facts);
    total += static_cast<uint64_t>(st.st_size);
  }
  if (total < settings.min_bytes) return nullptr;
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.rllmpack",
                static_cast<unsigned long long>(fnv1a(kFnvBasis, onnx_real.data(), onnx_real.size())));
  const std::string path = settings.dir + "/" + name;

  std::unique_ptr<PackCache> cache;
  std::string why;
  if (std::filesystem::exists(path, ec)) {
    auto file = MappedFile::open(path, MappedFile::Prefetch::populate);
    if (file.ok()) cache = parse(std::move(file).value(), identity, &why);
    else why = file.status().message();
  }
  if (cache == nullptr) {
    cache = std::unique_ptr<PackCache>(new PackCache());
    cache->note_ = why;
    cache->tmp_path_ = path + ".tmp" + std::to_string(::getpid());
  }
  cache->path_ = path;
  cache->model_path_ = onnx_real.substr(0, kBlobAlign - kHeaderBytes);
  cache->identity_ = identity;
  return cache;
}

std::unique_ptr<PackCache> PackCache::parse(std::shared_ptr<const MappedFile> file, uint64_t identity,
                                            std::string* why) {
  const uint8_t* d = file->data();
  const uint64_t n = file->size();
  auto reject = [&](const char* what) -> std::unique_ptr<PackCache> {
    *why = file->path() + ": " + what + "; packing the weights again";
    return nullptr;
  };
  if (n < kHeaderBytes || std::memcmp(d, kMagic, sizeof kMagic) != 0) return reject("not a run-llm pack cache");
  if (read_u64(d + 8) != identity) return reject("written for other model files");
  const uint64_t count = read_u64(d + 16), index_off = read_u64(d + 24), index_bytes = read_u64(d + 32);
  if (read_u64(d + 40) != n || index_off < kBlobAlign || index_off > n || index_bytes != n - index_off ||
      read_u64(d + 48) > kBlobAlign - kHeaderBytes)
    return reject("truncated");
  auto cache = std::unique_ptr<PackCache>(new PackCache());
  const uint8_t* p = d + index_off;
  const uint8_t* end = d + n;
  for (uint64_t i = 0; i < count; ++i) {
    if (end - p < 4) return reject("truncated index");
    uint32_t key_len;
    std::memcpy(&key_len, p, 4);
    p += 4;
    if (static_cast<uint64_t>(end - p) < uint64_t{key_len} + 16) return reject("truncated index");
    std::string key(reinterpret_cast<const char*>(p), key_len);
    p += key_len;
    const uint64_t off = read_u64(p), size = read_u64(p + 8);
    p += 16;
    if (off % kBlobAlign != 0 || off < kBlobAlign || off > index_off || size > index_off - off)
      return reject("an entry lies outside the file");
    cache->blobs_[key] = Blob{std::shared_ptr<const uint8_t>(file, d + off), static_cast<size_t>(off),
                              static_cast<size_t>(size)};
  }
  if (p != end) return reject("index size mismatch");
  cache->file_ = std::move(file);
  cache->identity_ = identity;
  return cache;
}

PackCache::~PackCache() {
  if (tmp_fd_ >= 0) {
    ::close(tmp_fd_);
    ::unlink(tmp_path_.c_str());
  }
}

std::shared_ptr<const uint8_t> PackCache::find(const std::string& key, size_t* size) {
  *size = 0;
  if (file_ == nullptr) return nullptr;
  auto it = blobs_.find(key);
  if (it == blobs_.end()) {
    // The file was written by a run that packed different ops: the next load
    // writes a complete one.
    note_ = path_ + ": has no '" + key + "'; the next load packs every weight again";
    ::unlink(path_.c_str());
    return nullptr;
  }
  ++hits_;
  *size = it->second.size;
  return it->second.data;
}

std::vector<std::string> PackCache::keys() const {
  std::vector<std::string> k;
  if (file_ != nullptr)
    for (const auto& [key, blob] : blobs_) k.push_back(key);
  return k;
}

bool PackCache::create_tmp() {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
  tmp_fd_ = ::open(tmp_path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (tmp_fd_ < 0) {
    failed_ = true;
    note_ = tmp_path_ + ": cannot create: " + std::strerror(errno) + "; weights are packed in memory";
    return false;
  }
  tmp_size_ = kBlobAlign;  // the header's page
  return true;
}

std::shared_ptr<uint8_t> PackCache::allocate(const std::string& key, size_t size) {
  if (file_ != nullptr || failed_ || size == 0) return nullptr;
  if (tmp_fd_ < 0 && !create_tmp()) return nullptr;
  const uint64_t off = tmp_size_;
  // Reserve the blocks first: a write through the mapping to a full disk
  // would be a SIGBUS, a failed fallocate is a message.
  int err = ::posix_fallocate(tmp_fd_, static_cast<off_t>(off), static_cast<off_t>(align_up(size)));
  void* p = err == 0 ? ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, tmp_fd_, static_cast<off_t>(off))
                     : MAP_FAILED;
  if (p == MAP_FAILED) {
    failed_ = true;
    note_ = tmp_path_ + ": cannot grow: " + std::strerror(err != 0 ? err : errno) + "; weights are packed in memory";
    return nullptr;
  }
  tmp_size_ = off + align_up(size);
  std::shared_ptr<uint8_t> data(static_cast<uint8_t*>(p), [size](uint8_t* q) { ::munmap(q, size); });
  blobs_[key] = Blob{data, static_cast<size_t>(off), size};
  return data;
}

Result<size_t> PackCache::save() {
  if (tmp_fd_ < 0) return size_t{0};
  const int fd = tmp_fd_;
  tmp_fd_ = -1;
  auto discard = [&](std::string why) -> Result<size_t> {
    ::close(fd);
    ::unlink(tmp_path_.c_str());
    if (why.empty()) return size_t{0};
    return Status::error(why);
  };
  if (failed_ || blobs_.empty()) return discard("");
  std::string index;
  auto put = [&index](const void* v, size_t n) { index.append(static_cast<const char*>(v), n); };
  for (const auto& [key, blob] : blobs_) {
    const uint32_t key_len = static_cast<uint32_t>(key.size());
    const uint64_t off = blob.offset, size = blob.size;
    put(&key_len, 4);
    index += key;
    put(&off, 8);
    put(&size, 8);
  }
  const uint64_t index_off = tmp_size_, file_size = tmp_size_ + index.size();
  std::string header(kHeaderBytes, '\0');
  std::memcpy(header.data(), kMagic, sizeof kMagic);
  const uint64_t fields[6] = {identity_, blobs_.size(), index_off, index.size(), file_size, model_path_.size()};
  std::memcpy(header.data() + 8, fields, sizeof fields);
  header += model_path_;
  if (!write_all(fd, index.data(), index.size(), static_cast<off_t>(index_off)) ||
      !write_all(fd, header.data(), header.size(), 0))
    return discard(tmp_path_ + ": cannot write the pack cache: " + std::strerror(errno));
  if (::close(fd) != 0 || ::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp_path_.c_str());
    return Status::error(path_ + ": cannot write the pack cache: " + std::strerror(e));
  }
  remove_orphans();
  return static_cast<size_t>(file_size);
}

void PackCache::remove_orphans() const {
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string(), file = entry.path().string();
    if (file == path_) continue;
    const size_t tmp = name.find(".rllmpack.tmp");
    if (tmp != std::string::npos) {
      const std::string pid = name.substr(tmp + 13);
      if (!pid.empty() && pid.find_first_not_of("0123456789") == std::string::npos &&
          ::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH)
        ::unlink(file.c_str());
      continue;
    }
    if (name.size() < 9 || name.compare(name.size() - 9, 9, ".rllmpack") != 0) continue;
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    uint8_t head[kBlobAlign];
    const ssize_t got = ::pread(fd, head, sizeof head, 0);
    ::close(fd);
    if (got < static_cast<ssize_t>(kHeaderBytes) || std::memcmp(head, kMagic, sizeof kMagic) != 0) continue;
    const uint64_t len = read_u64(head + 48);
    if (len == 0 || len > static_cast<uint64_t>(got) - kHeaderBytes) continue;
    const std::string model(reinterpret_cast<const char*>(head + kHeaderBytes), len);
    if (!std::filesystem::exists(model, ec) && !ec) ::unlink(file.c_str());
  }
}

}  // namespace rllm
