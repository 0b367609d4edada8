// An Arrow stream of download records: repo, date and a count column, read through the same
// per-row rules as the CSV reader (download_records.hpp: repo-id rule, date window,
// duplicates, cumulative differencing, the job's total). A dictionary-encoded repo column is
// resolved once per dictionary entry and dictionary (a Parquet row group's batches share one),
// not once per row; each row then reads its code's standing, fetched 16 rows ahead.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arrow_input.hpp"
#include "csv.hpp"
#include "download_records.hpp"
#include "ecostat/host/arrow_readers.hpp"
#include "text.hpp"

namespace ecostat::host {

namespace {

using arrow::Cell;
using arrow::kNullRequired;

// A repo id's standing in a batch: a unit id, or one of these (unit ids stay below them).
constexpr uint32_t kUnseen = 0xffffffffu;     // not judged yet
constexpr uint32_t kValid = 0xfffffffeu;      // a valid id, no accepted row yet (no unit)
constexpr uint32_t kBad = 0xfffffffdu;        // not an id, or a corrupt cell
constexpr uint32_t kNullEntry = 0xfffffffcu;  // a null
// A row's dictionary code when there is none.
constexpr int64_t kNullCode = -1, kBadCode = -2;
constexpr int64_t kAhead = 16;  // rows ahead whose code's standing is fetched

class DownloadBatchReader {
 public:
  DownloadBatchReader(detail::DownloadRecords& out, RepoTable& repos) : out_(out), repos_(repos) {}

  void read(const detail::ArrowBatch& b, int c_repo, int c_date, int c_count) {
    const arrow::StringColumn repo = b.view.strings(c_repo);
    const arrow::DayColumn date = b.view.days(c_date);
    const arrow::IntColumn count = b.view.integers(c_count);
    start_batch(repo, b.view.num_rows());
    if (repo.is_dictionary()) read_codes(repo, b.view.num_rows());
    std::string why;
    for (int64_t r = 0; r < b.view.num_rows(); ++r) {
      const uint64_t at = b.line(r);
      std::string_view id;
      if (r + kAhead < b.view.num_rows() && repo.is_dictionary()) {
        const int64_t ahead = row_code_[static_cast<size_t>(r + kAhead)];
        if (ahead >= 0) __builtin_prefetch(&by_code_[static_cast<size_t>(ahead)]);
      }
      uint32_t* standing = repo.is_dictionary() ? dictionary_standing(repo, r, &id) : plain_standing(repo, r, &id);
      if (*standing == kNullEntry || *standing == kBad) {
        out_.reject(at, out_.repo_field(), *standing == kNullEntry ? std::string(kNullRequired) : repo_problem(repo, r));
        continue;
      }
      int32_t day = 0;
      const Cell dc = date.get(r, &day, &why);
      if (dc != Cell::value) {
        out_.reject(at, out_.date_field(), dc == Cell::null ? std::string(kNullRequired) : why);
        continue;
      }
      // The months of accepted days, memoised: rows in any order name a few thousand days.
      DayMonth& known = day_months_[static_cast<uint32_t>(day) % kDayMonths];
      if (known.day != day || day == kNoDay) {  // kNoDay marks an empty entry, never a known day
        if (!out_.check_day(day, "", at)) continue;
        known = DayMonth{day, month_of_day(day)};
      }
      uint64_t value = 0;
      const Cell cc = count.get_uint64(r, &value, &why);
      if (cc != Cell::value) {
        out_.reject(at, out_.count_field(), cc == Cell::null ? std::string(kNullRequired) : "bad count: " + why);
        continue;
      }
      if (*standing == kValid) {  // once per id and dictionary
        *standing = repos_.ensure(id, true);
        mark_valid(*standing);
      }
      // No id text: an accepted row does not need it, and a message looks it up by the unit.
      out_.add(at, *standing, {}, day, known.month, value, "");
    }
  }

