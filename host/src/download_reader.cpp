// Download records CSV: per-period counts, or cumulative snapshots differenced per repo.
// The hot path allocates nothing per record: fields are views into the read buffer, counts go
// through std::from_chars, repo ids and dates are cached against the previous record.
#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "csv.hpp"
#include "download_records.hpp"
#include "download_rows.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/host/readers.hpp"
#include "text.hpp"

namespace ecostat::host {

namespace {

using detail::day_label;

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

// Makes a unit's day block hold the 64-day words [lo, hi] (creating it), keeping its bits: in
// place when they fit after its first word, else a new block (geometric growth; at most 31,168
// words since the window ends by 7431).
void hold_words(std::unique_ptr<uint64_t[]>& block, int32_t lo, int32_t hi) {
  constexpr uint32_t kFirstCap = 7;  // 448 days, one 64-byte allocation
  if (!block) {
    const uint32_t used = static_cast<uint32_t>(hi - lo + 1), cap = std::max(used, kFirstCap);
    block.reset(new uint64_t[1 + cap]());
    block[0] = DayBlock{lo, used, cap}.header();
    return;
  }
  DayBlock h = DayBlock::of(block[0]);
  if (lo >= h.first && hi < h.first + static_cast<int32_t>(h.used)) return;
  const int32_t first = std::min(h.first, lo);
  const uint32_t used = static_cast<uint32_t>(std::max(h.first + static_cast<int32_t>(h.used) - 1, hi) - first + 1);
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

}  // namespace

// The marking thread: takes one buffer of pairs at a time and marks it.
struct DownloadJob::Marker {
  explicit Marker(DownloadJob& job) : job_(job), thread_([this] { loop(); }) {}
  ~Marker() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  // Swaps keys with the (empty) buffer the thread has finished, once it has; rethrows its error.
  void take(std::vector<uint64_t>& keys) {
    std::unique_lock<std::mutex> lk(m_);
    changed_.wait(lk, [&] { return !busy_; });
    rethrow();
    work_.swap(keys);
    busy_ = true;
    lk.unlock();
    changed_.notify_all();
  }
  void wait_idle() {
    std::unique_lock<std::mutex> lk(m_);
    changed_.wait(lk, [&] { return !busy_; });
    rethrow();
  }

 private:
  void rethrow() {
    if (error_) {
      std::exception_ptr e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);
    }
  }
  void loop() {
    std::unique_lock<std::mutex> lk(m_);
    for (;;) {
      changed_.wait(lk, [&] { return stop_ || busy_; });
      if (stop_) return;
      lk.unlock();
      std::exception_ptr error;
      try {
        job_.mark_all(work_);
      } catch (...) {
        error = std::current_exception();
        work_.clear();
      }
      lk.lock();
      if (error && !error_) error_ = error;
      busy_ = false;
      changed_.notify_all();
    }
  }

