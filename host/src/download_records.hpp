// What every download producer (the CSV reader, the Arrow reader) shares once a row's repo,
// day and count are read: the repo-id rule, the date window, per-period duplicate checks,
// cumulative differencing, the job's grand total, and events batched to the sink. Internal to
// the host readers.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ecostat/host/readers.hpp"

namespace ecostat::host::detail {

// Accepted rows applied ahead of their turn, on the thread that read them (a chunk parser, an
// Arrow batch's helper): what DownloadRecords::add does for each row, gathered so that the one
// applying thread takes a chunk's rows in one step (DownloadRecords::take_ahead) instead of
// one by one, which was a serial floor under every thread count (about 9 ns a row, a second
// per 10^8 rows whatever the cores). Only under DownloadRecords::takes_rows_ahead (per period,
// the `count` policy), where no row's outcome depends on the rows before it: the sums do not,
// and how many (repo, day) pairs repeat does not depend on the order they are marked in.
// Rows that do depend on the order (an id not in the dictionary yet, a reject) are left to the
// applying thread, in turn; `deferred` bounds what those may still add to the job's total.
struct RowsAhead {
  EventBatch events;            // counts of 0 omitted, counts past u32 as wide events
  std::vector<uint64_t> pairs;  // (unit << 32 | day) of every row, for DownloadJob::note_days
  uint64_t rows = 0;            // rows taken (their events and pairs are above)
  uint64_t sum = 0;             // their counts; overflow: past 2^64-1
  uint64_t deferred = 0;        // counts of the rows left to the applying thread, which may be accepted
  bool overflow = false;

  void clear() {
    events.clear();
    pairs.clear();
    rows = sum = deferred = 0;
    overflow = false;
  }
  void add(uint32_t unit, int32_t day, Month month, uint64_t value) {  // inline: once per row
    pairs.push_back(uint64_t{unit} << 32 | static_cast<uint32_t>(day));
    ++rows;
    overflow |= __builtin_add_overflow(sum, value, &sum);
    if (value == 0) return;
    if (value > 0xffffffffu) return events.push_wide(unit, month, value);
    events.push(unit, month, static_cast<uint32_t>(value));
  }
  void defer(uint64_t value) { overflow |= __builtin_add_overflow(deferred, value, &deferred); }
};

class DownloadRecords {
 public:
  DownloadRecords(ReadStats& stats, RepoTable& repos, RejectLog& rejects, bool cumulative, size_t batch_capacity,
                  const std::function<void(const EventBatch&)>& sink, const ReadOptions& options, DownloadJob& job);

  // The column names rejects name (the file's header cells, or the Arrow column names).
  void set_fields(std::string repo, std::string date, std::string count);
  const std::string& repo_field() const { return f_repo_; }
  const std::string& date_field() const { return f_date_; }
  const std::string& count_field() const { return f_count_; }

  // The plausible-date window, never wider than what a u16 month can hold.
  int32_t min_day() const { return min_day_; }
  int32_t max_day() const { return max_day_; }

  void reject(uint64_t at, const std::string& field, const std::string& reason);
  // The repo-id rule; false (and the row rejected) when repo cannot be an id.
  bool check_repo(std::string_view repo, uint64_t at);
  // Why repo cannot be an id ("" when it can): the reject reason check_repo uses.
  static std::string repo_problem(std::string_view repo);
  // The window; false (and the row rejected) when day is outside it. date_text: the date as
  // written, for the message (empty: the day's label).
  bool check_day(int32_t day, std::string_view date_text, uint64_t at);

