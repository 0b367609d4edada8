// CSV records and fields (RFC 4180): quoted fields may hold commas, doubled quotes and line
// breaks, so one record may span several physical lines. Internal to the host readers.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "ecostat/host/source.hpp"

namespace ecostat::host::detail {

// Joins the physical lines of a LineReader into CSV records. Blank lines between records are
// skipped (not records); a blank line inside a quoted field belongs to the field. A line break
// inside a quoted field is kept as '\n' (a CRLF there becomes LF).
class CsvRecordReader {
 public:
  enum class Status { ok, too_long, unterminated };
  // max_record bounds a record that spans several lines (a single line is bounded by the
  // LineReader's own max_line).
  CsvRecordReader(LineReader& lines, size_t max_record) : lines_(lines), max_record_(max_record) {}
  // Next record (valid until the next call); false at end of input. status tells whether the
  // record is usable: too_long (a line or the joined record exceeded the limit; the record is
  // skipped whole) or unterminated (a quoted field still open at end of input).
  bool next(std::string_view* record, Status* status);
  uint64_t first_line() const { return first_line_; }  // 1-based line where the record began
  uint64_t bytes_consumed() const { return lines_.bytes_consumed(); }
  const std::string& name() const { return lines_.name(); }

 private:
  LineReader& lines_;
  size_t max_record_;
  std::string joined_;
  uint64_t first_line_ = 0;
};

// True when a record starting with `line` continues on the next line (a quoted field is still
// open at its end), by the same rules CsvRecordReader joins lines with.
bool record_continues(std::string_view line);

// Splits one record into fields. Views point into the record or into scratch (for fields whose
// doubled quotes had to be undone); they stay valid until scratch or the record change.
// Returns false when a quoted field is malformed (text after its closing quote, or no closing
// quote); *error then says what.
bool split_csv(std::string_view record, std::vector<std::string_view>* fields, std::string* scratch,
               const char** error);

// The cells of one record from CsvRecordReader::next, or why it has none: "" and *cells filled,
// or the reject reason every reader gives (line too long, unterminated or malformed quoting, and
// with columns > 0 a cell count other than columns). max_line: the limit named in the reason.
std::string csv_cells_or_problem(std::string_view record, CsvRecordReader::Status status, size_t max_line,
                                 size_t columns, std::vector<std::string_view>* cells, std::string* scratch);

// Header cell normalised for matching: surrounding blanks and a UTF-8 BOM removed, lower case.
std::string normalise_header(std::string_view cell);
// Index of the first header cell equal to one of names (already lower case), or -1.
int find_column(const std::vector<std::string>& header, std::initializer_list<const char*> names);

// Reads the first record as a header of normalised column names (a UTF-8 BOM is dropped).
// Returns false on empty input. Throws InputError naming the file when the header cannot be read.
bool read_csv_header(CsvRecordReader& records, std::vector<std::string>* header);

}  // namespace ecostat::host::detail
