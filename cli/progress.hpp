// Progress on long inputs, printed to stderr and only when stderr is a terminal.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace ecostat::cli {

class Progress {
 public:
  Progress();
  bool enabled() const { return enabled_; }
  void update(const std::string& stage, uint64_t done, uint64_t total);
  void finish();

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace ecostat::cli
