// A downloads CSV record's cells -> (repo, day, month, count) or the reason it is rejected (the
// part of reading a download record that needs no shared state), the header's layout, and the
// record loop: the sequential reader and the parallel one (download_reader_parallel.cpp) run
// the same code. Internal to host/.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "csv.hpp"
#include "download_records.hpp"
#include "ecostat/host/readers.hpp"

namespace ecostat::host::detail {

// Which cells of a record hold what: from the header, or the documented order repo,date,count
// when the first line is already a record.
struct DownloadLayout {
  int repo = -1, date = -1, count = -1;
  size_t n_columns = 0;
  bool cumulative = false;
  bool headerless = false;           // the first line is a record
  std::vector<std::string> header;   // column names (rejects name them)
};

// The layout from the first record's cells. Throws InputError(file, line) naming the columns a
// header lacks.
DownloadLayout download_layout(const std::vector<std::string_view>& cells, DownloadFormat format,
                               const std::string& file, uint64_t line);

// One parser per thread: it caches the last repo (already validated) and the last date
// (already parsed), which sorted exports repeat row after row. text_stays: the cells of every
// record parsed stay valid as long as the parser (a whole chunk in memory), so those two are
// remembered as views instead of copies.
class DownloadRowParser {
 public:
  DownloadRowParser(const DownloadLayout& layout, int32_t min_day, int32_t max_day, bool text_stays = false);

  struct Row {
    std::string_view repo, date;  // as written (trimmed), pointing into the record
    int32_t day = 0;
    Month month = 0;
    uint64_t value = 0;
  };
  struct Problem {
    const std::string* field = nullptr;  // a header name, or null for the record as a whole
    std::string reason;
  };
  // True with *row filled, or false with *problem filled.
  bool parse(const std::string_view* cells, size_t n_cells, Row* row, Problem* problem);
  bool parse(const std::vector<std::string_view>& cells, Row* row, Problem* problem) {
    return parse(cells.data(), cells.size(), row, problem);
  }

 private:
  void remember(std::string_view text, std::string& own, std::string_view* last) const;

  const DownloadLayout& layout_;
  const int32_t min_day_, max_day_;
  const bool text_stays_;
  std::string_view last_repo_;  // validated (a view into the text, or into own_repo_)
  bool have_repo_ = false;
  std::string_view last_date_;  // parsed into cached_day_ (into the text, or own_date_)
  std::string own_repo_, own_date_;
  int32_t cached_day_ = kNoDay;
  Month cached_month_ = 0;
};

// Blanks around a cell (CSV exports with ", " separators).
std::string_view trim_blanks(std::string_view s);

// The record loop of the sequential reader: every record `records` gives (line numbers shifted
// by line_offset) parsed, checked and handed to `out`. after_record (optional) runs after each.
void read_download_records(CsvRecordReader& records, uint64_t line_offset, const DownloadLayout& layout,
                           RepoTable& repos, DownloadRecords& out, const ReadOptions& options, ReadStats& stats,
                           const std::function<void(uint64_t)>& after_record = {});

}  // namespace ecostat::host::detail
