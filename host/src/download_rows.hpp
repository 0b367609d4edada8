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
#include "text.hpp"

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

// One parser per thread: it caches the last repo (already validated) and the dates it parsed
// (the last one, and plain YYYY-MM-DD dates in a small table: a file holds a few thousand
// distinct dates at most, in any order). text_stays: the cells of every record parsed stay
// valid as long as the parser (a whole chunk in memory), so the last repo and date are
// remembered as views instead of copies.
//
// RepoCheck::after_lookup (the chunk parser): an accepted row's repo id is not checked here;
// the caller checks only the ids its dictionary lookup does not find (RowsInOrder::wave, through
// DownloadRecords::check_repo: the same rule, field and reason), since an
// id in the repository table passed the same rule when it was added. A row rejected for its
// date or count is still rejected for its id first when the id is bad, so the reasons are the
// ones RepoCheck::here gives.
class DownloadRowParser {
 public:
  enum class RepoCheck { here, after_lookup };
  DownloadRowParser(const DownloadLayout& layout, int32_t min_day, int32_t max_day, bool text_stays = false,
                    RepoCheck repo_check = RepoCheck::here);

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
  // False with *problem filled when repo (trimmed, as Row::repo) cannot be an id.
  bool check_repo_id(std::string_view repo, Problem* problem) const;

 private:
  void remember(std::string_view text, std::string& own, std::string_view* last) const;
  bool parse_date(std::string_view date, int32_t* day, Month* month, Problem* problem);
  // A parsed YYYY-MM-DD date: its 10 bytes as a word and a tail, its day and month. tail 0
  // marks an empty entry (a date's last two bytes are digits).
  struct DayEntry {
    uint64_t head = 0;
    uint16_t tail = 0;
    Month month = 0;
    int32_t day = 0;
  };
  static constexpr size_t kDayEntries = 2048;  // 32 KB: ~5.6 years of days, direct-mapped

  const DownloadLayout& layout_;
  const int32_t min_day_, max_day_;
  const bool text_stays_;
  const RepoCheck repo_check_;
  std::vector<DayEntry> days_;  // kDayEntries
  std::string_view last_repo_;  // validated (a view into the text, or into own_repo_)
  bool have_repo_ = false;
  // The last date of another form than YYYY-MM-DD (a view into the text, or into own_date_).
  std::string_view last_date_;
  bool have_last_date_ = false;
  int32_t last_day_ = 0;
  Month last_month_ = 0;
  std::string own_repo_, own_date_;
};

// Blanks around a cell (CSV exports with ", " separators). Inline: every cell of every record
// passes here, and nearly all have none (an out-of-line call was 4% of a parser thread).
inline std::string_view trim_blanks(std::string_view s) {
  if (!s.empty() && (s.front() == ' ' || s.back() == ' ' || s.front() == '\t' || s.back() == '\t')) return trim(s);
  return s;
}

// The record loop of the sequential reader: every record `records` gives (line numbers shifted
// by line_offset) parsed, checked and handed to `out`. after_record (optional) runs after each.
void read_download_records(CsvRecordReader& records, uint64_t line_offset, const DownloadLayout& layout,
                           RepoTable& repos, DownloadRecords& out, const ReadOptions& options, ReadStats& stats,
                           const std::function<void(uint64_t)>& after_record = {});

}  // namespace ecostat::host::detail
