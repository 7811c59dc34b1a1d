// Read-only memory mapping of a whole file. Move-only; unmaps on destruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "status.h"

namespace rllm {

class MappedFile {
 public:
  // willneed: start reading the file in the background, pages fault in on
  // first use; populate: map every page before returning (a file read whole
  // and at once, e.g. packed weights); none: pages fault in on first use only.
  enum class Prefetch { willneed, populate, none };
  static Result<std::shared_ptr<const MappedFile>> open(const std::string& path,
                                                        Prefetch prefetch = Prefetch::willneed);
  // Wraps caller-owned bytes (loading from memory); the caller keeps them alive.
  static std::shared_ptr<const MappedFile> borrow(const void* data, size_t size, std::string name);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Starts reading the whole file in the background (Prefetch::willneed after
  // the fact): for a file opened with Prefetch::none that turns out to be read
  // whole. Borrowed memory is left alone.
  void willneed() const;
  // Returns the whole pages of [p, p + n) inside this mapping to the kernel
  // (a later read faults them in again from the file): bytes read once at
  // load, e.g. weights that were repacked, then stop counting as resident.
  // Borrowed memory is left alone.
  void drop_pages(const void* p, size_t n) const;

 private:
  MappedFile(const uint8_t* data, size_t size, std::string path, bool owned)
      : data_(data), size_(size), path_(std::move(path)), owned_(owned) {}
  const uint8_t* data_;
  size_t size_;
  std::string path_;
  bool owned_;
};

}  // namespace rllm
