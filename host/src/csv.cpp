#include "csv.hpp"

#include "ecostat/errors.hpp"

#include <cstring>

namespace ecostat::host::detail {

namespace {

// CSV scanner state carried across the lines of one record.
enum : int { kFieldStart = 0, kUnquoted = 1, kQuoted = 2, kQuoteInQuoted = 3 };

int scan(std::string_view s, int state) {
  for (const char c : s) {
    switch (state) {
      case kFieldStart: state = c == '"' ? kQuoted : c == ',' ? kFieldStart : kUnquoted; break;
      case kUnquoted: if (c == ',') state = kFieldStart; break;
      case kQuoted: if (c == '"') state = kQuoteInQuoted; break;
      default: state = c == '"' ? kQuoted : c == ',' ? kFieldStart : kUnquoted; break;
    }
  }
  return state;
}

}  // namespace

bool record_continues(std::string_view line) { return scan(line, kFieldStart) == kQuoted; }

bool CsvRecordReader::next(std::string_view* record, Status* status) {
  std::string_view line;
  bool too_long = false;
  for (;;) {
    if (!lines_.next(&line, &too_long)) return false;
    first_line_ = lines_.line_number();
    if (too_long) {
      // Whatever the skipped line held, the record it starts is unusable. Its quotes are not
      // known, so the next line is read as the start of a new record.
      *status = Status::too_long;
      *record = std::string_view();
      return true;
    }
    if (!line.empty()) break;  // blank lines between records are not records
  }
  *status = Status::ok;
  if (std::memchr(line.data(), '"', line.size()) == nullptr) {  // fast path: no quotes at all
    *record = line;
    return true;
  }
  int state = scan(line, kFieldStart);
  if (state != kQuoted) {
    *record = line;
    return true;
  }
  // A quoted field continues on the next line: join lines until the quotes close.
  joined_.assign(line.data(), line.size());
  bool over = false;
  for (;;) {
    if (!lines_.next(&line, &too_long)) {
      *status = over ? Status::too_long : Status::unterminated;
      *record = over ? std::string_view() : std::string_view(joined_);
      return true;
    }
    if (too_long) {
      over = true;  // keep scanning (without keeping the text) to find where the record ends
      continue;
    }
    if (!over) {
      if (joined_.size() + 1 + line.size() > max_record_) {
        over = true;
        joined_.clear();
      } else {
        joined_.push_back('\n');
        joined_.append(line.data(), line.size());
      }
    }
    // A line break inside quotes is field content: the state stays kQuoted across it.
    state = scan(line, kQuoted);
    if (state != kQuoted) break;
  }
  *status = over ? Status::too_long : Status::ok;
  *record = over ? std::string_view() : std::string_view(joined_);
  return true;
}

bool split_csv(std::string_view rec, std::vector<std::string_view>* fields, std::string* scratch,
               const char** error) {
  fields->clear();
  const char* p = rec.data();
  const char* const end = p + rec.size();
  if (std::memchr(p, '"', rec.size()) == nullptr) {  // fast path
    for (;;) {
      const char* c = static_cast<const char*>(std::memchr(p, ',', static_cast<size_t>(end - p)));
      if (!c) {
        fields->emplace_back(p, static_cast<size_t>(end - p));
        return true;
      }
      fields->emplace_back(p, static_cast<size_t>(c - p));
      p = c + 1;
    }
  }
  // Unescaped text never exceeds the record, so reserving the record's size up front keeps the
  // views into scratch valid while it is appended to.
  scratch->clear();
  if (scratch->capacity() < rec.size()) scratch->reserve(rec.size());
  for (;;) {
    if (p < end && *p == '"') {
      ++p;
      const size_t start_in_scratch = scratch->size();
      const char* run = p;  // start of the current run of plain text
      bool copied = false;
      const char* field_begin = p;
      for (;;) {
        const char* q = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end - p)));
        if (!q) {
          *error = "unterminated quoted field";
          return false;
        }
        if (q + 1 < end && q[1] == '"') {  // doubled quote: one literal quote
          scratch->append(run, static_cast<size_t>(q + 1 - run));
          copied = true;
          p = q + 2;
          run = p;
          continue;
        }
        // closing quote
        if (copied) {
          scratch->append(run, static_cast<size_t>(q - run));
          fields->emplace_back(scratch->data() + start_in_scratch, scratch->size() - start_in_scratch);
        } else {
          fields->emplace_back(field_begin, static_cast<size_t>(q - field_begin));
        }
        p = q + 1;
        break;
      }
      if (p == end) return true;
      if (*p != ',') {
        *error = "text after a closing quote";
        return false;
      }
      ++p;
      continue;
    }
    // Unquoted field: up to the next comma. A quote inside it is taken literally.
    const char* c = static_cast<const char*>(std::memchr(p, ',', static_cast<size_t>(end - p)));
    if (!c) {
      fields->emplace_back(p, static_cast<size_t>(end - p));
      return true;
    }
    fields->emplace_back(p, static_cast<size_t>(c - p));
    p = c + 1;
  }
}

std::string csv_cells_or_problem(std::string_view record, CsvRecordReader::Status status, size_t max_line,
                                 size_t columns, std::vector<std::string_view>* cells, std::string* scratch) {
  if (status == CsvRecordReader::Status::too_long) return "line too long: over " + std::to_string(max_line) + " bytes";
  if (status == CsvRecordReader::Status::unterminated) return "malformed CSV: unterminated quoted field at end of input";
  const char* err = nullptr;
  if (!split_csv(record, cells, scratch, &err)) return std::string("malformed CSV: ") + err;
  if (columns > 0 && cells->size() != columns)
    return "wrong column count: expected " + std::to_string(columns) + ", got " + std::to_string(cells->size());
  return {};
}

std::string normalise_header(std::string_view cell) {
  if (cell.size() >= 3 && static_cast<unsigned char>(cell[0]) == 0xEF && static_cast<unsigned char>(cell[1]) == 0xBB &&
      static_cast<unsigned char>(cell[2]) == 0xBF)
    cell.remove_prefix(3);
  while (!cell.empty() && (cell.front() == ' ' || cell.front() == '\t')) cell.remove_prefix(1);
  while (!cell.empty() && (cell.back() == ' ' || cell.back() == '\t')) cell.remove_suffix(1);
  std::string out(cell);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

int find_column(const std::vector<std::string>& header, std::initializer_list<const char*> names) {
  for (const char* n : names)
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == n) return static_cast<int>(i);
  return -1;
}

bool read_csv_header(CsvRecordReader& records, std::vector<std::string>* header) {
  std::string_view rec;
  CsvRecordReader::Status st;
  if (!records.next(&rec, &st)) return false;  // empty input
  if (st != CsvRecordReader::Status::ok)
    throw InputError(records.name(), records.first_line(), "", "unreadable header line");
  if (rec.size() >= 3 && std::memcmp(rec.data(), "\xEF\xBB\xBF", 3) == 0) rec.remove_prefix(3);
  std::vector<std::string_view> cells;
  std::string scratch;
  const char* err = nullptr;
  if (!split_csv(rec, &cells, &scratch, &err))
    throw InputError(records.name(), records.first_line(), "", std::string("malformed CSV header: ") + err);
  header->clear();
  for (auto c : cells) header->push_back(normalise_header(c));
  return true;
}

}  // namespace ecostat::host::detail
