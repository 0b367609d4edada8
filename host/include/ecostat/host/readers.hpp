// Readers for the three kinds of input. Each streams its source, dictionary-encodes ids into
// the tables it is given and reports every bad record to the RejectLog.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ecostat/host/rejects.hpp"
#include "ecostat/host/source.hpp"
#include "ecostat/records.hpp"

namespace ecostat::host {

// Called with a byte count as a reader advances (for progress on long inputs); may be empty.
using ProgressFn = std::function<void(uint64_t bytes_done, uint64_t bytes_total)>;

// The plausible-date window (docs/input-formats.md, "Dates"): a download date or a creation
// date outside it is rejected ("date out of range"), so one stray date cannot stretch the
// month range of every table. Days since 1970-01-01.
constexpr int32_t kDefaultMinDay = 10957;  // 2000-01-01
constexpr int32_t kDefaultMaxDay = 25932;  // 2040-12-31
constexpr int32_t kFirstDay = 0;           // 1970-01-01: month 0
constexpr int32_t kLastDay = 1994678;      // 7431-03-31: the last day of month 0xfffe (0xffff marks "no month")
using ecostat::parse_window_day;  // a window bound as --min-date/--max-date give it (types.hpp)

// What an exact duplicate download row does (same repo, same date, per-period format; for
// cumulative files: the same snapshot twice): count it (once per row, as written, and
// reported) or reject it ("duplicate row", so --strict stops there).
enum class DuplicatePolicy { count, reject };

// Limits shared by the readers (the overloads without options use these defaults).
struct ReadOptions {
  size_t max_line = 64u << 20;     // a longer physical line is rejected ("line too long"), never split
  size_t max_record = 64u << 20;   // a CSV record spanning several lines is bounded by this too
  uint64_t progress_every = 16u << 20;  // bytes between two progress calls
  int32_t min_day = kDefaultMinDay;  // plausible-date window, inclusive (see above)
  int32_t max_day = kDefaultMaxDay;
  DuplicatePolicy duplicates = DuplicatePolicy::count;  // download rows only
  // Downloads CSV from a plain file: read with `threads` threads (0 = one) when the file has at
  // least parallel_min_bytes, in chunks of about parallel_chunk_bytes per thread.
  unsigned threads = 0;
  size_t parallel_min_bytes = 8u << 20;
  size_t parallel_chunk_bytes = 4u << 20;
  // Arrow inputs: rows of the same source before this stream (a slice of a Parquet file), so
  // that rejects carry the file's own row numbers.
  uint64_t rows_before = 0;
};

// Hub-style JSON Lines repository records (camelCase and snake_case). Also accepts the CSV
// export whose `metadata` column holds the Hub's ModelInfo as JSON (detected from the header),
// as in the real lineage extract. A duplicate id is rejected (the first record wins). The sums
// of `downloads` and of `downloads_all_time` over every record in repos stay within 2^64-1:
// the record that would pass it is an InputError naming it (no total could be exact).
ReadStats read_repositories(ByteSource& src, RepoTable& repos, RejectLog& rejects,
                            const ProgressFn& progress = {});
ReadStats read_repositories(ByteSource& src, RepoTable& repos, RejectLog& rejects,
                            const ProgressFn& progress, const ReadOptions& options);

// Attribution CSV: header names columns among handle (or hf_org, org, author), organisation
// (or parent, parent_organisation), country, region, org_type (or type). Missing columns
// leave those fields unattributed.
ReadStats read_attribution(ByteSource& src, AttributionTable& table, RejectLog& rejects);
ReadStats read_attribution(ByteSource& src, AttributionTable& table, RejectLog& rejects,
                           const ReadOptions& options);

enum class DownloadFormat { detect, per_period, cumulative };

// What the download files of one job share, so that checks hold across files:
// - the grand total of accepted counts, kept within 2^64-1 (a record that would push it past
//   is an InputError naming it), so every sum over any subset of records is exact in u64;
// - which (repo, day) pairs per-period records already counted: one bit per unit and day,
//   stored from the unit's first to its last day in 64-day words (about 1 bit per record on
//   daily data plus ~70 bytes per unit: 3e9 records over 2.2M units take ~550 MB; the date
//   window bounds a unit to 235 words). A unit with several rows in one buffer of pairs is
//   given the job's span of days so far at once when that is at most 4,096 days (at most 520
//   bytes), so that its block is not grown again and again.
class DownloadJob {
 public:
  // threads: the job's (0 = all cores); with one, pairs are marked on the reading thread.
  // pending_max: pairs noted before they are marked (tests pass a small one so that a small
  // input goes through the marking thread many times). mark_threads: threads that mark a
  // buffer's unit ranges at once (0: one per 4 of the job's threads, at least 1): one thread
  // marks 15-20M pairs a second (`ecostat bench --stages duplicate_marks`), slower than the
  // readers of a 16-core host feed it.
  explicit DownloadJob(unsigned threads = 0, size_t pending_max = kPendingMax, unsigned mark_threads = 0);
  ~DownloadJob();
  DownloadJob(const DownloadJob&) = delete;
  DownloadJob& operator=(const DownloadJob&) = delete;

  uint64_t total() const { return total_; }
  // Exact once read_downloads returns (it settles the pairs noted).
  uint64_t duplicate_rows() const { return duplicates_ + marked_duplicates_; }