  DownloadJob& job_;
  std::mutex m_;
  std::condition_variable changed_;
  std::vector<uint64_t> work_;  // the buffer being marked
  bool busy_ = false, stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: started once the rest is ready
};

DownloadJob::DownloadJob(unsigned threads, size_t pending_max, unsigned mark_threads)
    : background_((threads == 0 ? std::thread::hardware_concurrency() : threads) > 1),
      pending_max_(std::max<size_t>(pending_max, 1)),
      mark_threads_(mark_threads > 0 ? mark_threads
                                     : std::max(1u, (threads == 0 ? std::thread::hardware_concurrency() : threads) / 4)) {}

DownloadJob::~DownloadJob() = default;  // the marker stops (and joins) before the bitmaps go

bool DownloadJob::seen_before(uint32_t unit, int32_t day) {
  settle();  // an answer now must know every row noted before
  return mark(unit, day);
}

void DownloadJob::hand_over() {
  if (!background_) return mark_all(pending_);
  if (!marker_) marker_ = std::make_unique<Marker>(*this);
  marker_->take(pending_);  // pending_ comes back as the buffer marked before: empty
  pending_.reserve(pending_max_);
}

void DownloadJob::note_days(const uint64_t* pairs, size_t n) {
  while (n > 0) {
    const size_t k = std::min(n, pending_max_ - std::min(pending_max_, pending_.size()));
    pending_.insert(pending_.end(), pairs, pairs + k);
    pairs += k, n -= k;
    if (pending_.size() >= pending_max_) hand_over();
  }
}

void DownloadJob::settle() {
  if (marker_) {
    if (!pending_.empty()) hand_over();
    marker_->wait_idle();
  } else if (!pending_.empty()) {
    mark_all(pending_);  // too few pairs for a thread
  }
}

void DownloadJob::mark_all(std::vector<uint64_t>& keys) {
  // One counting-sort pass by unit range (4,096 ranges) is all the order the bitmaps need:
  // each range's blocks then stay in cache while its keys are marked. Exactness does not
  // depend on the order: mark() finds any pair marked before.
  if (keys.empty()) return;
  uint32_t max_unit = 0;
  for (const uint64_t key : keys) {
    max_unit = std::max(max_unit, static_cast<uint32_t>(key >> 32));
    const int32_t w = static_cast<int32_t>(static_cast<uint32_t>(key)) >> 6;
    first_word_ = std::min(first_word_, w);
    last_word_ = std::max(last_word_, w);
  }
  int shift = 0;
  while ((max_unit >> shift) >= 4096) ++shift;
  std::vector<uint32_t> start(4097, 0);
  for (const uint64_t key : keys) ++start[(key >> 32 >> shift) + 1];
  for (size_t b = 1; b < start.size(); ++b) start[b] += start[b - 1];
  sorted_.resize(keys.size());
  for (const uint64_t key : keys) sorted_[start[key >> 32 >> shift]++] = key;  // start[r]: end of range r
  if (max_unit >= days_.size()) days_.resize(std::max<size_t>(size_t{max_unit} + 1, days_.size() * 2));
  // The ranges split among the marking threads by pairs (each thread at least 16Ki pairs).
  constexpr size_t kPairsPerThread = size_t{1} << 14;
  const size_t T = std::min<size_t>(mark_threads_, keys.size() / kPairsPerThread + 1);
  if (T <= 1) {
    marked_duplicates_ += mark_ranges(0, 4096, start, shift);
  } else {
    std::vector<size_t> cut(T + 1, 4096);
    cut[0] = 0;
    for (size_t t = 1, r = 0; t < T; ++t) {
      while (r < 4096 && start[r] < keys.size() * t / T) ++r;
      cut[t] = r;
    }
    std::vector<uint64_t> repeats(T, 0);
    std::vector<std::exception_ptr> errors(T);
    auto mark_share = [&](size_t t) {
      try {
        repeats[t] = mark_ranges(cut[t], cut[t + 1], start, shift);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    };
    std::vector<std::thread> helpers;
    size_t started = 1;  // shares 1 .. started-1 have a helper thread
    try {
      for (; started < T; ++started) helpers.emplace_back(mark_share, started);
    } catch (const std::system_error&) {
      // No more threads now: this one marks the shares left.
    }
    mark_share(0);
    for (size_t t = started; t < T; ++t) mark_share(t);
    for (std::thread& h : helpers) h.join();
    for (const uint64_t n : repeats) marked_duplicates_ += n;
    for (const std::exception_ptr& e : errors)
      if (e) {
        keys.clear();
        sorted_.clear();
        std::rethrow_exception(e);
      }
  }
  keys.clear();
  sorted_.clear();
}

uint64_t DownloadJob::mark_ranges(size_t r0, size_t r1, const std::vector<uint32_t>& start, int shift) {
  // start[r]: the end of range r in sorted_ (mark_all's counting sort)
  // Each unit's block is sized once per buffer, before its range is marked, instead of growing
  // a few words at a time as its days come. A unit with several pairs in the buffer (one with
  // many rows) gets the job's whole span of words so far when that is at most 64 words (4,096
  // days), so that later buffers seldom grow it again; the others get their own span.
  constexpr uint32_t kDenseUnit = 4;  // pairs in one buffer
  constexpr int32_t kJobSpanWords = 64;
  const bool job_span = last_word_ - first_word_ < kJobSpanWords;
  // Per unit of the range being marked: its words' span and pairs in this buffer. Only the
  // units a range names are visited and reset, so the work follows the pairs, not the units.
  const size_t per_range = size_t{1} << shift;
  std::vector<int32_t> lo(per_range), hi(per_range);
  std::vector<uint32_t> pairs(per_range, 0), named;
  uint64_t repeats = 0;
  size_t begin = r0 == 0 ? 0 : start[r0 - 1];
  for (size_t r = r0; r < r1; begin = start[r], ++r) {
    const size_t end = start[r];
    if (begin == end) continue;
    const uint32_t base = static_cast<uint32_t>(r << shift);
    for (size_t i = begin; i < end; ++i) {
      const uint32_t u = static_cast<uint32_t>(sorted_[i] >> 32) - base;
      const int32_t w = static_cast<int32_t>(static_cast<uint32_t>(sorted_[i])) >> 6;
      if (pairs[u]++ == 0) {
        named.push_back(u);
        lo[u] = hi[u] = w;
      } else {
        lo[u] = std::min(lo[u], w);
        hi[u] = std::max(hi[u], w);
      }
    }
    for (const uint32_t u : named) {
      if (job_span && pairs[u] >= kDenseUnit)
        hold_words(days_[base + u], first_word_, last_word_);
      else
        hold_words(days_[base + u], lo[u], hi[u]);
      pairs[u] = 0;
    }
    named.clear();
    // Every block now holds its pairs' words: set the bits.
    for (size_t i = begin; i < end; ++i) {
      uint64_t* block = days_[static_cast<uint32_t>(sorted_[i] >> 32)].get();
      const int32_t day = static_cast<int32_t>(static_cast<uint32_t>(sorted_[i]));
      uint64_t& word = block[1 + static_cast<size_t>((day >> 6) - DayBlock::of(block[0]).first)];
      const uint64_t bit = uint64_t{1} << (day & 63);
      repeats += (word & bit) != 0;
      word |= bit;
    }
  }
  return repeats;
}

void DownloadJob::visit_marks(const std::function<void(uint32_t, int32_t, const uint64_t*, size_t)>& visit) {
  settle();
  for (uint32_t u = 0; u < days_.size(); ++u) {
    if (!days_[u]) continue;
    const DayBlock h = DayBlock::of(days_[u][0]);
    visit(u, h.first, days_[u].get() + 1, h.used);
  }
}

bool DownloadJob::mark(uint32_t unit, int32_t day) {
  if (unit >= days_.size()) days_.resize(std::max<size_t>(unit + 1, days_.size() * 2));
  auto& block = days_[unit];
  const int32_t w = day >> 6;  // day >= 0: the reader's window starts at 1970-01-01 at the earliest
  hold_words(block, w, w);
  const DayBlock h = DayBlock::of(block[0]);
  uint64_t& word = block[1 + static_cast<size_t>(w - h.first)];
  const uint64_t bit = uint64_t{1} << (day & 63);
  const bool seen = (word & bit) != 0;
  word |= bit;
  return seen;
}

// ---- DownloadRecords: the per-row rules every download producer shares ---------------------

namespace detail {

DownloadRecords::DownloadRecords(ReadStats& stats, RepoTable& repos, RejectLog& rejects, bool cumulative,
                                 size_t batch_capacity, const std::function<void(const EventBatch&)>& sink,
                                 const ReadOptions& options, DownloadJob& job)
    : stats_(stats),
      repos_(repos),
      rejects_(rejects),
      cumulative_(cumulative),
      batch_capacity_(batch_capacity == 0 ? 1 : batch_capacity),
      sink_(sink),
      job_(job),
      min_day_(std::max(options.min_day, kFirstDay)),
      max_day_(std::min(options.max_day, kLastDay)),
      reject_duplicates_(options.duplicates == DuplicatePolicy::reject) {
  batch_.clear();
  batch_.unit.reserve(std::min<size_t>(batch_capacity_, 1u << 22));
  batch_.month.reserve(batch_.unit.capacity());
  batch_.count.reserve(batch_.unit.capacity());
}

void DownloadRecords::set_fields(std::string repo, std::string date, std::string count) {
  f_repo_ = std::move(repo);
  f_date_ = std::move(date);
  f_count_ = std::move(count);
}

void DownloadRecords::reject(uint64_t at, const std::string& field, const std::string& reason) {
  ++stats_.rejected;
  rejects_.add(stats_.file, at, field, reason);
}

std::string DownloadRecords::repo_problem(std::string_view repo) {
  if (repo.empty()) return "empty repo id";
  if (const char* why = repo_id_problem(repo))
    return std::string("invalid repo id: ") + why + ": '" + printable(repo) + "'";
  return "";
}

bool DownloadRecords::check_repo(std::string_view repo, uint64_t at) {
  std::string why = repo_problem(repo);
  if (why.empty()) return true;
  reject(at, f_repo_, why);
  return false;
}

bool DownloadRecords::check_day(int32_t day, std::string_view date_text, uint64_t at) {
  if (day >= min_day_ && day <= max_day_) return true;
  reject(at, f_date_, date_out_of_range(date_text.empty() ? day_label(day) : date_text, min_day_, max_day_));
  return false;
}

void DownloadRecords::flush() {
  if (batch_.size() == 0 && batch_.wide.empty()) return;
  sink_(batch_);
  batch_.clear();
}

void DownloadRecords::take_ahead(const RowsAhead& a) {
  // ahead_fits(a) held before the deferred rows were taken: their counts and a.sum then fit
  // (asking ahead_fits again now would count the deferred ones twice).
  if (!takes_rows_ahead() || a.overflow || !job_.add_total(a.sum))
    throw std::logic_error("DownloadRecords::take_ahead: rows that may not be taken ahead");
  job_.note_days(a.pairs.data(), a.pairs.size());
  append(a.events);
  stats_.accepted += a.rows;
}

// Slices of `events` into the batch, each up to the capacity left; a slice's bounds are those
// of its events (the whole batch's when it goes whole and holds no wide event), so every batch
// sent names the same bounds as when its events are pushed one by one.
void DownloadRecords::append(const EventBatch& events) {
  const size_t n = events.size();
  for (size_t i = 0; i < n;) {
    if (batch_.size() + batch_.wide.size() >= batch_capacity_) flush();
    const size_t k = std::min(n - i, batch_capacity_ - batch_.size() - batch_.wide.size());
    batch_.unit.insert(batch_.unit.end(), events.unit.begin() + i, events.unit.begin() + i + k);
    batch_.month.insert(batch_.month.end(), events.month.begin() + i, events.month.begin() + i + k);
    batch_.count.insert(batch_.count.end(), events.count.begin() + i, events.count.begin() + i + k);
    uint32_t bound = events.unit_bound;
    Month lo = events.month_min, hi = events.month_max;
    if (k != n || !events.wide.empty()) {
      bound = 0, lo = 0xffff, hi = 0;
      for (size_t j = i; j < i + k; ++j) {
        bound = std::max(bound, events.unit[j] + 1);
        lo = std::min(lo, events.month[j]);
        hi = std::max(hi, events.month[j]);
      }
    }
    batch_.unit_bound = std::max(batch_.unit_bound, bound);
    batch_.month_min = std::min(batch_.month_min, lo);
    batch_.month_max = std::max(batch_.month_max, hi);
    i += k;
  }
  for (const WideEvent& w : events.wide) {
    if (batch_.size() + batch_.wide.size() >= batch_capacity_) flush();
    batch_.push_wide(w.unit, w.month, w.count);
  }
}

void DownloadRecords::total_overflow(uint64_t at) const {
  throw InputError(stats_.file, at, f_count_, "download counts sum past 2^64-1: totals would not be exact");
}

void DownloadRecords::add_duplicate_checked(uint64_t at, uint32_t unit, std::string_view repo, int32_t day, Month month,
                                            uint64_t value) {
  if (job_.seen_before(unit, day)) {
    reject(at, f_date_, "duplicate row: '" + repo_text(repo, unit) + "' on " + day_label(day) + " was read before");
    return;
  }
  add_total(at, value);
  emit(unit, month, value);
  ++stats_.accepted;
}

void DownloadRecords::add_cumulative(uint64_t at, uint32_t u, std::string_view repo, int32_t day, Month month,
                                     uint64_t value, std::string_view date_text) {
  // The date as written, for messages only (no allocation on the accepted path).
  auto date = [&] { return date_text.empty() ? day_label(day) : std::string(date_text); };
  if (u >= last_day_.size()) {
    last_day_.resize(std::max<size_t>(u + 1, last_day_.size() * 2), kNoDay);
    last_value_.resize(last_day_.size(), 0);
  }
  if (last_day_[u] != kNoDay) {
    if (day < last_day_[u]) {
      reject(at, f_date_, "out-of-order date: " + date() + " after " + day_label(last_day_[u]) + " for '" +
                              repo_text(repo, u) + "'");
      return;
    }
    if (day == last_day_[u]) {
      // The same snapshot twice is a harmless duplicate; two values for one day are an anomaly.
      if (value != last_value_[u]) {
        reject(at, f_count_, "conflicting snapshot: " + std::to_string(value) + " on " + date() + " for '" +
                                 repo_text(repo, u) + "', which already has " + std::to_string(last_value_[u]) +
                                 " on that date");
        return;
      }
      if (reject_duplicates_) {
        reject(at, f_date_, "duplicate row: '" + repo_text(repo, u) + "' on " + day_label(day) + " was read before");
        return;
      }
      job_.count_duplicate();
      ++stats_.accepted;  // contributes nothing: its difference is 0
      return;
    }
    if (value < last_value_[u]) {
      reject(at, f_count_, "decreasing cumulative counter: " + std::to_string(value) + " after " +
                               std::to_string(last_value_[u]) + " on " + day_label(last_day_[u]) + " for '" +
                               repo_text(repo, u) + "'");
      return;
    }
    add_total(at, value - last_value_[u]);
    emit(u, month, value - last_value_[u]);
  } else {
    add_total(at, value);
    emit(u, month, value);  // the first snapshot carries everything counted up to its date
  }
  last_day_[u] = day;
  last_value_[u] = value;
  ++stats_.accepted;
}

void DownloadRecords::finish() {
  flush();
  job_.settle();
}

}  // namespace detail

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
  std::string scratch;
  const char* err = nullptr;
  const uint64_t total = src.size_hint();

  // --- header (or a first data row when the file has none) -------------------------------
  if (!records.next(&rec, &st)) {
    stats.bytes = lines.bytes_consumed();
    return stats;  // empty input
  }
  if (st != Status::ok) throw InputError(stats.file, records.first_line(), "", "unreadable header line");
  if (rec.size() >= 3 && std::memcmp(rec.data(), "\xEF\xBB\xBF", 3) == 0) rec.remove_prefix(3);
  if (!detail::split_csv(rec, &cells, &scratch, &err))
    throw InputError(stats.file, records.first_line(), "", std::string("malformed CSV header: ") + err);
  const detail::DownloadLayout layout = detail::download_layout(cells, format, stats.file, records.first_line());

  // --- records: the loop the parallel reader's remainder runs too -----------------------------
  detail::DownloadRecords out(stats, repos, rejects, layout.cumulative, batch_capacity, sink, options, job);
  out.set_fields(layout.header[layout.repo], layout.header[layout.date], layout.header[layout.count]);
  if (layout.headerless) {  // the first line was already a record
    ++stats.read;
    detail::DownloadRowParser parser(layout, out.min_day(), out.max_day());
    detail::DownloadRowParser::Row row;
    detail::DownloadRowParser::Problem why;
    if (parser.parse(cells, &row, &why))
      out.add(records.first_line(), repos.ensure(row.repo, true), row.repo, row.day, row.month, row.value, row.date);
    else
      out.reject(records.first_line(), why.field ? *why.field : std::string(), why.reason);
  }
  uint64_t next_progress = options.progress_every;
  detail::read_download_records(records, 0, layout, repos, out, options, stats, [&](uint64_t) {
    if (progress && lines.progress_bytes() >= next_progress) {  // compressed bytes for a compressed file
      progress(lines.progress_bytes(), total);
      next_progress = lines.progress_bytes() + options.progress_every;
    }
  });
  out.finish();
  stats.bytes = lines.bytes_consumed();
  if (progress) progress(lines.progress_bytes(), total);
  return stats;
}

}  // namespace ecostat::host
