// Byte sources the readers pull from: a file, standard input ("-"), or memory (the
// embedded sample). Readers never hold a whole input: they read in chunks.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace ecostat::host {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes; returns 0 at end of input. Throws InputError on an I/O error.
  virtual size_t read(char* out, size_t n) = 0;
  // Name used in messages: the path, "<stdin>", or "sample:<name>".
  virtual const std::string& name() const = 0;
  // Total size when known (for progress), else 0.
  virtual size_t size_hint() const { return 0; }
};

// "-" opens standard input. Throws InputError naming the path when it cannot be opened.
std::unique_ptr<ByteSource> open_source(const std::string& path);
std::unique_ptr<ByteSource> memory_source(std::string name, const char* data, size_t size);

// Splits a source into lines (LF or CRLF) without copying when a line lies in one chunk.
// Lines longer than max_line are reported (too_long = true) and skipped whole, never split.
class LineReader {
 public:
  explicit LineReader(ByteSource& src, size_t max_line = 64u << 20);
  // Next line without its terminator (a view valid until the next call; empty when too_long);
  // false at end. line_number() is 1-based.
  bool next(std::string_view* line, bool* too_long);
  uint64_t line_number() const { return line_no_; }
  uint64_t bytes_consumed() const { return consumed_; }
  const std::string& name() const { return src_.name(); }

 private:
  bool refill();
  ByteSource& src_;
  size_t max_line_;
  std::string buf_;
  size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  uint64_t line_no_ = 0, consumed_ = 0;
};

}  // namespace ecostat::host
