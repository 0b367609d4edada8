// Progress of `ecostat run` over MPI ranks (docs/scale-out.md, "Progress"): rank 0 shows the
// download bytes all ranks have read together; the other ranks post theirs to rank 0 (through
// Cluster::post_progress, a few times a second, never blocking). One rank: its own progress.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "cluster.hpp"
#include "progress.hpp"

namespace ecostat::cli {

class LaunchProgress {
 public:
  // download_bytes: the bytes of this rank's download items (files or slices).
  LaunchProgress(Cluster& cluster, uint64_t download_bytes);

  // An item's progress (JobSpec::progress), and the end of an item that read `bytes` of downloads.
  void on_item(const std::string& stage, uint64_t done, uint64_t total);
  void item_done(uint64_t bytes);
  // After this rank's items, failed or not: its last post (ranks > 0).
  void end_of_work();
  // Collective, after every rank's work: rank 0 takes every rank's last post and (when
  // ECOSTAT_PROGRESS=1 writes lines) prints the final figure of all ranks; clears the line.
  void complete();
  bool enabled() const { return display_ && display_->enabled(); }

 private:
  void show(bool now);
  Cluster& cluster_;
  std::optional<Progress> display_;  // rank 0 only
  uint64_t total_, done_before_ = 0, done_ = 0;
  std::chrono::steady_clock::time_point last_post_{};
};

// The bytes a download item reads: its slice, or the whole file (0 when not a regular file).
uint64_t download_bytes_of(const std::string& path, uint64_t slice_begin, uint64_t slice_end);

}  // namespace ecostat::cli
