// A byte source that hands out at most `step` bytes per read, so every chunk boundary of a
// reader or decoder gets hit (line ends, UTF-8 sequences, compressed blocks).
#pragma once
#include <algorithm>
#include <string>

#include "ecostat/host/source.hpp"

namespace ecostat::test {

class TrickleSource : public host::ByteSource {
 public:
  TrickleSource(std::string data, size_t step, std::string name = "trickle")
      : data_(std::move(data)), name_(std::move(name)), step_(step) {}
  size_t read(char* out, size_t n) override {
    const size_t k = std::min({n, step_, data_.size() - pos_});
    std::copy(data_.data() + pos_, data_.data() + pos_ + k, out);
    pos_ += k;
    return k;
  }
  const std::string& name() const override { return name_; }
  size_t size_hint() const override { return data_.size(); }

 private:
  std::string data_, name_;
  size_t step_, pos_ = 0;
};

}  // namespace ecostat::test
