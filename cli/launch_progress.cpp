// Progress of `ecostat run` over MPI ranks (launch_progress.hpp).
#include "launch_progress.hpp"

#include <sys/stat.h>

#include <algorithm>

namespace ecostat::cli {

LaunchProgress::LaunchProgress(Cluster& cluster, uint64_t download_bytes) : cluster_(cluster), total_(download_bytes) {
  if (cluster_.rank() == 0) display_.emplace();
  else cluster_.post_progress(0, total_, false);  // rank 0 learns this rank's total at once
}

void LaunchProgress::on_item(const std::string& stage, uint64_t done, uint64_t total) {
  if (stage != "downloads") {  // repositories, ...: rank 0's own
    if (display_) display_->update(stage, done, total);
    return;
  }
  done_ = done_before_ + done;
  if (display_) {
    show(false);
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now - last_post_ < std::chrono::milliseconds(250)) return;
  last_post_ = now;
  cluster_.post_progress(done_, total_, false);
}

void LaunchProgress::item_done(uint64_t bytes) {
  done_before_ += bytes;
  done_ = done_before_;
}

void LaunchProgress::end_of_work() {
  if (!display_) cluster_.post_progress(done_, total_, true);
}

void LaunchProgress::complete() {
  cluster_.progress_complete();
  if (!display_) return;
  if (cluster_.distributed()) show(true);
  display_->finish();
}

// Rank 0: every rank's downloads together.
void LaunchProgress::show(bool now) {
  uint64_t done = done_, total = total_;
  if (cluster_.distributed()) {
    for (const auto& [d, t] : cluster_.progress_of_ranks()) {
      done += d;
      total += t;
    }
  }
  const std::string stage =
      cluster_.distributed() ? "downloads on " + std::to_string(cluster_.size()) + " ranks" : "downloads";
  display_->update(stage, std::min(done, total), total, now);
}

uint64_t download_bytes_of(const std::string& path, uint64_t slice_begin, uint64_t slice_end) {
  struct stat st {};
  if (path.empty() || path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  const uint64_t size = uint64_t(st.st_size);
  if (slice_end == 0) return size;  // the whole file
  return std::min(slice_end, size) - std::min(slice_begin, size);
}

}  // namespace ecostat::cli