 private:
  // A dictionary's codes are judged on first use in each batch (a batch may bring its own
  // dictionary). Only the codes the previous batch touched are reset, so a large dictionary
  // costs nothing per batch beyond its rows.
  void start_batch(const arrow::StringColumn& repo, int64_t rows) {
    last_ = kUnseen;
    // The previous batch's dictionary (still alive: read_arrow_stream keeps it until this one is
    // read): its codes keep their standing, so a row group's dictionary is judged once.
    const arrow::StringColumn::DictionaryKey key = repo.dictionary_key();
    const bool same = repo.is_dictionary() && previous_ &&
                      (key == last_key_ || repo.same_dictionary_values(*previous_));
    last_key_ = key;
    previous_ = repo;  // a view of this batch, alive until the next batch is read
    if (same) return;
    for (const int64_t code : touched_) by_code_[static_cast<size_t>(code)] = kUnseen;
    touched_.clear();
    if (repo.is_dictionary() && by_code_.size() < static_cast<size_t>(repo.dictionary_size()))
      by_code_.resize(static_cast<size_t>(repo.dictionary_size()), kUnseen);
    if (repo.is_dictionary() && repo.dictionary_size() <= 2 * rows) resolve_dictionary(repo);
  }

  // A dictionary about the batch's size (Parquet and most producers write one per batch): all its
  // entries looked up at once (the lookups' misses overlap), entries naming a unit already
  // judged valid taking that unit. The rest are judged on first use, as for a large dictionary.
  void resolve_dictionary(const arrow::StringColumn& repo) {
    const int64_t n = repo.dictionary_size();
    entries_.clear();
    codes_.clear();
    for (int64_t code = 0; code < n; ++code) {
      std::string_view id;
      if (repo.dictionary_entry(code, &id) != Cell::value) continue;
      entries_.push_back(id);
      codes_.push_back(code);
    }
    units_.resize(entries_.size());
    repos_.ids.find_many(entries_.data(), entries_.size(), units_.data());
    for (size_t i = 0; i < units_.size(); ++i) {
      const uint32_t u = units_[i];
      if (u == kNone || u >= valid_.size() || !valid_[u]) continue;
      by_code_[static_cast<size_t>(codes_[i])] = u;
      touched_.push_back(codes_[i]);
    }
  }

  // Unit u's id passed the repo-id rule (units made from base-model references were never
  // judged by it: a download naming one is judged once, like any new id).
  void mark_valid(uint32_t u) {
    if (u >= valid_.size()) valid_.resize(std::max<size_t>(u + 1, valid_.size() * 2), 0);
    valid_[u] = 1;
  }

  static uint32_t judge(Cell c, std::string_view id) {
    if (c == Cell::null) return kNullEntry;
    if (c == Cell::bad || !detail::DownloadRecords::repo_problem(id).empty()) return kBad;
    return kValid;
  }

  // Each row's dictionary code, read ahead of the rows (kNullCode, kBadCode: a null or a bad
  // index), so that the standing of the code kAhead rows on is fetched early: by_code_ is a
  // random read a row, larger than the caches at a few hundred thousand ids (76% of the loop's
  // samples at 500k ids when it was read in turn).
  void read_codes(const arrow::StringColumn& repo, int64_t rows) {
    row_code_.resize(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      int64_t code = 0;
      const Cell c = repo.code(r, &code);
      row_code_[static_cast<size_t>(r)] = c == Cell::value ? code : c == Cell::null ? kNullCode : kBadCode;
    }
  }

  uint32_t* dictionary_standing(const arrow::StringColumn& repo, int64_t r, std::string_view* id) {
    const int64_t code = row_code_[static_cast<size_t>(r)];
    if (code < 0) {
      null_or_bad_ = code == kNullCode ? kNullEntry : kBad;
      return &null_or_bad_;
    }
    uint32_t& standing = by_code_[static_cast<size_t>(code)];
    if (standing < kNullEntry) return &standing;  // a unit: its id is not needed again
    const Cell e = repo.dictionary_entry(code, id);  // two loads: no hashing per row
    if (standing == kUnseen) {
      touched_.push_back(code);
      standing = judge(e, *id);
    }
    return &standing;
  }

  // A plain column: consecutive rows with the same id (sorted exports) share its standing.
  uint32_t* plain_standing(const arrow::StringColumn& repo, int64_t r, std::string_view* id) {
    const Cell c = repo.get(r, id);
    if (c == Cell::value && last_ != kUnseen && *id == last_id_) return &last_;
    last_id_ = c == Cell::value ? *id : std::string_view();
    last_ = judge(c, *id);
    if (last_ != kValid) {
      null_or_bad_ = last_;
      last_ = kUnseen;  // never shared: the next row is judged again
      return &null_or_bad_;
    }
    return &last_;
  }

