// The shared chunk parser of the parallel downloads readers (download_chunks.hpp).
#include "download_chunks.hpp"

#include <algorithm>
#include <cstring>

#include "csv.hpp"
#include "csv_scan.hpp"
#include "ecostat/errors.hpp"
#include "mapped_file.hpp"

namespace ecostat::host::detail {

void parse_chunk(const char* data, size_t begin, size_t end, const DownloadLayout& layout, int32_t min_day,
                 int32_t max_day, size_t max_line, const Dictionary& ids, ChunkRows* out) {
  DownloadRowParser parser(layout, min_day, max_day, /*text_stays=*/true);
  std::vector<std::string_view> cells;
  std::string scratch;
  const char* err = nullptr;
  auto problem = [&](uint64_t line, const std::string* field, std::string reason) {
    out->problems.push_back({field, std::move(reason)});
    ChunkRows::Item item{};
    item.line = uint32_t(line);
    item.problem = int32_t(out->problems.size() - 1);
    out->items.push_back(item);
  };
  auto add_row = [&](uint64_t line, const std::string_view* row_cells, size_t n) {
    ChunkRows::Item item{};
    item.line = uint32_t(line);
    DownloadRowParser::Problem why;
    if (parser.parse(row_cells, n, &item.row, &why)) {
      out->repos.push_back(item.row.repo);
    } else {
      out->problems.push_back(std::move(why));
      item.problem = int32_t(out->problems.size() - 1);
    }
    out->items.push_back(item);
  };
  // Lines without quotes and with at most kFastCells cells (nearly all) are cut at the commas
  // the scan found; any other line goes through split_csv.
  constexpr size_t kFastCells = 16;
  std::string_view fast_cells[kFastCells];
  size_t commas[kFastCells];
  SeparatorScan scan(data, begin, end);
  for (size_t p = begin; p < end;) {
    size_t n_commas = 0;
    bool plain = true;  // no quote, few cells
    size_t line_end = p;
    for (;;) {
      line_end = scan.next();
      if (line_end >= end || data[line_end] == '\n') break;
      if (data[line_end] == '"' || n_commas == kFastCells) {
        plain = false;
      } else {
        commas[n_commas++] = line_end;
      }
    }
    line_end = std::min(line_end, end);
    size_t len = line_end - p;
    const uint64_t line = ++out->lines;
    const size_t start = p;
    p = line_end + 1;
    if (len > 0 && data[start + len - 1] == '\r') --len;
    if (len == 0) continue;  // blank lines are not records
    if (len > max_line) {
      problem(line, nullptr, "line too long: over " + std::to_string(max_line) + " bytes");
      continue;
    }
    if (plain) {
      size_t from = start;
      for (size_t c = 0; c < n_commas; ++c) {
        fast_cells[c] = std::string_view(data + from, commas[c] - from);
        from = commas[c] + 1;
      }
      // The last cell ends at the record's end (before a '\r'; a comma may be that last byte).
      fast_cells[n_commas] = std::string_view(data + from, std::max(from, start + len) - from);
      add_row(line, fast_cells, n_commas + 1);
      continue;
    }
    std::string_view rec(data + start, len);
    const bool quoted = std::memchr(rec.data(), '"', rec.size()) != nullptr;
    if (quoted && record_continues(rec)) {  // continues on the next line: sequential from here
      out->stop = start;
      out->stop_line = line;
      --out->lines;
      break;
    }
    if (!split_csv(rec, &cells, &scratch, &err)) {
      problem(line, nullptr, std::string("malformed CSV: ") + err);
      continue;
    }
    if (quoted) {  // cells may point into scratch: keep a copy alive for the serial stage
      out->scratch.push_back(scratch);
      const std::string& kept = out->scratch.back();
      for (auto& c : cells)
        if (c.data() >= scratch.data() && c.data() < scratch.data() + scratch.size())
          c = std::string_view(kept.data() + (c.data() - scratch.data()), c.size());
    }
    add_row(line, cells.data(), cells.size());
  }
  // Units of the accepted rows, looked up together (the dictionary's misses overlap).
  out->units.resize(out->repos.size());
  ids.find_many(out->repos.data(), out->repos.size(), out->units.data());
}

bool find_records_start(const char* data, size_t size, DownloadFormat format, const std::string& name,
                        size_t max_line, RecordsStart* start) {
  size_t p = 0;
  uint64_t line = 0;
  std::string_view first;
  while (p < size) {
    const size_t e = line_end_after(data, size, p);
    ++line;
    std::string_view l(data + p, e - p);
    if (!l.empty() && l.back() == '\n') l.remove_suffix(1);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (!l.empty()) {
      if (l.size() >= 3 && std::memcmp(l.data(), "\xEF\xBB\xBF", 3) == 0) l.remove_prefix(3);
      first = l;
      break;
    }
    p = e;
  }
  if (first.empty() || first.size() > max_line || std::memchr(first.data(), '"', first.size())) return false;
  std::vector<std::string_view> cells;
  std::string scratch;
  const char* err = nullptr;
  if (!split_csv(first, &cells, &scratch, &err)) return false;
  start->layout = download_layout(cells, format, name, line);
  // Records start at the header's line (headerless) or the line after it.
  const bool headerless = start->layout.headerless;
  start->begin = headerless ? p : line_end_after(data, size, p);
  if (headerless && size - p >= 3 && std::memcmp(data + p, "\xEF\xBB\xBF", 3) == 0)
    start->begin += 3;  // the first record's BOM, as the sequential reader strips it
  start->line_base = headerless ? line - 1 : line;
  return true;
}

RowsInOrder::Ranges RowsInOrder::parse(const char* data, size_t begin, size_t end, size_t chunk, int set) {
  std::vector<ChunkRows>& rows = rows_[set];
  chunk = std::min(chunk, ChunkRows::kMaxChunkBytes);  // line numbers within a chunk fit 32 bits
  return parse_wave(data, end, begin, chunk, threads_, [&](size_t t, size_t first, size_t last) {
    rows[t].clear();
    parse_chunk(data, first, last, layout_, out_.min_day(), out_.max_day(), options_.max_line, repos_.ids, &rows[t]);
  });
}

void RowsInOrder::start_lookahead(const char* data, size_t begin, size_t end, size_t chunk, int set) {
  ahead_.data = data, ahead_.begin = begin, ahead_.end = end, ahead_.chunk = chunk, ahead_.set = set;
  ahead_.ranges.clear();
  ahead_.error = nullptr;
  ahead_live_ = true;
  ahead_.thread = std::thread([this, data, begin, end, chunk, set] {
    try {
      ahead_.ranges = parse(data, begin, end, chunk, set);
    } catch (...) {
      ahead_.error = std::current_exception();
    }
  });
}

void RowsInOrder::join_lookahead() {
  if (ahead_.thread.joinable()) ahead_.thread.join();
}

void RowsInOrder::drop_lookahead() {
  join_lookahead();
  ahead_live_ = false;
}

size_t RowsInOrder::wave(const char* data, size_t begin, size_t end, size_t chunk) {
  // This wave's rows: parsed ahead during the last apply when it asked for exactly this.
  int set = 0;
  Ranges ranges;
  if (ahead_live_ && ahead_.data == data && ahead_.begin == begin && ahead_.end == end && ahead_.chunk == chunk) {
    join_lookahead();
    ahead_live_ = false;
    if (ahead_.error) std::rethrow_exception(ahead_.error);
    set = ahead_.set;
    ranges = std::move(ahead_.ranges);
  } else {
    drop_lookahead();
    ranges = parse(data, begin, end, chunk, set);
  }
  const size_t wave_end = ranges.empty() ? end : ranges.back().second;
  // Unless a record spanning lines ends the parallel part here, parse the next wave meanwhile.
  bool spans = false;
  for (size_t t = 0; t < ranges.size(); ++t) spans |= rows_[set][t].stop != SIZE_MAX;
  if (!spans && wave_end < end && threads_ > 1) start_lookahead(data, wave_end, end, chunk, 1 - set);

  const std::vector<ChunkRows>& rows = rows_[set];
  for (size_t t = 0; t < ranges.size(); ++t) {
    const ChunkRows& c = rows[t];
    const uint32_t* unit = c.units.data();
    for (const auto& it : c.items) {
      ++stats_.read;
      const uint64_t at = line_base_ + it.line;
      if (it.problem >= 0) {
        const auto& why = c.problems[size_t(it.problem)];
        out_.reject(at, why.field ? *why.field : std::string(), why.reason);
        continue;
      }
      uint32_t u = *unit++;
      if (u == kNone) {
        join_lookahead();  // the dictionary may change: no parse may read it meanwhile
        u = repos_.ensure(it.row.repo, true);
      }
      out_.add(at, u, it.row.repo, it.row.day, it.row.month, it.row.value, it.row.date);
    }
    if (c.stop != SIZE_MAX) {
      stopped_ = true;
      stop_line_ = line_base_ + c.stop_line;
      return c.stop;
    }
    line_base_ += c.lines;
  }
  return wave_end;
}

}  // namespace ecostat::host::detail
