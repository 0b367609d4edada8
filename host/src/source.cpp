// Byte sources (file, stdin, memory) and the line splitter the readers pull through.
#include "ecostat/host/source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "decompress.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/host/parquet.hpp"

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
// Format sniffing and DecodedSource.

InputFormat sniff_format(std::string_view h) {
  auto starts = [&](const char* magic, size_t n) { return h.size() >= n && std::memcmp(h.data(), magic, n) == 0; };
  if (starts("\x1f\x8b", 2)) return InputFormat::gzip;
  if (starts("\x28\xb5\x2f\xfd", 4)) return InputFormat::zstd;
  // A zstd skippable frame (magic 0x184D2A50..5F, little endian) may open a zstd stream.
  if (h.size() >= 4 && (static_cast<unsigned char>(h[0]) & 0xf0) == 0x50 && std::memcmp(h.data() + 1, "\x2a\x4d\x18", 3) == 0)
    return InputFormat::zstd;
  if (starts("PAR1", 4)) return InputFormat::parquet;
  if (starts("ARROW1", 6) || starts("\xff\xff\xff\xff", 4)) return InputFormat::arrow_ipc;  // file, or stream
  if (starts("PK\x03\x04", 4) || starts("PK\x05\x06", 4)) return InputFormat::zip;
  if (starts("BZh", 3) && h.size() >= 4 && h[3] >= '1' && h[3] <= '9') return InputFormat::bzip2;
  if (starts("\xfd" "7zXZ\x00", 6)) return InputFormat::xz;
  if (starts("\x04\x22\x4d\x18", 4)) return InputFormat::lz4;
  return InputFormat::text;
}

const char* format_name(InputFormat f) {
  switch (f) {
    case InputFormat::text: return "text";
    case InputFormat::gzip: return "gzip";
    case InputFormat::zstd: return "zstd";
    case InputFormat::parquet: return "Parquet";
    case InputFormat::arrow_ipc: return "Arrow IPC";
    case InputFormat::zip: return "zip";
    case InputFormat::bzip2: return "bzip2";
    case InputFormat::xz: return "xz";
    case InputFormat::lz4: return "lz4";
  }
  return "unknown";
}

bool is_parquet_file(const std::string& path) {
  if (path == "-") return false;
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return false;
  struct stat st {};
  char magic[4];
  const bool parquet = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ::pread(fd, magic, sizeof magic, 0) == sizeof magic &&
                       sniff_format(std::string_view(magic, sizeof magic)) == InputFormat::parquet;
  ::close(fd);
  return parquet;
}

namespace {

constexpr size_t kSniffBytes = 8;

// The first bytes of a source (fewer only when it is shorter).
std::string read_head(ByteSource& src) {
  std::string head(kSniffBytes, '\0');
  size_t have = 0;
  while (have < kSniffBytes) {
    const size_t got = src.read(&head[have], kSniffBytes - have);
    if (got == 0) break;
    have += got;
  }
  head.resize(have);
  return head;
}

// Why an input of format f cannot be read as text; formats, like Parquet, that another
// producer reads say which build option brings it.
[[noreturn]] void reject_binary(const std::string& name, InputFormat f, bool inside_compressed) {
  std::string why = std::string("a ") + format_name(f) + " file" + (inside_compressed ? " inside compressed data" : "") +
                    ", not JSON Lines or CSV text";
  if (f == InputFormat::parquet)
    why += parquet_supported() ? ": Parquet is read from a file path given as repositories or downloads, not from "
                                 "standard input, compressed data or this input"
                               : std::string(": ") + kParquetNotBuilt;
  else if (f == InputFormat::arrow_ipc)
    why += ": Arrow IPC files are not read; give Parquet, or pass Arrow data through the library API";
  else if (f == InputFormat::gzip || f == InputFormat::zstd)
    why += ": compressed twice";
  else
    why += ": decompress it first (gzip and zstd are read directly)";
  throw InputError(name, 0, "", why);
}

}  // namespace

DecodedSource::DecodedSource(ByteSource& raw) : raw_(raw) {
  std::string head = read_head(raw_);
  format_ = sniff_format(head);
  switch (format_) {
    case InputFormat::text: decoder_ = plain_decoder(RawInput(raw_, std::move(head))); return;
    case InputFormat::gzip: decoder_ = gzip_decoder(RawInput(raw_, std::move(head))); break;
    case InputFormat::zstd: decoder_ = zstd_decoder(RawInput(raw_, std::move(head))); break;
    default: reject_binary(raw_.name(), format_, false);
  }
  // What the compressed data holds must be text too (a .parquet.gz, a .gz.gz).
  const InputFormat inner = sniff_format(peek(kSniffBytes));
  if (inner != InputFormat::text) reject_binary(raw_.name(), inner, true);
}

DecodedSource::~DecodedSource() = default;

size_t DecodedSource::read(char* out, size_t n) {
  if (ahead_pos_ < ahead_.size()) {
    const size_t k = std::min(n, ahead_.size() - ahead_pos_);
    std::memcpy(out, ahead_.data() + ahead_pos_, k);
    ahead_pos_ += k;
    if (ahead_pos_ == ahead_.size()) {
      ahead_.clear();
      ahead_pos_ = 0;
    }
    return k;
  }
  return decoder_->read(out, n);
}

std::string_view DecodedSource::peek(size_t n) {
  if (ahead_pos_ > 0) {
    ahead_.erase(0, ahead_pos_);
    ahead_pos_ = 0;
  }
  while (ahead_.size() < n) {
    const size_t have = ahead_.size();
    ahead_.resize(n);
    const size_t got = decoder_->read(&ahead_[have], n - have);
    ahead_.resize(have + got);
    if (got == 0) break;
  }
  return std::string_view(ahead_).substr(0, std::min(n, ahead_.size()));
}

const std::string& DecodedSource::name() const { return raw_.name(); }
size_t DecodedSource::size_hint() const { return raw_.size_hint(); }
uint64_t DecodedSource::input_consumed() const { return decoder_->input_consumed(); }

// ---------------------------------------------------------------------------------------------
// LineReader. buf_ holds [begin_, end_) unread bytes. Reads append at end_ in chunks of
// kChunk; the buffer grows only while a single line does not fit, up to max_line + kChunk.

namespace {
constexpr size_t kChunk = 1u << 20;  // 1 MiB per read()
}

LineReader::LineReader(ByteSource& src, size_t max_line)
    : src_(&src), max_line_(std::min<size_t>(std::max<size_t>(max_line, 1), SIZE_MAX / 4)) {
  if (src.decoded()) {
    decoded_ = dynamic_cast<DecodedSource*>(&src);
  } else {
    own_ = std::make_unique<DecodedSource>(src);
    src_ = decoded_ = own_.get();
  }
  buf_.resize(kChunk);
}

uint64_t LineReader::progress_bytes() const {
  return decoded_ && decoded_->compressed() ? decoded_->input_consumed() : consumed_;
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
  const size_t got = src_->read(&buf_[end_], buf_.size() - end_);
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
