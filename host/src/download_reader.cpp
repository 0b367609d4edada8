// Download records CSV: per-period counts, or cumulative snapshots differenced per repo.
// The hot path allocates nothing per record: fields are views into the read buffer, counts go
// through std::from_chars, repo ids and dates are cached against the previous record.
#include <algorithm>
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

using detail::NumStatus;

constexpr uint32_t kMaxEventCount = 0xffffffffu;

std::string day_label(int32_t day) {
  // Inverse of days_from_civil (Howard Hinnant's civil_from_days), for messages only.
  int32_t z = day + 719468;
  const int32_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int y = static_cast<int>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += (m <= 2);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, m, d);
  return buf;
}

std::string_view trim_blanks(std::string_view s) {
  if (!s.empty() && (s.front() == ' ' || s.back() == ' ' || s.front() == '\t' || s.back() == '\t'))
    return detail::trim(s);
  return s;
}

}  // namespace

ReadStats read_downloads(ByteSource& src, DownloadFormat format, RepoTable& repos, RejectLog& rejects,
                         size_t batch_capacity, const std::function<void(const EventBatch&)>& sink,
                         const ProgressFn& progress) {
  return read_downloads(src, format, repos, rejects, batch_capacity, sink, progress, ReadOptions{});
}

ReadStats read_downloads(ByteSource& src, DownloadFormat format, RepoTable& repos, RejectLog& rejects,
                         size_t batch_capacity, const std::function<void(const EventBatch&)>& sink,
                         const ProgressFn& progress, const ReadOptions& options) {
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
    if (cells.size() >= 3 && parse_date(cells[1].data(), cells[1].size(), &d) &&
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
    if (batch.size() == 0) return;
    sink(batch);
    batch.clear();
  };
  auto emit = [&](uint32_t u, Month m, uint64_t c) {
    while (c > 0) {  // a count above u32 becomes several events whose sum is exact
      const uint32_t part = c > kMaxEventCount ? kMaxEventCount : static_cast<uint32_t>(c);
      if (batch.size() >= batch_capacity) flush();
      batch.push(u, m, part);
      c -= part;
    }
  };

  // Per-repo baseline of cumulative counters: last accepted snapshot's day and value.
  std::vector<int32_t> last_day;
  std::vector<uint64_t> last_value;

  // Caches: consecutive records usually share a repo (sorted exports) or a date.
  std::string last_repo;
  uint32_t last_unit = kNone;
  std::string last_date;
  int32_t cached_day = kNoDay;
  Month cached_month = 0;
  // Months are u16 since 1970-01: the last representable day.
  static const int32_t kMaxDay = days_from_civil(1970 + 65535 / 12, 65535 % 12 + 1, 1) - 1;

  auto process = [&](uint64_t at) {
    if (cells.size() != n_columns) {
      reject(at, "", "wrong column count: expected " + std::to_string(n_columns) + ", got " +
                         std::to_string(cells.size()));
      return;
    }
    const std::string_view repo = trim_blanks(cells[c_repo]);
    if (repo.empty()) {
      reject(at, f_repo, "empty repo id");
      return;
    }
    std::string_view date = trim_blanks(cells[c_date]);
    if (date.size() != last_date.size() || std::memcmp(date.data(), last_date.data(), date.size()) != 0 ||
        cached_day == kNoDay) {
      int32_t d;
      if (!parse_date(date.data(), date.size(), &d)) {
        reject(at, f_date, "unparseable date: '" + std::string(date) + "'");
        return;
      }
      if (d > kMaxDay) {
        reject(at, f_date, "date out of range: '" + std::string(date) + "'");
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
                 (ns == NumStatus::empty ? "" : " '" + std::string(trim_blanks(cells[c_count])) + "'"));
      return;
    }
    uint32_t u;
    if (last_unit != kNone && repo.size() == last_repo.size() &&
        std::memcmp(repo.data(), last_repo.data(), repo.size()) == 0) {
      u = last_unit;
    } else {
      u = repos.ensure(repo, true);
      last_repo.assign(repo.data(), repo.size());
      last_unit = u;
    }
    if (!cumulative) {
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
        reject(at, f_date, "duplicate date: " + std::string(date) + " for '" + std::string(repo) + "'");
        return;
      }
      if (value < last_value[u]) {
        reject(at, f_count, "decreasing cumulative counter: " + std::to_string(value) + " after " +
                                std::to_string(last_value[u]) + " on " + day_label(last_day[u]) + " for '" +
                                std::string(repo) + "'");
        return;
      }
      emit(u, month, value - last_value[u]);
    } else {
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
    if (progress && lines.bytes_consumed() >= next_progress) {
      progress(lines.bytes_consumed(), total);
      next_progress = lines.bytes_consumed() + options.progress_every;
    }
  }
  flush();
  stats.bytes = lines.bytes_consumed();
  if (progress) progress(stats.bytes, total);
  return stats;
}

}  // namespace ecostat::host
