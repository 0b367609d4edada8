// Byte sources the readers pull from: a file, standard input ("-"), or memory (the
// embedded sample). Readers never hold a whole input: they read in chunks.
#pragma once
#include <cstddef>
#include <cstdint>
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
  // True for a source that already yields decoded text (a DecodedSource), so a reader does
  // not sniff it twice.
  virtual bool decoded() const { return false; }
};

// What the first bytes of an input say it is (its magic bytes; the name plays no part).
enum class InputFormat { text, gzip, zstd, parquet, arrow_ipc, zip, bzip2, xz, lz4 };
// The format of an input starting with `head` (pass at least its first 8 bytes when there
// are that many). Anything without a known magic is text.
InputFormat sniff_format(std::string_view head);
const char* format_name(InputFormat f);  // "gzip", "Parquet", ...

// The text of a raw source. gzip (any number of concatenated members) and zstd (any number of
// frames) are decompressed as they stream, in chunks, whatever the source (a file, stdin,
// memory); plain text passes through. Another binary format (Parquet, Arrow IPC, zip, bzip2,
// xz, lz4) is an InputError naming the input and the format, as is corrupt or truncated
// compressed data (with the compressed byte offset). The bytes peeked to sniff are kept.
class DecodedSource final : public ByteSource {
 public:
  explicit DecodedSource(ByteSource& raw);
  ~DecodedSource() override;
  DecodedSource(const DecodedSource&) = delete;
  DecodedSource& operator=(const DecodedSource&) = delete;

  size_t read(char* out, size_t n) override;
  const std::string& name() const override;
  size_t size_hint() const override;  // the raw input's size: the compressed size
  bool decoded() const override { return true; }

  InputFormat format() const { return format_; }  // text, gzip or zstd
  bool compressed() const { return format_ != InputFormat::text; }
  // Raw (compressed) bytes the decoder has consumed so far: monotone, size_hint() at the end.
  uint64_t input_consumed() const;
  // Up to n next decoded bytes without consuming them (fewer only at the end of input).
  std::string_view peek(size_t n);

  class Decoder;  // internal (host/src/decompress.hpp)

 private:
  ByteSource& raw_;
  InputFormat format_ = InputFormat::text;
  std::unique_ptr<Decoder> decoder_;
  std::string ahead_;  // peeked decoded bytes, served before the decoder's
  size_t ahead_pos_ = 0;
};

// "-" opens standard input. Throws InputError naming the path when it cannot be opened.
std::unique_ptr<ByteSource> open_source(const std::string& path);
std::unique_ptr<ByteSource> memory_source(std::string name, const char* data, size_t size);

// Splits a source into lines (LF or CRLF) without copying when a line lies in one chunk.
// Lines longer than max_line are reported (too_long = true) and skipped whole, never split.
class LineReader {
 public:
  // Reads src through a DecodedSource (unless it is one), so every reader takes gzip and zstd.
  explicit LineReader(ByteSource& src, size_t max_line = 64u << 20);
  // Next line without its terminator (a view valid until the next call; empty when too_long);
  // false at end. line_number() is 1-based.
  bool next(std::string_view* line, bool* too_long);
  uint64_t line_number() const { return line_no_; }
  uint64_t bytes_consumed() const { return consumed_; }  // decoded bytes
  // Progress against the source's size_hint(): compressed bytes consumed for a compressed
  // input (monotone; it runs ahead of the lines by at most one read-ahead chunk), else
  // bytes_consumed().
  uint64_t progress_bytes() const;
  const std::string& name() const { return src_->name(); }

 private:
  bool refill();
  std::unique_ptr<DecodedSource> own_;  // when src was raw
  ByteSource* src_;
  DecodedSource* decoded_ = nullptr;    // src_ as a DecodedSource, when it is one
  size_t max_line_;
  std::string buf_;
  size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  uint64_t line_no_ = 0, consumed_ = 0;
};

}  // namespace ecostat::host
