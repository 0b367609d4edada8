// A plain file mapped read-only, for the parallel readers (download_reader_parallel.cpp,
// repo_reader_parallel.cpp), and the line-boundary helper they cut it with. Internal to host/.
#pragma once
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>

#include "ecostat/host/source.hpp"

namespace ecostat::host::detail {

class MappedFile {
 public:
  // Maps `path` when it is a regular file of at least min_bytes holding plain text (not gzip,
  // zstd, Parquet, ...: sniff_format); false when it is not, or cannot be opened or mapped (then
  // the caller's sequential reader reads it, or reports why).
  bool open_plain_text(const std::string& path, size_t min_bytes) {
    if (path == "-") return false;
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return false;
    struct stat st {};
    if (fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode) || size_t(st.st_size) < min_bytes || st.st_size == 0) return false;
    void* m = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, fd_, 0);
    if (m == MAP_FAILED) return false;
    data_ = static_cast<const char*>(m);
    size_ = size_t(st.st_size);
    madvise(m, size_, MADV_SEQUENTIAL);
    return sniff_format(std::string_view(data_, std::min<size_t>(size_, 16))) == InputFormat::text;
  }
  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (data_) munmap(const_cast<char*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
  }
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  // The text before `end` has been parsed and applied: its pages leave this process's resident
  // set (they stay in the page cache), so the memory a read holds is its tables and about one
  // wave, not the whole file. Reading them again stays correct: a private, unmodified file
  // mapping faults them back in from the file.
  void release_before(size_t end) {
    const size_t page = size_t(::sysconf(_SC_PAGESIZE));
    const size_t upto = std::min(end, size_) / page * page;
    if (data_ == nullptr || upto <= released_) return;
    madvise(const_cast<char*>(data_) + released_, upto - released_, MADV_DONTNEED);
    released_ = upto;
  }

 private:
  int fd_ = -1;
  const char* data_ = nullptr;
  size_t size_ = 0;
  size_t released_ = 0;  // page-aligned: [0, released_) dropped by release_before
};

// The byte after the first '\n' at or after `at` (or `size`): where a chunk cut there ends.
inline size_t line_end_after(const char* data, size_t size, size_t at) {
  if (at >= size) return size;
  const void* nl = std::memchr(data + at, '\n', size - at);
  return nl ? size_t(static_cast<const char*>(nl) - data) + 1 : size;
}

// The end of the chunk of data[begin, size) that starts at begin (begin < size): about `chunk`
// bytes (at least one), carried on to the end of the line they end in.
inline size_t chunk_end(const char* data, size_t size, size_t begin, size_t chunk) {
  return line_end_after(data, size, std::min(size, begin + std::max<size_t>(chunk, 1)) - 1);
}

}  // namespace ecostat::host::detail
