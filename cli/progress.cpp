#include "progress.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace ecostat::cli {

namespace {

// ECOSTAT_PROGRESS: "1" on, "0" off, unset (or anything else): on when stderr is a terminal.
bool progress_wanted(bool terminal) {
  const char* v = std::getenv("ECOSTAT_PROGRESS");
  if (v && std::strcmp(v, "1") == 0) return true;
  if (v && std::strcmp(v, "0") == 0) return false;
  return terminal;
}

}  // namespace

Progress::Progress()
    : enabled_(progress_wanted(::isatty(2) != 0)),
      in_place_(::isatty(2) != 0),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void Progress::update(const std::string& stage, uint64_t done, uint64_t total, bool now_anyway) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!now_anyway && now - last_ < std::chrono::milliseconds(in_place_ ? 200 : 1000)) return;
  last_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double mb = done / 1e6;
  const char* open = in_place_ ? "\r" : "ecostat: ";
  const char* close = in_place_ ? "   " : "\n";
  if (total > 0)
    std::fprintf(stderr, "%s%s: %.1f / %.1f MB (%.0f%%), %.0f MB/s%s", open, stage.c_str(), mb, total / 1e6,
                 100.0 * done / total, secs > 0 ? mb / secs : 0.0, close);
  else
    std::fprintf(stderr, "%s%s: %.1f MB, %.0f MB/s%s", open, stage.c_str(), mb, secs > 0 ? mb / secs : 0.0, close);
  shown_ = true;
}

void Progress::finish() {
  if (shown_ && in_place_) std::fprintf(stderr, "\r%78s\r", "");
  shown_ = false;
}

}  // namespace ecostat::cli
