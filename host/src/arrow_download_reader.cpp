// An Arrow stream of download records: repo, date and a count column, read through the same
// per-row rules as the CSV reader (download_records.hpp: repo-id rule, date window,
// duplicates, cumulative differencing, the job's total). A dictionary-encoded repo column is
// resolved once per dictionary entry and dictionary (a Parquet row group's batches share one),
// not once per row; each row then reads its code's standing, fetched 16 rows ahead. With
// threads, per period under the `count` policy, a batch's rows are read in parts at once and
// each part's rows with a known unit are taken in one step (download_records.hpp, RowsAhead).
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arrow_input.hpp"
#include "csv.hpp"
#include "download_records.hpp"
#include "ecostat/detail/thread_pool.hpp"
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
  // threads > 1 and rows that may be taken ahead (DownloadRecords::takes_rows_ahead): a batch's
  // rows are read by `threads` threads at once (ahead_rows), and this thread then takes each
  // part's rows in one step, going row by row only through those it must take in turn.
  DownloadBatchReader(detail::DownloadRecords& out, RepoTable& repos, unsigned threads) : out_(out), repos_(repos) {
    if (threads > 1 && out.takes_rows_ahead()) {
      pool_ = std::make_unique<ecostat::detail::ThreadPool>(threads);
      memos_.assign(pool_->size(), std::vector<DayMonth>(kDayMonths));
    }
  }

  void read(const detail::ArrowBatch& b, int c_repo, int c_date, int c_count) {
    const Columns cols{b, b.view.strings(c_repo), b.view.days(c_date), b.view.integers(c_count)};
    const int64_t rows = b.view.num_rows();
    start_batch(cols.repo, rows);
    if (cols.repo.is_dictionary()) row_code_.resize(static_cast<size_t>(rows));
    if (!pool_ || rows < kAheadMinRows) {
      if (cols.repo.is_dictionary()) read_codes(cols.repo, 0, rows);
      read_rows(cols, 0, rows);
      return;
    }
    // Parts of the batch read at once, then taken in order: a part's deferred rows one by one
    // (rejects, ids not judged yet: in row order, as one thread would), then its rows ahead. A
    // part whose counts could carry the job's total past 2^64-1 is read row by row instead, so
    // that the error names its row.
    const size_t parts = std::min<size_t>(2 * size_t(pool_->size()), size_t(rows / (kAheadMinRows / 2)));
    if (parts_.size() < parts) parts_.resize(parts);
    pool_->run(parts, [&](size_t t, unsigned worker) {
      ahead_rows(cols, rows * int64_t(t) / int64_t(parts), rows * int64_t(t + 1) / int64_t(parts), parts_[t],
                 memos_[worker].data());
    });
    for (size_t t = 0; t < parts; ++t) {
      const Part& p = parts_[t];
      if (!out_.ahead_fits(p.ahead)) {
        read_rows(cols, p.first, p.last);
        continue;
      }
      for (const int64_t r : p.deferred) read_row(cols, r);
      out_.take_ahead(p.ahead);
    }
  }

 private:
  struct Columns {
    const detail::ArrowBatch& batch;
    arrow::StringColumn repo;
    arrow::DayColumn date;
    arrow::IntColumn count;
  };
  // A part of a batch read ahead: its accepted rows whose unit is known, and the rows left to
  // be taken in turn.
  struct Part {
    int64_t first = 0, last = 0;
    detail::RowsAhead ahead;
    std::vector<int64_t> deferred;
  };
  struct DayMonth {
    int32_t day = kNoDay;  // a day inside the window, or kNoDay
    Month month = 0;
  };
  static constexpr uint32_t kDayMonths = 4096;
  static constexpr int64_t kAheadMinRows = 16384;  // a smaller batch is read on this thread alone

  // Rows [first, last) one by one, in order.
  void read_rows(const Columns& c, int64_t first, int64_t last) {
    const bool dictionary = c.repo.is_dictionary();
    for (int64_t r = first; r < last; ++r) {
      if (dictionary) prefetch_standing(r + kAhead, last);
      read_row(c, r);
    }
  }

  // The standing of row r's code fetched ahead of its turn (r < last, a code of a dictionary):
  // by_code_ is a random read a row, larger than the caches at a few hundred thousand ids.
  void prefetch_standing(int64_t r, int64_t last) const {
    if (r >= last) return;
    const int64_t code = row_code_[static_cast<size_t>(r)];
    if (code >= 0) __builtin_prefetch(&by_code_[static_cast<size_t>(code)]);
  }

  // Row r through the rules, accepted (DownloadRecords::add) or rejected. Dictionary columns:
  // row_code_[r] is read.
  void read_row(const Columns& c, int64_t r) {
    const uint64_t at = c.batch.line(r);
    std::string_view id;
    uint32_t* standing = c.repo.is_dictionary() ? dictionary_standing(c.repo, r, &id) : plain_standing(c.repo, r, &id);
    if (*standing == kNullEntry || *standing == kBad) {
      out_.reject(at, out_.repo_field(), *standing == kNullEntry ? std::string(kNullRequired) : repo_problem(c.repo, r));
      return;
    }
    int32_t day = 0;
    const Cell dc = c.date.get(r, &day, &why_);
    if (dc != Cell::value) {
      out_.reject(at, out_.date_field(), dc == Cell::null ? std::string(kNullRequired) : why_);
      return;
    }
    // The months of accepted days, memoised: rows in any order name a few thousand days.
    DayMonth& known = day_months_[static_cast<uint32_t>(day) % kDayMonths];
    if (known.day != day || day == kNoDay) {  // kNoDay marks an empty entry, never a known day
      if (!out_.check_day(day, "", at)) return;
      known = DayMonth{day, month_of_day(day)};
    }
    uint64_t value = 0;
    const Cell cc = c.count.get_uint64(r, &value, &why_);
    if (cc != Cell::value) {
      out_.reject(at, out_.count_field(), cc == Cell::null ? std::string(kNullRequired) : "bad count: " + why_);
      return;
    }
    if (*standing == kValid) {  // once per id and dictionary
      *standing = repos_.ensure(id, true);
      mark_valid(*standing);
    }
    // No id text: an accepted row does not need it, and a message looks it up by the unit.
    out_.add(at, *standing, {}, day, known.month, value, "");
  }

  // Rows [first, last) read on a pool thread, into p: a row whose repo already has a unit (a
  // dictionary code's standing, or a plain id found in the repository table and judged valid
  // here before), with a day in the window and a count, is taken ahead; any other row is left
  // to read_row in turn (its count, when it has one, bounds what it may add to the total).
  // Reads only what no thread writes meanwhile: the columns, by_code_, valid_, the dictionary.
  // (Its plain ids are not marked valid here, as read_row marks them: they are judged again.)
  void ahead_rows(const Columns& c, int64_t first, int64_t last, Part& p, DayMonth* memo) const {
    p.first = first, p.last = last;
    p.ahead.clear();
    p.deferred.clear();
    const bool dictionary = c.repo.is_dictionary();
    if (dictionary) read_codes(c.repo, first, last);
    std::string why;
    std::string_view last_id;
    uint32_t last_unit = kNone;
    for (int64_t r = first; r < last; ++r) {
      uint32_t unit = kNone;
      if (dictionary) {
        prefetch_standing(r + kAhead, last);
        const int64_t code = row_code_[static_cast<size_t>(r)];
        if (code >= 0 && by_code_[static_cast<size_t>(code)] < kNullEntry) unit = by_code_[static_cast<size_t>(code)];
      } else {
        std::string_view id;
        if (c.repo.get(r, &id) == Cell::value) {
          if (last_unit == kNone || id != last_id) {
            // A unit whose id passes the rule (judged here unless judged before): the unit
            // read_row's ensure() would find.
            const uint32_t u = repos_.ids.find(id);
            last_id = id;
            const bool judged = u != kNone && u < valid_.size() && valid_[u];
            last_unit = u != kNone && (judged || judge(Cell::value, id) == kValid) ? u : kNone;
          }
          unit = last_unit;
        }
      }
      int32_t day = 0;
      uint64_t value = 0;
      const bool has_day = c.date.get(r, &day, &why) == Cell::value;
      const bool has_count = c.count.get_uint64(r, &value, &why) == Cell::value;
      if (unit != kNone && has_day && has_count) {
        DayMonth& known = memo[static_cast<uint32_t>(day) % kDayMonths];
        if (known.day == day && day != kNoDay) {
          p.ahead.add(unit, day, known.month, value);
          continue;
        }
        if (day >= out_.min_day() && day <= out_.max_day()) {
          known = DayMonth{day, month_of_day(day)};
          p.ahead.add(unit, day, known.month, value);
          continue;
        }
      }
      p.deferred.push_back(r);
      if (has_count) p.ahead.defer(value);
    }
  }

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
  // entries looked up at once (the lookups' misses overlap), entries naming a unit taking that
  // unit once the id is judged valid (here, the first time: the rule's answer does not depend on
  // when it is asked, and the unit is the one a row's ensure() would find), so that the rows
  // read ahead find them. Entries not in the table are judged on first use, in row order, as
  // for a large dictionary: they add ids.
  void resolve_dictionary(const arrow::StringColumn& repo) {
    const int64_t n = repo.dictionary_size();
    units_.resize(static_cast<size_t>(n));
    // The lookups (random reads of the table, the bulk of this) on the pool's threads when
    // there is one: a row group's dictionary holds about as many ids as it has rows.
    const size_t parts = pool_ && n >= 2 * kAheadMinRows ? 2 * size_t(pool_->size()) : 1;
    if (lookups_.size() < parts) lookups_.resize(parts);
    auto look_up = [&](size_t t, unsigned) {
      Lookup& l = lookups_[t];
      l.entries.clear();
      l.codes.clear();
      l.units.clear();
      for (int64_t code = n * int64_t(t) / int64_t(parts); code < n * int64_t(t + 1) / int64_t(parts); ++code) {
        std::string_view id;
        units_[static_cast<size_t>(code)] = kNone;
        if (repo.dictionary_entry(code, &id) != Cell::value) continue;
        l.entries.push_back(id);
        l.codes.push_back(code);
      }
      l.units.resize(l.entries.size());
      repos_.ids.find_many(l.entries.data(), l.entries.size(), l.units.data());
      for (size_t i = 0; i < l.units.size(); ++i) units_[static_cast<size_t>(l.codes[i])] = l.units[i];
    };
    if (parts > 1) {
      pool_->run(parts, look_up);
    } else {
      look_up(0, 0);
    }
    for (int64_t code = 0; code < n; ++code) {
      const uint32_t u = units_[static_cast<size_t>(code)];
      if (u == kNone) continue;
      if (u >= valid_.size() || !valid_[u]) {
        std::string_view id;
        (void)repo.dictionary_entry(code, &id);
        if (judge(Cell::value, id) != kValid) continue;  // rejected on first use
        mark_valid(u);
      }
      by_code_[static_cast<size_t>(code)] = u;
      touched_.push_back(code);
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
  void read_codes(const arrow::StringColumn& repo, int64_t first, int64_t last) const {
    for (int64_t r = first; r < last; ++r) {
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
  struct Lookup {  // a part of resolve_dictionary's lookups
    std::vector<std::string_view> entries;
    std::vector<int64_t> codes;
    std::vector<uint32_t> units;
  };
  std::vector<Lookup> lookups_;
  std::vector<uint32_t> units_;  // resolve_dictionary: the unit of each code, or kNone
  // This batch's code per row (read_codes; parts fill their rows, each its own: mutable).
  mutable std::vector<int64_t> row_code_;
  std::vector<DayMonth> day_months_ = std::vector<DayMonth>(kDayMonths);  // direct-mapped by day
  std::string why_;  // read_row's reason for a bad cell
  std::unique_ptr<ecostat::detail::ThreadPool> pool_;  // with rows taken ahead
  std::vector<std::vector<DayMonth>> memos_;  // a day table per pool worker
  std::vector<Part> parts_;
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
    reader.emplace(*out, repos, options.threads);
  };
  auto batch = [&](const detail::ArrowBatch& b, ReadStats&) { reader->read(b, c_repo, c_date, c_count); };
  return detail::read_arrow_stream(stream, name, start, batch, [&](ReadStats&) { out->finish(); }, options.rows_before);
}

}  // namespace ecostat::host
