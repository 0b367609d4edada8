// Download records CSV: per-period counts, or cumulative snapshots differenced per repo.
// The hot path allocates nothing per record: fields are views into the read buffer, counts go
// through std::from_chars, repo ids and dates are cached against the previous record.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "csv.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/host/readers.hpp"
#include "text.hpp"

namespace ecostat::host {

namespace {

using detail::DateStatus;
using detail::NumStatus;
using detail::day_label;

constexpr uint32_t kMaxEventCount = 0xffffffffu;

std::string_view trim_blanks(std::string_view s) {
  if (!s.empty() && (s.front() == ' ' || s.back() == ' ' || s.front() == '\t' || s.back() == '\t'))
    return detail::trim(s);
  return s;
}

}  // namespace

int32_t parse_window_day(const std::string& s, const char* what) {
  int32_t day = 0;
  const auto st = detail::parse_day(s, kFirstDay, kLastDay, &day);
  if (st == DateStatus::ok && s.size() == 10) return day;
  throw UsageError(std::string(what) + ": '" + detail::printable(s) + "' is not a YYYY-MM-DD date from 1970-01-01 to " +
                   day_label(kLastDay));
}

bool DownloadJob::add_total(uint64_t count) {
  if (count > ~uint64_t{0} - total_) return false;
  total_ += count;
  return true;
}

namespace {

// The header word of a unit's day block (DownloadJob::days_).
struct DayBlock {
  int32_t first;  // index of the first 64-day word held
  uint32_t used, cap;
  static DayBlock of(uint64_t h) {
    return {static_cast<int32_t>(static_cast<uint32_t>(h)), static_cast<uint32_t>(h >> 32) & 0xffff,
            static_cast<uint32_t>(h >> 48)};
  }
  uint64_t header() const {
    return static_cast<uint32_t>(first) | (uint64_t{used} << 32) | (uint64_t{cap} << 48);
  }
};

}  // namespace

bool DownloadJob::seen_before(uint32_t unit, int32_t day) {
  if (!pending_.empty()) settle();  // an answer now must know every row noted before
  return mark(unit, day);
}

void DownloadJob::note_day(uint32_t unit, int32_t day) {
  constexpr size_t kPendingMax = size_t{1} << 22;  // 32 MB of keys between two settles
  pending_.push_back(uint64_t{unit} << 32 | static_cast<uint32_t>(day));
  if (pending_.size() >= kPendingMax) settle();
}

void DownloadJob::settle() {
  // One counting-sort pass by unit range (4,096 ranges) is all the order the bitmaps need:
  // each range's blocks then stay in cache while its keys are marked. Exactness does not
  // depend on the order: mark() finds any pair marked before.
  uint32_t max_unit = 0;
  for (const uint64_t key : pending_) max_unit = std::max(max_unit, static_cast<uint32_t>(key >> 32));
  int shift = 0;
  while ((max_unit >> shift) >= 4096) ++shift;
  std::vector<uint32_t> start(4097, 0);
  for (const uint64_t key : pending_) ++start[(key >> 32 >> shift) + 1];
  for (size_t b = 1; b < start.size(); ++b) start[b] += start[b - 1];
  sorted_.resize(pending_.size());
  for (const uint64_t key : pending_) sorted_[start[key >> 32 >> shift]++] = key;
  for (const uint64_t key : sorted_)
    if (mark(static_cast<uint32_t>(key >> 32), static_cast<int32_t>(static_cast<uint32_t>(key)))) ++duplicates_;
  pending_.clear();
  sorted_.clear();
}

bool DownloadJob::mark(uint32_t unit, int32_t day) {
  if (unit >= days_.size()) days_.resize(std::max<size_t>(unit + 1, days_.size() * 2));
  auto& block = days_[unit];
  const int32_t w = day >> 6;  // day >= 0: the reader's window starts at 1970-01-01 at the earliest
  if (!block) {
    constexpr uint32_t kFirstCap = 7;  // 448 days, one 64-byte allocation
    block.reset(new uint64_t[1 + kFirstCap]());
    block[0] = DayBlock{w, 1, kFirstCap}.header();
  }
  DayBlock h = DayBlock::of(block[0]);
  if (w < h.first || w >= h.first + static_cast<int32_t>(h.used)) {
    // Widen [first, first+used) to hold w: in place when w is after it and fits, else a new
    // block (geometric growth; at most 31,168 words since the window ends by 7431).
    const int32_t first = std::min(h.first, w);
    const uint32_t used = static_cast<uint32_t>(std::max(h.first + static_cast<int32_t>(h.used) - 1, w) - first + 1);
    if (first == h.first && used <= h.cap) {
      h.used = used;  // the words past the old end are zero already
    } else {
      const uint32_t cap = std::min<uint32_t>(std::max(used, 2 * h.cap), 0xffff);
      std::unique_ptr<uint64_t[]> grown(new uint64_t[1 + cap]());
      std::copy(block.get() + 1, block.get() + 1 + h.used, grown.get() + 1 + (h.first - first));
      block.swap(grown);
      h = DayBlock{first, used, cap};
    }
    block[0] = h.header();
  }
  uint64_t& word = block[1 + static_cast<size_t>(w - h.first)];
  const uint64_t bit = uint64_t{1} << (day & 63);
  const bool seen = (word & bit) != 0;
  word |= bit;
  return seen;
}

ReadStats read_downloads(ByteSource& src, DownloadFormat format, RepoTable& repos, RejectLog& rejects,
                         size_t batch_capacity, const std::function<void(const EventBatch&)>& sink,
                         const ProgressFn& progress) {
  return read_downloads(src, format, repos, rejects, batch_capacity, sink, progress, ReadOptions{});
}

ReadStats read_downloads(ByteSource& src, DownloadFormat format, RepoTable& repos, RejectLog& rejects,
                         size_t batch_capacity, const std::function<void(const EventBatch&)>& sink,
                         const ProgressFn& progress, const ReadOptions& options) {
  DownloadJob job;  // this file alone
  return read_downloads(src, format, repos, rejects, batch_capacity, sink, progress, options, job);
}

ReadStats read_downloads(ByteSource& src, DownloadFormat format, RepoTable& repos, RejectLog& rejects,
                         size_t batch_capacity, const std::function<void(const EventBatch&)>& sink,
                         const ProgressFn& progress, const ReadOptions& options, DownloadJob& job) {
  using Status = detail::CsvRecordReader::Status;
  ReadStats stats;
  stats.file = src.name();
  if (batch_capacity == 0) batch_capacity = 1;
  LineReader lines(src, options.max_line);
  detail::CsvRecordReader records(lines, options.max_record);
  std::string_view rec;
  Status st;
  std::vector<std::string_view> cells;
  cells.reserve(16);
  std::string scratch;
  const char* err = nullptr;
  const uint64_t total = src.size_hint();
  uint64_t next_progress = options.progress_every;

  auto reject = [&](uint64_t line, const std::string& field, const std::string& reason) {
    ++stats.rejected;
    rejects.add(stats.file, line, field, reason);
  };

  // --- header (or a first data row when the file has none) -------------------------------
  bool have_first = false;
  while (records.next(&rec, &st)) {
    if (st != Status::ok) {
      throw InputError(stats.file, records.first_line(), "", "unreadable header line");
    }
    have_first = true;
    break;
  }
  if (!have_first) {
    stats.bytes = lines.bytes_consumed();
    return stats;  // empty input
  }
  if (rec.size() >= 3 && std::memcmp(rec.data(), "\xEF\xBB\xBF", 3) == 0) rec.remove_prefix(3);
  if (!detail::split_csv(rec, &cells, &scratch, &err))
    throw InputError(stats.file, records.first_line(), "", std::string("malformed CSV header: ") + err);

  int c_repo = -1, c_date = -1, c_count = -1;
  bool cumulative = false;
  size_t n_columns = cells.size();
  std::vector<std::string> header;
  bool headerless = false;
  {
    int32_t d;
    uint64_t v;
    if (cells.size() >= 3 && detail::parse_day(cells[1], INT32_MIN, INT32_MAX, &d) == DateStatus::ok &&
        detail::parse_count(cells[2], &v) == NumStatus::ok) {
      // No header: the documented column order repo,date,count.
      headerless = true;
      c_repo = 0, c_date = 1, c_count = 2;
      cumulative = format == DownloadFormat::cumulative;
      header = {"repo", "date", cumulative ? "downloads_all_time" : "downloads"};
      while (header.size() < cells.size()) header.push_back("column" + std::to_string(header.size() + 1));
    }
  }
  if (!headerless) {
    for (auto c : cells) header.push_back(detail::normalise_header(c));
    c_repo = detail::find_column(header, {"repo", "repo_id", "id", "model", "model_id", "modelid"});
    c_date = detail::find_column(header, {"date", "day", "timestamp"});
    const int c_period = detail::find_column(header, {"downloads", "count"});
    const int c_cumul = detail::find_column(header, {"downloads_all_time", "downloadsalltime"});
    if (format == DownloadFormat::detect) {
      cumulative = c_cumul >= 0;
      c_count = cumulative ? c_cumul : c_period;
    } else if (format == DownloadFormat::per_period) {
      c_count = c_period;
    } else {
      cumulative = true;
      c_count = c_cumul >= 0 ? c_cumul : c_period;
    }
    std::string missing;
    if (c_repo < 0) missing += " repo (repo, repo_id, id, model, model_id)";
    if (c_date < 0) missing += " date (date, day, timestamp)";
    if (c_count < 0)
      missing += format == DownloadFormat::per_period ? " count (downloads, count)"
                                                      : " count (downloads, count, downloads_all_time)";
    if (!missing.empty())
      throw InputError(stats.file, records.first_line(), "", "downloads header lacks a column for:" + missing);
  }
  const std::string& f_repo = header[c_repo];
  const std::string& f_date = header[c_date];
  const std::string& f_count = header[c_count];

  // --- records -----------------------------------------------------------------------------
  EventBatch batch;
  batch.clear();
  batch.unit.reserve(std::min<size_t>(batch_capacity, 1u << 22));
  batch.month.reserve(batch.unit.capacity());
  batch.count.reserve(batch.unit.capacity());
  auto flush = [&] {
    if (batch.size() == 0 && batch.wide.empty()) return;
    sink(batch);
    batch.clear();
  };
  auto emit = [&](uint32_t u, Month m, uint64_t c) {
    if (c == 0) return;
    if (batch.size() + batch.wide.size() >= batch_capacity) flush();
    if (c > kMaxEventCount) {
      batch.push_wide(u, m, c);  // one entry whatever the count (records.hpp, WideEvent)
    } else {
      batch.push(u, m, static_cast<uint32_t>(c));
    }
  };
  // Every accepted count joins the job's grand total first: past 2^64-1 no total is exact.
  auto add_total = [&](uint64_t at, const std::string& field, uint64_t c) {
    if (!job.add_total(c))
      throw InputError(stats.file, at, field, "download counts sum past 2^64-1: totals would not be exact");
  };

  // The plausible-date window, never wider than what a u16 month can hold.
  const int32_t min_day = std::max(options.min_day, kFirstDay);
  const int32_t max_day = std::min(options.max_day, kLastDay);
  const bool reject_duplicates = options.duplicates == DuplicatePolicy::reject;

  // Per-repo baseline of cumulative counters: last accepted snapshot's day and value.
  std::vector<int32_t> last_day;
  std::vector<uint64_t> last_value;

  // Caches: consecutive records usually share a repo (sorted exports) or a date.
  std::string last_repo;
  uint32_t last_unit = kNone;
  std::string last_date;
  int32_t cached_day = kNoDay;
  Month cached_month = 0;

  auto process = [&](uint64_t at) {
    if (cells.size() != n_columns) {
      reject(at, "", "wrong column count: expected " + std::to_string(n_columns) + ", got " +
                         std::to_string(cells.size()));
      return;
    }
    const std::string_view repo = trim_blanks(cells[c_repo]);
    const bool same_repo = last_unit != kNone && repo.size() == last_repo.size() &&
                           std::memcmp(repo.data(), last_repo.data(), repo.size()) == 0;
    if (!same_repo) {  // the cached repo was validated already
      if (repo.empty()) {
        reject(at, f_repo, "empty repo id");
        return;
      }
      if (const char* why = detail::repo_id_problem(repo)) {
        reject(at, f_repo, std::string("invalid repo id: ") + why + ": '" + detail::printable(repo) + "'");
        return;
      }
    }
    std::string_view date = trim_blanks(cells[c_date]);
    if (date.size() != last_date.size() || std::memcmp(date.data(), last_date.data(), date.size()) != 0 ||
        cached_day == kNoDay) {
      int32_t d = 0;
      const DateStatus ds = detail::parse_day(date, min_day, max_day, &d);
      if (ds == DateStatus::malformed) {
        reject(at, f_date, "unparseable date: '" + detail::printable(date) + "'");
        return;
      }
      if (ds == DateStatus::out_of_range) {
        reject(at, f_date, detail::date_out_of_range(date, min_day, max_day));
        return;
      }
      last_date.assign(date.data(), date.size());
      cached_day = d;
      cached_month = month_of_day(d);
    }
    const int32_t day = cached_day;
    const Month month = cached_month;
    uint64_t value = 0;
    const NumStatus ns = detail::parse_count(cells[c_count], &value);
    if (ns != NumStatus::ok) {
      reject(at, f_count,
             std::string(ns == NumStatus::empty ? "missing count" : "bad count") + ": " + detail::num_status_text(ns) +
                 (ns == NumStatus::empty ? "" : " '" + detail::printable(trim_blanks(cells[c_count])) + "'"));
      return;
    }
    uint32_t u;
    if (same_repo) {
      u = last_unit;
    } else {
      u = repos.ensure(repo, true);
      last_repo.assign(repo.data(), repo.size());
      last_unit = u;
    }
    if (!cumulative) {
      // The same repo and day counted before, in this file or an earlier one of the job?
      if (!reject_duplicates) {
        job.note_day(u, day);  // counted as it is read; how many repeated is known at the end
      } else if (job.seen_before(u, day)) {
        reject(at, f_date, "duplicate row: '" + std::string(repo) + "' on " + day_label(day) + " was read before");
        return;
      }
      add_total(at, f_count, value);
      emit(u, month, value);
      ++stats.accepted;
      return;
    }
    if (u >= last_day.size()) {
      last_day.resize(std::max<size_t>(u + 1, last_day.size() * 2), kNoDay);
      last_value.resize(last_day.size(), 0);
    }
    if (last_day[u] != kNoDay) {
      if (day < last_day[u]) {
        reject(at, f_date, "out-of-order date: " + std::string(date) + " after " + day_label(last_day[u]) +
                               " for '" + std::string(repo) + "'");
        return;
      }
      if (day == last_day[u]) {
        // The same snapshot twice is a harmless duplicate; two values for one day are an anomaly.
        if (value != last_value[u]) {
          reject(at, f_count, "conflicting snapshot: " + std::to_string(value) + " on " + std::string(date) +
                                  " for '" + std::string(repo) + "', which already has " +
                                  std::to_string(last_value[u]) + " on that date");
          return;
        }
        if (reject_duplicates) {
          reject(at, f_date, "duplicate row: '" + std::string(repo) + "' on " + day_label(day) + " was read before");
          return;
        }
        job.count_duplicate();
        ++stats.accepted;  // contributes nothing: its difference is 0
        return;
      }
      if (value < last_value[u]) {
        reject(at, f_count, "decreasing cumulative counter: " + std::to_string(value) + " after " +
                                std::to_string(last_value[u]) + " on " + day_label(last_day[u]) + " for '" +
                                std::string(repo) + "'");
        return;
      }
      add_total(at, f_count, value - last_value[u]);
      emit(u, month, value - last_value[u]);
    } else {
      add_total(at, f_count, value);
      emit(u, month, value);  // the first snapshot carries everything counted up to its date
    }
    last_day[u] = day;
    last_value[u] = value;
    ++stats.accepted;
  };

  if (headerless) {
    ++stats.read;
    process(records.first_line());
  }
  while (records.next(&rec, &st)) {
    ++stats.read;
    const uint64_t at = records.first_line();
    if (st == Status::ok) {
      if (detail::split_csv(rec, &cells, &scratch, &err)) {
        process(at);
      } else {
        reject(at, "", std::string("malformed CSV: ") + err);
      }
    } else if (st == Status::too_long) {
      reject(at, "", "line too long: over " + std::to_string(options.max_line) + " bytes");
    } else {
      reject(at, "", "malformed CSV: unterminated quoted field at end of input");
    }
    if (progress && lines.progress_bytes() >= next_progress) {  // compressed bytes for a compressed file
      progress(lines.progress_bytes(), total);
      next_progress = lines.progress_bytes() + options.progress_every;
    }
  }
  flush();
  job.settle();
  stats.bytes = lines.bytes_consumed();
  if (progress) progress(lines.progress_bytes(), total);
  return stats;
}

}  // namespace ecostat::host