  // Internal to read_downloads.
  bool add_total(uint64_t count) {  // false when the total would pass 2^64-1
    if (count > ~uint64_t{0} - total_) return false;
    total_ += count;
    return true;
  }
  bool seen_before(uint32_t unit, int32_t day);     // marks (unit, day) now; true when already marked
  // Marks (unit, day) later, counting it as a duplicate when it was marked: the pairs wait in a
  // buffer that is grouped by unit range and then applied, so the bitmaps are walked in order
  // instead of once per row at random. That is done on a thread of the job's own while the
  // reader goes on, when the job has more than one thread (the `count` policy needs no answer
  // per row, and how many pairs repeat does not depend on the order in which they are marked);
  // its unit ranges are split among mark_threads threads (disjoint units, disjoint bitmaps).
  // settle() waits until every pair noted is marked and rethrows what the marking thread threw
  // (memory for the bitmaps).
  void note_day(uint32_t unit, int32_t day) {  // inline: once per row
    pending_.push_back(uint64_t{unit} << 32 | static_cast<uint32_t>(day));
    if (pending_.size() >= pending_max_) hand_over();
  }
  // note_day for n pairs, (unit << 32 | day) each: rows applied ahead (download_records.hpp).
  void note_days(const uint64_t* pairs, size_t n);
  void settle();
  void count_duplicate() { ++duplicates_; }

  // Every unit's marked days (after settling what is pending): visit(unit, first word index
  // (day >> 6), words, number of words), by unit. For Partial::day_marks.
  void visit_marks(const std::function<void(uint32_t, int32_t, const uint64_t*, size_t)>& visit);

  static constexpr size_t kPendingMax = size_t{1} << 22;  // 32 MB of keys per hand-over

 private:
  struct Marker;
  void hand_over();                          // pending_ to the marking thread, or marked here
  void mark_all(std::vector<uint64_t>& keys);  // sorts by unit range, marks, clears keys
  // Marks the sorted pairs of unit ranges [r0, r1) (range_end[r]: the end of range r in
  // sorted_); returns how many were marked before. Ranges hold disjoint units: threads may
  // mark different ones at once.
  uint64_t mark_ranges(size_t r0, size_t r1, const std::vector<uint32_t>& range_end, int shift);
  bool mark(uint32_t unit, int32_t day);
  const bool background_;  // mark on a thread of the job's own
  const size_t pending_max_;
  const unsigned mark_threads_;  // threads marking one buffer's ranges
  std::vector<uint64_t> pending_;  // (unit << 32 | day) noted, not yet handed over
  // sorted_, marked_duplicates_ and days_ belong to the marking thread while it marks, to the
  // reading thread once settled (the marker's mutex orders the two).
  std::vector<uint64_t> sorted_;
  uint64_t marked_duplicates_ = 0;
  int32_t first_word_ = INT32_MAX, last_word_ = INT32_MIN;  // 64-day words of the pairs marked in buffers
  // One allocation per unit, so a check costs one memory access past the pointer table:
  // word 0 is a header (first 64-day word index: low 32 bits; words used: next 16; capacity:
  // top 16), then the bit words.
  std::vector<std::unique_ptr<uint64_t[]>> days_;  // by unit; null: no day yet
  std::unique_ptr<Marker> marker_;                 // started at the first hand-over
  uint64_t total_ = 0;
  uint64_t duplicates_ = 0;  // counted by the reading thread (cumulative snapshots)
};

// Download records CSV: `repo,date,downloads` (per period) or `repo,date,downloads_all_time`
// (cumulative, differenced per repo; detect reads the header). Events go to sink in batches of
// at most batch_capacity; unknown repo ids become placeholder units in repos.
ReadStats read_downloads(ByteSource& src, DownloadFormat format, RepoTable& repos, RejectLog& rejects,
                         size_t batch_capacity, const std::function<void(const EventBatch&)>& sink,
                         const ProgressFn& progress = {});
ReadStats read_downloads(ByteSource& src, DownloadFormat format, RepoTable& repos, RejectLog& rejects,
                         size_t batch_capacity, const std::function<void(const EventBatch&)>& sink,
                         const ProgressFn& progress, const ReadOptions& options);
// The same, sharing job-wide checks (total, duplicates) with the job's other download files.
ReadStats read_downloads(ByteSource& src, DownloadFormat format, RepoTable& repos, RejectLog& rejects,
                         size_t batch_capacity, const std::function<void(const EventBatch&)>& sink,
                         const ProgressFn& progress, const ReadOptions& options, DownloadJob& job);

// A parameters table: model id -> total (and active) parameter count, e.g. the tracked-models
// project's model_parameters.csv. Header names an id column (model_id, modelid, id, repo,
// model) and a count column: total_params_b, params_b, parameters_b or total_b (billions,
// decimal: "3.3" is 3,300,000,000, at most 9 decimals) or parameters, total_params,
// parameter_count, safetensors_total or total (a whole count). Optional active_params_b or
// active_parameters (same units). Other columns are ignored. Rejected, with file, line and
// field: an empty id, a duplicate id (the first row wins), a missing, zero, negative or
// malformed count, a wrong column count.
using ecostat::ParameterTable;  // records.hpp
ReadStats read_parameters(ByteSource& src, ParameterTable& table, RejectLog& rejects);
ReadStats read_parameters(ByteSource& src, ParameterTable& table, RejectLog& rejects, const ReadOptions& options);

}  // namespace ecostat::host
