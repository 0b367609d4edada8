#include "download_rows.hpp"

#include <cstring>

#include "csv.hpp"
#include "download_records.hpp"
#include "ecostat/errors.hpp"
#include "text.hpp"

namespace ecostat::host::detail {

namespace {

// A count of 1-19 digits and nothing else (below 2^64), the form nearly every record has, read
// here; parse_count takes every other form (blanks, "12.0", signs) and says what is wrong.
inline bool plain_count(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (const char c : s) {
    const unsigned d = unsigned(c) - unsigned('0');
    if (d > 9) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

}  // namespace

DownloadLayout download_layout(const std::vector<std::string_view>& cells, DownloadFormat format,
                               const std::string& file, uint64_t line) {
  DownloadLayout l;
  l.n_columns = cells.size();
  int32_t d;
  uint64_t v;
  if (cells.size() >= 3 && parse_day(cells[1], INT32_MIN, INT32_MAX, &d) == DateStatus::ok &&
      parse_count(cells[2], &v) == NumStatus::ok) {
    // No header: the documented column order repo,date,count.
    l.headerless = true;
    l.repo = 0, l.date = 1, l.count = 2;
    l.cumulative = format == DownloadFormat::cumulative;
    l.header = {"repo", "date", l.cumulative ? "downloads_all_time" : "downloads"};
    while (l.header.size() < cells.size()) l.header.push_back("column" + std::to_string(l.header.size() + 1));
    return l;
  }
  for (auto c : cells) l.header.push_back(normalise_header(c));
  l.repo = find_column(l.header, {"repo", "repo_id", "id", "model", "model_id", "modelid"});
  l.date = find_column(l.header, {"date", "day", "timestamp"});
  const int c_period = find_column(l.header, {"downloads", "count"});
  const int c_cumul = find_column(l.header, {"downloads_all_time", "downloadsalltime"});
  if (format == DownloadFormat::detect) {
    l.cumulative = c_cumul >= 0;
    l.count = l.cumulative ? c_cumul : c_period;
  } else if (format == DownloadFormat::per_period) {
    l.count = c_period;
  } else {
    l.cumulative = true;
    l.count = c_cumul >= 0 ? c_cumul : c_period;
  }
  std::string missing;
  if (l.repo < 0) missing += " repo (repo, repo_id, id, model, model_id)";
  if (l.date < 0) missing += " date (date, day, timestamp)";
  if (l.count < 0)
    missing += format == DownloadFormat::per_period ? " count (downloads, count)"
                                                    : " count (downloads, count, downloads_all_time)";
  if (!missing.empty()) throw InputError(file, line, "", "downloads header lacks a column for:" + missing);
  return l;
}

DownloadRowParser::DownloadRowParser(const DownloadLayout& layout, int32_t min_day, int32_t max_day,
                                     bool text_stays, RepoCheck repo_check)
    : layout_(layout), min_day_(min_day), max_day_(max_day), text_stays_(text_stays), repo_check_(repo_check),
      days_(kDayEntries) {}

void DownloadRowParser::remember(std::string_view text, std::string& own, std::string_view* last) const {
  if (text_stays_) {
    *last = text;
  } else {
    own.assign(text.data(), text.size());
    *last = own;
  }
}

bool DownloadRowParser::check_repo_id(std::string_view repo, Problem* problem) const {
  if (!repo.empty() && !repo_id_problem(repo)) return true;
  problem->field = &layout_.header[layout_.repo];
  problem->reason = DownloadRecords::repo_problem(repo);
  return false;
}

// The day and month of a date cell, or false with *problem.
bool DownloadRowParser::parse_date(std::string_view date, int32_t* day, Month* month, Problem* problem) {
  DayEntry* entry = nullptr;
  uint64_t head = 0;
  uint16_t tail = 0;
  if (date.size() == 10) {  // plain YYYY-MM-DD: looked up by its bytes, parsed once
    std::memcpy(&head, date.data(), 8);
    std::memcpy(&tail, date.data() + 8, 2);
    static_assert(kDayEntries == size_t{1} << 11, "the index takes 11 bits");
    entry = &days_[((head ^ (uint64_t{tail} << 13)) * 0x9e3779b97f4a7c15ull) >> (64 - 11)];
    if (entry->tail == tail && entry->head == head && tail != 0) {
      *day = entry->day;
      *month = entry->month;
      return true;
    }
  } else if (have_last_date_ && date == last_date_) {
    *day = last_day_;
    *month = last_month_;
    return true;
  }
  const DateStatus ds = parse_day(date, min_day_, max_day_, day, month);
  if (ds != DateStatus::ok) {
    problem->field = &layout_.header[layout_.date];
    problem->reason = ds == DateStatus::malformed ? "unparseable date: '" + printable(date) + "'"
                                                  : date_out_of_range(date, min_day_, max_day_);
    return false;
  }
  if (entry) {
    if (tail != 0) *entry = DayEntry{head, tail, *month, *day};
  } else {
    remember(date, own_date_, &last_date_);
    have_last_date_ = true;
    last_day_ = *day;
    last_month_ = *month;
  }
  return true;
}

bool DownloadRowParser::parse(const std::string_view* cells, size_t n_cells, Row* row, Problem* problem) {
  if (n_cells != layout_.n_columns) {
    problem->field = nullptr;
    problem->reason = "wrong column count: expected " + std::to_string(layout_.n_columns) + ", got " +
                      std::to_string(n_cells);
    return false;
  }
  const std::string_view repo = trim_blanks(cells[layout_.repo]);
  const bool check_now = repo_check_ == RepoCheck::here;
  const bool same_repo = check_now && have_repo_ && repo == last_repo_;
  if (check_now && !same_repo && !check_repo_id(repo, problem)) return false;
  // After the lookup, a bad id is still the reason a row with a bad date or count gives.
  auto rejected_for_repo = [&] { return !check_now && !check_repo_id(repo, problem); };
  const std::string_view date = trim_blanks(cells[layout_.date]);
  int32_t day = 0;
  Month month = 0;
  if (!parse_date(date, &day, &month, problem)) {
    rejected_for_repo();
    return false;
  }
  uint64_t value = 0;
  const NumStatus ns = plain_count(cells[layout_.count], &value) ? NumStatus::ok : parse_count(cells[layout_.count], &value);
  if (ns != NumStatus::ok) {
    if (rejected_for_repo()) return false;
    problem->field = &layout_.header[layout_.count];
    problem->reason = std::string(ns == NumStatus::empty ? "missing count" : "bad count") + ": " + num_status_text(ns) +
                      (ns == NumStatus::empty ? "" : " '" + printable(trim_blanks(cells[layout_.count])) + "'");
    return false;
  }
  if (check_now && !same_repo) {
    remember(repo, own_repo_, &last_repo_);
    have_repo_ = true;
  }
  *row = Row{repo, date, day, month, value};
  return true;
}

void read_download_records(CsvRecordReader& records, uint64_t line_offset, const DownloadLayout& layout,
                           RepoTable& repos, DownloadRecords& out, const ReadOptions& options, ReadStats& stats,
                           const std::function<void(uint64_t)>& after_record) {
  using Status = CsvRecordReader::Status;
  DownloadRowParser parser(layout, out.min_day(), out.max_day());
  std::vector<std::string_view> cells;
  std::string scratch;
  std::string_view rec;
  Status st;
  std::string last_repo;  // consecutive records usually share a repo: skip its lookup
  uint32_t last_unit = kNone;
  DownloadRowParser::Row row;
  DownloadRowParser::Problem why;
  while (records.next(&rec, &st)) {
    ++stats.read;
    const uint64_t at = line_offset + records.first_line();
    if (std::string problem = csv_cells_or_problem(rec, st, options.max_line, 0, &cells, &scratch); !problem.empty()) {
      out.reject(at, "", problem);
    } else if (!parser.parse(cells, &row, &why)) {
      out.reject(at, why.field ? *why.field : std::string(), why.reason);
    } else {
      if (last_unit == kNone || row.repo != last_repo) {
        last_unit = repos.ensure(row.repo, true);
        last_repo.assign(row.repo.data(), row.repo.size());
      }
      out.add(at, last_unit, row.repo, row.day, row.month, row.value, row.date);
    }
    if (after_record) after_record(at);
  }
}

}  // namespace ecostat::host::detail
