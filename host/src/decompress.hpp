// Streaming decoders behind DecodedSource: plain pass-through, gzip (zlib) and zstd (libzstd).
// Internal to the host layer.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "ecostat/host/source.hpp"

namespace ecostat::host {

// The raw bytes of a source: first those peeked to sniff its format, then the rest. Counts
// what it hands out.
class RawInput {
 public:
  RawInput(ByteSource& src, std::string head) : src_(src), head_(std::move(head)) {}
  size_t read(char* out, size_t n);
  uint64_t consumed() const { return consumed_; }
  const std::string& name() const { return src_.name(); }

 private:
  ByteSource& src_;
  std::string head_;
  size_t head_pos_ = 0;
  uint64_t consumed_ = 0;
};

class DecodedSource::Decoder {
 public:
  virtual ~Decoder() = default;
  // Up to n decoded bytes; 0 at the end. Throws InputError on corrupt or truncated input.
  virtual size_t read(char* out, size_t n) = 0;
  // Raw bytes the decoder has used (read and not still waiting in its input buffer).
  virtual uint64_t input_consumed() const = 0;
};

std::unique_ptr<DecodedSource::Decoder> plain_decoder(RawInput in);
std::unique_ptr<DecodedSource::Decoder> gzip_decoder(RawInput in);
std::unique_ptr<DecodedSource::Decoder> zstd_decoder(RawInput in);

}  // namespace ecostat::host
