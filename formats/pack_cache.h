// Packed weights kept across runs. Repacking a 2 GB int4 model for the
// kernels takes about a second on 2 cores; a later load of the same files
// maps the packed copy written by an earlier one instead (the first token of
// a 2 GB model then comes ~50 ms after start, plus prefill).
//
// One file per model (by the .onnx file's real path) in the cache directory:
//   header  "RLLMPAK1", u64 identity, u64 entry count, u64 index offset,
//           u64 index bytes, u64 file size, u64 path length (64 bytes with
//           padding), then the .onnx file's path, within the first 4096 bytes
//   blobs   each at a 4096-byte boundary after the first
//   index   per entry: u32 key length, key, u64 offset, u64 size
// The identity hashes the format version and each model file's path, device,
// inode, size and modification time: a rewritten model misses and its cache
// file is written again. Keys name the packing layout's version. A file that
// does not parse completely is not used (and is rewritten). Writing a cache
// file deletes those whose model file no longer exists.
//
// A new cache file is packed into directly (a shared mapping of the file as
// it grows), so a first load writes no second copy: the kernel writes the
// pages back after the process has moved on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "formats/mapped_file.h"
#include "formats/status.h"

namespace rllm {

class PackCache {
 public:
  struct Settings {
    std::string dir;  // empty: no cache
    // Models whose files are smaller get no cache: packing them costs less
    // than writing and mapping a file.
    size_t min_bytes = size_t{512} << 20;
  };
  // RLLM_PACK_CACHE: a directory, or "off" (nullopt); default
  // $XDG_CACHE_HOME/run-llm/packed, else ~/.cache/run-llm/packed.
  // RLLM_PACK_CACHE_MIN_MB: Settings::min_bytes.
  static std::optional<Settings> settings_from_env();

  // The cache for the model whose files are `model_files` (the .onnx first,
  // then its external data files); null when they add up to less than
  // min_bytes. A valid cache file serves every packed weight (find); otherwise
  // the weights are packed into a new one (allocate) that save() puts in place.
  static std::unique_ptr<PackCache> open(const Settings& settings, const std::vector<std::string>& model_files);
  // The cache file's bytes as open() reads them (tests, fuzzing): null unless
  // they are a complete cache for `identity`; *why says what is wrong.
  static std::unique_ptr<PackCache> parse(std::shared_ptr<const MappedFile> file, uint64_t identity, std::string* why);
  ~PackCache();

  // The blob stored under key, or null (with *size = 0).
  std::shared_ptr<const uint8_t> find(const std::string& key, size_t* size);
  // `size` bytes (4096-aligned, zeroed) of the new cache file to pack key's
  // blob into; null when there is no new file (a valid one was read) or it
  // cannot grow (the caller then packs into its own memory).
  std::shared_ptr<uint8_t> allocate(const std::string& key, size_t size);

  // Completes the new cache file (index, header) and renames it into place,
  // so a concurrent load sees the old file or the new one. Nothing is written
  // when a valid file served this load. Returns the file's size (0: none).
  Result<size_t> save();

  // The keys find() knows (a valid file's entries).
  std::vector<std::string> keys() const;
  const std::string& path() const { return path_; }
  // Why an existing cache file was not used, or why the new one is not kept.
  const std::string& note() const { return note_; }
  bool read_from_file() const { return file_ != nullptr; }
  size_t hits() const { return hits_; }
  uint64_t identity() const { return identity_; }

 private:
  PackCache() = default;
  // Opens the new cache file, at the first allocate(): a model with nothing
  // to pack gets none. False (with a note) when it cannot be made.
  bool create_tmp();
  // Deletes other cache files of this directory whose model file is gone,
  // and temporary files of processes that ended.
  void remove_orphans() const;
  struct Blob {
    std::shared_ptr<const uint8_t> data;
    size_t offset = 0, size = 0;
  };
  std::shared_ptr<const MappedFile> file_;  // a valid file being read, or null
  std::map<std::string, Blob> blobs_;       // stored in file_, or written to the new file
  std::string path_, tmp_path_, note_;
  std::string model_path_;  // the .onnx file's real path, kept in the header page
  int tmp_fd_ = -1;
  uint64_t tmp_size_ = 0;  // bytes of the new file so far (header page + blobs)
  bool failed_ = false;    // the new file cannot be completed
  uint64_t identity_ = 0;
  size_t hits_ = 0;
};

}  // namespace rllm
