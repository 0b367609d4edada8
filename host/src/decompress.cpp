// Streaming gzip and zstd decoding for DecodedSource. Memory stays bounded whatever the
// compression ratio: each read() decodes at most what the caller asked for, from an input
// buffer of fixed size (zstd's window is capped by libzstd's default, 128 MiB).
#include "decompress.hpp"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "ecostat/errors.hpp"

namespace ecostat::host {

namespace {

constexpr size_t kInputChunk = 256u << 10;

}  // namespace

size_t RawInput::read(char* out, size_t n) {
  size_t got;
  if (head_pos_ < head_.size()) {
    got = std::min(n, head_.size() - head_pos_);
    std::memcpy(out, head_.data() + head_pos_, got);
    head_pos_ += got;
  } else {
    got = src_.read(out, n);
  }
  consumed_ += got;
  return got;
}

namespace {

class PlainDecoder final : public DecodedSource::Decoder {
 public:
  explicit PlainDecoder(RawInput in) : in_(std::move(in)) {}
  size_t read(char* out, size_t n) override { return in_.read(out, n); }
  uint64_t input_consumed() const override { return in_.consumed(); }

 private:
  RawInput in_;
};

// Compressed input kept in a fixed buffer; [pos, end) is not yet consumed by the decoder.
class InputBuffer {
 public:
  explicit InputBuffer(RawInput in) : in_(std::move(in)), buf_(kInputChunk) {}
  // Reads more when everything was consumed; false at the end of the raw input.
  bool refill() {
    if (pos_ < end_) return true;
    pos_ = end_ = 0;
    end_ = in_.read(reinterpret_cast<char*>(buf_.data()), buf_.size());
    eof_ = end_ == 0;
    return !eof_;
  }
  // Makes at least k bytes available when the input holds them (k is small).
  void want(size_t k) {
    if (end_ - pos_ >= k || eof_) return;
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
    while (end_ < k) {
      const size_t got = in_.read(reinterpret_cast<char*>(buf_.data()) + end_, buf_.size() - end_);
      if (got == 0) {
        eof_ = true;
        return;
      }
      end_ += got;
    }
  }
  unsigned char* data() { return buf_.data() + pos_; }
  size_t available() const { return end_ - pos_; }
  void consume(size_t k) { pos_ += k; }
  bool at_eof() const { return eof_ && pos_ == end_; }
  uint64_t consumed() const { return in_.consumed() - (end_ - pos_); }
  const std::string& name() const { return in_.name(); }

 private:
  RawInput in_;
  std::vector<unsigned char> buf_;
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
};

// gzip members one after another (concatenated .gz files, pigz/bgzip output), each checked
// against its CRC and length by zlib.
class GzipDecoder final : public DecodedSource::Decoder {
 public:
  explicit GzipDecoder(RawInput in) : in_(std::move(in)) {
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) fail("cannot initialise zlib");
  }
  ~GzipDecoder() override { inflateEnd(&z_); }
  GzipDecoder(const GzipDecoder&) = delete;
  GzipDecoder& operator=(const GzipDecoder&) = delete;

  uint64_t input_consumed() const override { return in_.consumed(); }

  size_t read(char* out, size_t n) override {
    if (n == 0) return 0;
    for (;;) {
      if (between_members_ && !start_member()) return 0;
      if (in_.available() == 0) in_.refill();
      z_.next_in = in_.data();
      z_.avail_in = static_cast<uInt>(std::min<size_t>(in_.available(), UINT32_MAX));
      z_.next_out = reinterpret_cast<Bytef*>(out);
      z_.avail_out = static_cast<uInt>(std::min<size_t>(n, UINT32_MAX));
      const uInt had_in = z_.avail_in;
      const int r = inflate(&z_, Z_NO_FLUSH);
      in_.consume(had_in - z_.avail_in);
      const size_t produced = std::min<size_t>(n, UINT32_MAX) - z_.avail_out;
      if (r == Z_STREAM_END) {
        between_members_ = true;
      } else if (r == Z_OK || r == Z_BUF_ERROR) {
        // No output and no input left: the member stops short of its end.
        if (produced == 0 && in_.at_eof()) fail("unexpected end of stream");
      } else {
        fail(std::string("corrupt data (") + (z_.msg ? z_.msg : "zlib error " + std::to_string(r)) + ")");
      }
      if (produced > 0) return produced;
    }
  }

 private:
  // After a member: the end of input, or the next member's magic. False at the end.
  bool start_member() {
    in_.want(2);
    if (in_.at_eof()) return false;
    const unsigned char* p = in_.data();
    if (in_.available() < 2 || p[0] != 0x1f || p[1] != 0x8b) fail("trailing data that is not a gzip member");
    if (inflateReset(&z_) != Z_OK) fail("cannot reset zlib");
    between_members_ = false;
    return true;
  }
  [[noreturn]] void fail(const std::string& why) const {
    throw InputError(in_.name(), 0, "", "gzip: " + why + " at compressed byte " + std::to_string(in_.consumed()));
  }

  InputBuffer in_;
  z_stream z_{};
  bool between_members_ = true;
};

// zstd frames one after another (skippable frames included); libzstd starts the next frame
// by itself.
class ZstdDecoder final : public DecodedSource::Decoder {
 public:
  explicit ZstdDecoder(RawInput in) : in_(std::move(in)), ds_(ZSTD_createDStream()) {
    if (!ds_) fail("cannot initialise libzstd");
  }
  ~ZstdDecoder() override { ZSTD_freeDStream(ds_); }
  ZstdDecoder(const ZstdDecoder&) = delete;
  ZstdDecoder& operator=(const ZstdDecoder&) = delete;

  uint64_t input_consumed() const override { return in_.consumed(); }

  size_t read(char* out, size_t n) override {
    if (n == 0) return 0;
    for (;;) {
      if (in_.available() == 0) in_.refill();
      // At the end of input a frame may still have output to flush: one more call tells.
      if (in_.at_eof() && !frame_open_) return 0;
      ZSTD_inBuffer zin{in_.data(), in_.available(), 0};
      ZSTD_outBuffer zout{out, n, 0};
      const size_t r = ZSTD_decompressStream(ds_, &zout, &zin);
      in_.consume(zin.pos);
      if (ZSTD_isError(r)) fail(std::string("corrupt data (") + ZSTD_getErrorName(r) + ")");
      frame_open_ = r != 0;
      if (zout.pos > 0) return zout.pos;
      if (in_.at_eof() && frame_open_) fail("unexpected end of stream");
    }
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw InputError(in_.name(), 0, "", "zstd: " + why + " at compressed byte " + std::to_string(in_.consumed()));
  }

  InputBuffer in_;
  ZSTD_DStream* ds_;
  bool frame_open_ = false;
};

}  // namespace

std::unique_ptr<DecodedSource::Decoder> plain_decoder(RawInput in) { return std::make_unique<PlainDecoder>(std::move(in)); }
std::unique_ptr<DecodedSource::Decoder> gzip_decoder(RawInput in) { return std::make_unique<GzipDecoder>(std::move(in)); }
std::unique_ptr<DecodedSource::Decoder> zstd_decoder(RawInput in) { return std::make_unique<ZstdDecoder>(std::move(in)); }

}  // namespace ecostat::host