  // The reject reason of row r's repo id (rows of a bad id only).
  static std::string repo_problem(const arrow::StringColumn& repo, int64_t r) {
    std::string_view id;
    std::string why;
    if (repo.get(r, &id, &why) == Cell::bad) return why;
    return detail::DownloadRecords::repo_problem(id);
  }

  detail::DownloadRecords& out_;
  RepoTable& repos_;
  std::vector<uint32_t> by_code_;   // dictionary code -> standing, this batch
  std::vector<int64_t> touched_;    // codes judged since the dictionary changed
  arrow::StringColumn::DictionaryKey last_key_;  // the dictionary those codes belong to
  std::optional<arrow::StringColumn> previous_;  // the previous batch's repo column
  std::vector<uint8_t> valid_;      // by unit: its id passed the repo-id rule here
  std::vector<std::string_view> entries_;  // resolve_dictionary's scratch
  std::vector<int64_t> codes_;
  std::vector<int64_t> row_code_;   // this batch's code per row (read_codes)
  struct DayMonth {
    int32_t day = kNoDay;  // a day inside the window, or kNoDay
    Month month = 0;
  };
  static constexpr uint32_t kDayMonths = 4096;
  std::vector<DayMonth> day_months_ = std::vector<DayMonth>(kDayMonths);  // direct-mapped by day
  std::vector<uint32_t> units_;
  uint32_t last_ = kUnseen;         // plain column: the previous row's standing ...
  std::string_view last_id_;        // ... and id
  uint32_t null_or_bad_ = kBad;     // the standing of a row that shares none
};

}  // namespace

ReadStats read_downloads_arrow(ArrowArrayStream* stream, const std::string& name, DownloadFormat format,
                               RepoTable& repos, RejectLog& rejects, size_t batch_capacity,
                               const std::function<void(const EventBatch&)>& sink, const ReadOptions& options,
                               DownloadJob& job) {
  int c_repo = -1, c_date = -1, c_count = -1;
  std::optional<detail::DownloadRecords> out;
  std::optional<DownloadBatchReader> reader;
  // The CSV reader's column names and format detection, on the stream's schema.
  auto start = [&](const ArrowSchema& schema, ReadStats& stats) {
    const auto header = detail::normalised_column_names(schema);
    c_repo = detail::find_column(header, {"repo", "repo_id", "id", "model", "model_id", "modelid"});
    c_date = detail::find_column(header, {"date", "day", "timestamp"});
    const int c_period = detail::find_column(header, {"downloads", "count"});
    const int c_cumul = detail::find_column(header, {"downloads_all_time", "downloadsalltime"});
    bool cumulative = false;
    if (format == DownloadFormat::detect) {
      cumulative = c_cumul >= 0;
      c_count = cumulative ? c_cumul : c_period;
    } else if (format == DownloadFormat::per_period) {
      c_count = c_period;
    } else {
      cumulative = true;
      c_count = c_cumul >= 0 ? c_cumul : c_period;
    }
    if (c_repo < 0)
      throw arrow::ArrowBatchError(stats.file, 0, "repo", "no repo column (repo, repo_id, id, model, model_id)");
    if (c_date < 0) throw arrow::ArrowBatchError(stats.file, 0, "date", "no date column (date, day, timestamp)");
    if (c_count < 0)
      throw arrow::ArrowBatchError(stats.file, 0, "downloads",
                                   format == DownloadFormat::per_period
                                       ? "no count column (downloads, count)"
                                       : "no count column (downloads, count, downloads_all_time)");
    out.emplace(stats, repos, rejects, cumulative, batch_capacity, sink, options, job);
    out->set_fields(detail::column_name(schema, c_repo), detail::column_name(schema, c_date),
                    detail::column_name(schema, c_count));
    reader.emplace(*out, repos);
  };
  auto batch = [&](const detail::ArrowBatch& b, ReadStats&) { reader->read(b, c_repo, c_date, c_count); };
  return detail::read_arrow_stream(stream, name, start, batch, [&](ReadStats&) { out->finish(); }, options.rows_before);
}

}  // namespace ecostat::host