  // A row whose repo (already interned as unit), day and count are valid: per period, the
  // duplicate check then the event; cumulative, differencing against the repo's previous
  // snapshot. Counts the row accepted or rejects it. repo: the row's id text, for messages only;
  // empty when the caller does not hold it (the unit's id is then looked up for a message, so an
  // accepted row never reads it: a random line per row at millions of ids).
  // Inline, the per-period path without a per-row answer: the applying loop calls it once per row.
  void add(uint64_t at, uint32_t unit, std::string_view repo, int32_t day, Month month, uint64_t value,
           std::string_view date_text) {
    if (cumulative_) return add_cumulative(at, unit, repo, day, month, value, date_text);
    // The same repo and day counted before, in this input or an earlier one of the job?
    if (reject_duplicates_) return add_duplicate_checked(at, unit, repo, day, month, value);
    job_.note_day(unit, day);  // counted as it is read; how many repeated is known at the end
    add_total(at, value);
    emit(unit, month, value);
    ++stats_.accepted;
  }

  // Rows may be applied ahead (RowsAhead) when no row's outcome depends on the rows before it:
  // per period, under the `count` policy. Constant: readable from any thread.
  bool takes_rows_ahead() const { return !cumulative_ && !reject_duplicates_; }
  // Whether a chunk's rows taken ahead, and every deferred row, fit the job's total whatever
  // their order: then no row of the chunk can be the one that passes 2^64-1, and the chunk may
  // be taken ahead. False: the caller applies the chunk row by row (add), which names that row.
  bool ahead_fits(const RowsAhead& a) const {
    uint64_t most = 0;
    return !a.overflow && !__builtin_add_overflow(a.sum, a.deferred, &most) && most <= ~uint64_t{0} - job_.total();
  }
  // The rows of `a` counted accepted: their counts join the total, their pairs the duplicate
  // marks, their events the batches (of at most batch_capacity, as row by row). Requires
  // takes_rows_ahead() and ahead_fits(a) before the chunk's deferred rows were taken.
  void take_ahead(const RowsAhead& a);

  // Flushes the last events and settles the job's duplicate count.
  void finish();

 private:
  static constexpr uint64_t kMaxEventCount = 0xffffffffu;  // wider counts go as WideEvent
  void emit(uint32_t unit, Month month, uint64_t count) {
    if (count == 0) return;
    if (batch_.size() + batch_.wide.size() >= batch_capacity_) flush();
    if (count > kMaxEventCount) {
      batch_.push_wide(unit, month, count);  // one entry whatever the count (records.hpp, WideEvent)
    } else {
      batch_.push(unit, month, static_cast<uint32_t>(count));
    }
  }
  void flush();
  void append(const EventBatch& events);  // to the batches, flushed at batch_capacity
  // The id a message names: the row's text when the caller gave it, else the unit's.
  std::string repo_text(std::string_view repo, uint32_t unit) const {
    return std::string(repo.empty() ? repos_.ids.at(unit) : repo);
  }
  // Every accepted count joins the job's grand total first: past 2^64-1 no total is exact.
  void add_total(uint64_t at, uint64_t count) {
    if (!job_.add_total(count)) total_overflow(at);
  }
  [[noreturn]] void total_overflow(uint64_t at) const;
  void add_duplicate_checked(uint64_t at, uint32_t unit, std::string_view repo, int32_t day, Month month,
                             uint64_t value);  // --duplicates reject
  void add_cumulative(uint64_t at, uint32_t unit, std::string_view repo, int32_t day, Month month, uint64_t value,
                      std::string_view date_text);

  ReadStats& stats_;
  RepoTable& repos_;
  RejectLog& rejects_;
  const bool cumulative_;
  const size_t batch_capacity_;
  const std::function<void(const EventBatch&)>& sink_;
  DownloadJob& job_;
  const int32_t min_day_, max_day_;
  const bool reject_duplicates_;
  std::string f_repo_ = "repo", f_date_ = "date", f_count_ = "downloads";
  EventBatch batch_;
  // Per-repo baseline of cumulative counters: last accepted snapshot's day and value.
  std::vector<int32_t> last_day_;
  std::vector<uint64_t> last_value_;
};

}  // namespace ecostat::host::detail
