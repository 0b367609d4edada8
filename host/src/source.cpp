// Byte sources (file, stdin, memory) and the line splitter the readers pull through.
#include "ecostat/host/source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "ecostat/errors.hpp"

namespace ecostat::host {

namespace {

// A POSIX file descriptor read with large read() calls. Owns the descriptor unless it is stdin.
class FdSource final : public ByteSource {
 public:
  FdSource(int fd, std::string name, bool owned, size_t size) : fd_(fd), owned_(owned), size_(size), name_(std::move(name)) {}
  ~FdSource() override {
    if (owned_ && fd_ >= 0) ::close(fd_);
  }
  FdSource(const FdSource&) = delete;
  FdSource& operator=(const FdSource&) = delete;

  size_t read(char* out, size_t n) override {
    if (n == 0 || eof_) return 0;
    for (;;) {
      const ssize_t got = ::read(fd_, out, n);
      if (got > 0) return static_cast<size_t>(got);
      if (got == 0) {
        eof_ = true;
        return 0;
      }
      if (errno == EINTR) continue;
      throw InputError(name_, 0, "", std::string("read error: ") + std::strerror(errno));
    }
  }
  const std::string& name() const override { return name_; }
  size_t size_hint() const override { return size_; }

 private:
  int fd_;
  bool owned_;
  bool eof_ = false;
  size_t size_;
  std::string name_;
};

class MemorySource final : public ByteSource {
 public:
  MemorySource(std::string name, const char* data, size_t size) : name_(std::move(name)), data_(data), size_(size) {}
  size_t read(char* out, size_t n) override {
    const size_t k = std::min(n, size_ - pos_);
    if (k) std::memcpy(out, data_ + pos_, k);
    pos_ += k;
    return k;
  }
  const std::string& name() const override { return name_; }
  size_t size_hint() const override { return size_; }

 private:
  std::string name_;
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<ByteSource> open_source(const std::string& path) {
  if (path == "-") {
    struct stat st {};
    size_t size = 0;
    if (::fstat(0, &st) == 0 && S_ISREG(st.st_mode)) size = static_cast<size_t>(st.st_size);
    return std::make_unique<FdSource>(0, "<stdin>", false, size);
  }
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw InputError(path, 0, "", std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw InputError(path, 0, "", std::string("cannot stat: ") + std::strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw InputError(path, 0, "", "cannot open: is a directory");
  }
#ifdef POSIX_FADV_SEQUENTIAL
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  const size_t size = S_ISREG(st.st_mode) ? static_cast<size_t>(st.st_size) : 0;
  return std::make_unique<FdSource>(fd, path, true, size);
}

std::unique_ptr<ByteSource> memory_source(std::string name, const char* data, size_t size) {
  return std::make_unique<MemorySource>(std::move(name), data, size);
}

// ---------------------------------------------------------------------------------------------
// LineReader. buf_ holds [begin_, end_) unread bytes. Reads append at end_ in chunks of
// kChunk; the buffer grows only while a single line does not fit, up to max_line + kChunk.

namespace {
constexpr size_t kChunk = 1u << 20;  // 1 MiB per read()
}

LineReader::LineReader(ByteSource& src, size_t max_line)
    : src_(src), max_line_(std::min<size_t>(std::max<size_t>(max_line, 1), SIZE_MAX / 4)) {
  buf_.resize(kChunk);
}

// Makes room and reads once more; false at end of input (nothing more was read).
bool LineReader::refill() {
  if (eof_) return false;
  if (begin_ > 0) {  // compact: move the unread tail to the front
    const size_t pending = end_ - begin_;
    if (pending) std::memmove(&buf_[0], &buf_[begin_], pending);
    begin_ = 0;
    end_ = pending;
  }
  if (end_ + kChunk / 2 > buf_.size()) {
    // Grow geometrically, but never far beyond what the longest accepted line needs.
    const size_t cap = std::max(max_line_ + 2 + kChunk, end_ + kChunk);
    buf_.resize(std::min(std::max(buf_.size() * 2, end_ + kChunk), cap));
  }
  const size_t got = src_.read(&buf_[end_], buf_.size() - end_);
  if (got == 0) {
    eof_ = true;
    return false;
  }
  end_ += got;
  return true;
}

bool LineReader::next(std::string_view* line, bool* too_long) {
  *too_long = false;
  size_t scan_from = begin_;  // bytes in [begin_, scan_from) are known to hold no '\n'
  for (;;) {
    const char* base = buf_.data();
    const void* nl = (scan_from < end_) ? std::memchr(base + scan_from, '\n', end_ - scan_from) : nullptr;
    if (nl) {
      const size_t pos = static_cast<size_t>(static_cast<const char*>(nl) - base);
      size_t len = pos - begin_;
      consumed_ += len + 1;
      ++line_no_;
      const size_t start = begin_;
      begin_ = pos + 1;
      if (len > 0 && base[start + len - 1] == '\r') --len;
      if (len > max_line_) {
        *too_long = true;
        *line = std::string_view();
      } else {
        *line = std::string_view(base + start, len);
      }
      return true;
    }
    const size_t pending = end_ - begin_;
    if (pending > max_line_ + 1) {
      // Too long (the +1 leaves room for a CR before the LF): skip to the end of this line
      // without keeping it.
      consumed_ += pending;
      begin_ = end_ = 0;
      for (;;) {
        if (!refill()) {  // the over-long line was the last one, without a terminator
          ++line_no_;
          *too_long = true;
          *line = std::string_view();
          return true;
        }
        const void* p = std::memchr(buf_.data(), '\n', end_);
        if (p) {
          const size_t pos = static_cast<size_t>(static_cast<const char*>(p) - buf_.data());
          consumed_ += pos + 1;
          begin_ = pos + 1;
          ++line_no_;
          *too_long = true;
          *line = std::string_view();
          return true;
        }
        consumed_ += end_;
        end_ = 0;
      }
    }
    const size_t scanned = end_ - begin_;  // all of the pending bytes were searched
    if (!refill()) {
      if (begin_ == end_) return false;
      // Last line without a terminator.
      size_t len = end_ - begin_;
      const size_t start = begin_;
      consumed_ += len;
      ++line_no_;
      begin_ = end_;
      if (len > 0 && buf_[start + len - 1] == '\r') --len;
      if (len > max_line_) {
        *too_long = true;
        *line = std::string_view();
      } else {
        *line = std::string_view(buf_.data() + start, len);
      }
      return true;
    }
    scan_from = begin_ + scanned;  // refill moved the pending bytes to the front
  }
}

}  // namespace ecostat::host
