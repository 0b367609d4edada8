#include "progress.hpp"

#include <cstdio>
#include <unistd.h>

namespace ecostat::cli {

Progress::Progress() : enabled_(::isatty(2) != 0), start_(std::chrono::steady_clock::now()), last_(start_) {}

void Progress::update(const std::string& stage, uint64_t done, uint64_t total) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(200)) return;  // a few updates a second at most
  last_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double mb = done / 1e6;
  if (total > 0)
    std::fprintf(stderr, "\r%s: %.1f / %.1f MB (%.0f%%), %.0f MB/s   ", stage.c_str(), mb, total / 1e6,
                 100.0 * done / total, secs > 0 ? mb / secs : 0.0);
  else
    std::fprintf(stderr, "\r%s: %.1f MB, %.0f MB/s   ", stage.c_str(), mb, secs > 0 ? mb / secs : 0.0);
  shown_ = true;
}

void Progress::finish() {
  if (shown_) std::fprintf(stderr, "\r%78s\r", "");
  shown_ = false;
}

}  // namespace ecostat::cli
