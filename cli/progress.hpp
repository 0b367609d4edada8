// Progress on long inputs, printed to stderr: on a terminal, one line rewritten in place; else
// only when ECOSTAT_PROGRESS=1 asks for it (one line per update, for logs and for MPI launches,
// whose ranks never see a terminal); ECOSTAT_PROGRESS=0 turns it off.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace ecostat::cli {

class Progress {
 public:
  Progress();
  bool enabled() const { return enabled_; }
  // A few updates a second at most; `now` prints this one whatever the time since the last.
  void update(const std::string& stage, uint64_t done, uint64_t total, bool now = false);
  void finish();

 private:
  bool enabled_;
  bool in_place_;  // a terminal: the line is rewritten
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace ecostat::cli
