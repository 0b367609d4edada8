// Downloads CSV with every thread: a plain file is mapped, cut into chunks at line boundaries,
// and each wave of chunks is parsed by `threads` threads at once (fields, dates, counts, the
// repo-id rule, repo ids looked up in the read-only repository dictionary). The rows then go,
// in file order, through the same DownloadRecords the sequential reader uses (placeholders for
// unknown ids, duplicate checks, cumulative differencing, the job total, the events), so unit
// ids, results and rejects are identical for any thread count.
//
// A record continued on the next line (a quoted field holding a line break) cannot be found
// from the middle of a file: the first one met ends the parallel part, and the rest of the
// file is read by the sequential record reader from that line on.

#include <algorithm>
#include <deque>
#include <cstring>
#include <thread>

#include "csv.hpp"
#include "download_reader_parallel.hpp"
#include "download_records.hpp"
#include "download_rows.hpp"
#include "ecostat/errors.hpp"
#include "mapped_file.hpp"

namespace ecostat::host::detail {

namespace {

// The file, mapped read-only; unmapped and closed on every path out.

// What one thread made of one chunk: its rows in order, each accepted (with the unit found in
// the dictionary, or kNone) or rejected.
struct ChunkRows {
  struct Item {
    DownloadRowParser::Row row;
    uint64_t line;         // within the chunk, 1-based
    uint32_t unit = kNone;
    int32_t problem = -1;  // index into problems, or -1 when accepted
  };
  std::vector<Item> items;
  std::vector<DownloadRowParser::Problem> problems;
  std::deque<std::string> scratch;   // unescaped cells of quoted records (a deque: views stay valid)
  uint64_t lines = 0;                // physical lines in the chunk
  size_t stop = SIZE_MAX;            // byte offset (in the file) of a multi-line record, if any
  uint64_t stop_line = 0;            // its line within the chunk
};


void parse_chunk(const char* data, size_t begin, size_t end, const DownloadLayout& layout, int32_t min_day,
                 int32_t max_day, size_t max_line, const Dictionary& ids, ChunkRows* out) {
  DownloadRowParser parser(layout, min_day, max_day);
  std::vector<std::string_view> cells;
  std::string scratch;
  const char* err = nullptr;
  auto problem = [&](uint64_t line, const std::string* field, std::string reason) {
    out->problems.push_back({field, std::move(reason)});
    ChunkRows::Item item{};
    item.line = line;
    item.problem = int32_t(out->problems.size() - 1);
    out->items.push_back(item);
  };
  for (size_t p = begin; p < end;) {
    const char* nl = static_cast<const char*>(std::memchr(data + p, '\n', end - p));
    const size_t line_end = nl ? size_t(nl - data) : end;
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
    std::string_view rec(data + start, len);
    const bool quoted = std::memchr(rec.data(), '"', rec.size()) != nullptr;
    if (quoted && record_continues(rec)) {  // continues on the next line: sequential from here
      out->stop = start;
      out->stop_line = line;
      --out->lines;
      return;
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
    ChunkRows::Item item{};
    item.line = line;
    DownloadRowParser::Problem why;
    if (parser.parse(cells, &item.row, &why)) {
      out->items.push_back(item);
    } else {
      out->problems.push_back(std::move(why));
      item.problem = int32_t(out->problems.size() - 1);
      out->items.push_back(item);
    }
  }
  // Units of the accepted rows, looked up together (the dictionary's misses overlap).
  std::vector<std::string_view> repos;
  std::vector<uint32_t> units;
  repos.reserve(out->items.size());
  for (const auto& it : out->items)
    if (it.problem < 0) repos.push_back(it.row.repo);
  units.resize(repos.size());
  ids.find_many(repos.data(), repos.size(), units.data());
  size_t k = 0;
  for (auto& it : out->items)
    if (it.problem < 0) it.unit = units[k++];
}

}  // namespace

bool read_downloads_parallel(const std::string& path, DownloadFormat format, RepoTable& repos, RejectLog& rejects,
                             size_t batch_capacity, const std::function<void(const EventBatch&)>& sink,
                             const ProgressFn& progress, const ReadOptions& options, DownloadJob& job,
                             unsigned threads, ReadStats* stats_out) {
  MappedFile file;
  if (threads < 2 || !file.open_plain_text(path, options.parallel_min_bytes)) return false;
  const char* const data = file.data();
  const size_t size = file.size();

  // The header: the first non-blank line (after a BOM). A quoted header goes the sequential way.
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
  if (first.empty() || first.size() > options.max_line || std::memchr(first.data(), '"', first.size())) return false;
  std::vector<std::string_view> cells;
  std::string scratch;
  const char* err = nullptr;
  if (!split_csv(first, &cells, &scratch, &err)) return false;
  const DownloadLayout layout = download_layout(cells, format, path, line);

  ReadStats stats;
  stats.file = path;
  DownloadRecords out(stats, repos, rejects, layout.cumulative, batch_capacity, sink, options, job);
  out.set_fields(layout.header[layout.repo], layout.header[layout.date], layout.header[layout.count]);
  // Records start at the header's line (headerless) or the line after it.
  size_t data_begin = layout.headerless ? p : line_end_after(data, size, p);
  if (layout.headerless && size - p >= 3 && std::memcmp(data + p, "\xEF\xBB\xBF", 3) == 0)
    data_begin += 3;  // the first record's BOM, as the sequential reader strips it
  uint64_t line_base = layout.headerless ? line - 1 : line;  // lines before data_begin

  std::vector<ChunkRows> wave(threads);
  size_t stop = SIZE_MAX;
  uint64_t stop_line = 0;
  while (data_begin < size && stop == SIZE_MAX) {
    const auto ranges = parse_wave(data, size, data_begin, options.parallel_chunk_bytes, threads,
                                   [&](size_t t, size_t first, size_t last) {
                                     wave[t] = ChunkRows{};
                                     parse_chunk(data, first, last, layout, out.min_day(), out.max_day(),
                                                 options.max_line, repos.ids, &wave[t]);
                                   });
    // In file order: placeholders, duplicates, totals and events exactly as one thread would.
    for (size_t t = 0; t < ranges.size() && stop == SIZE_MAX; ++t) {
      ChunkRows& c = wave[t];
      for (const auto& it : c.items) {
        ++stats.read;
        const uint64_t at = line_base + it.line;
        if (it.problem >= 0) {
          const auto& why = c.problems[size_t(it.problem)];
          out.reject(at, why.field ? *why.field : std::string(), why.reason);
          continue;
        }
        const uint32_t u = it.unit != kNone ? it.unit : repos.ensure(it.row.repo, true);
        out.add(at, u, it.row.repo, it.row.day, it.row.month, it.row.value, it.row.date);
      }
      if (c.stop != SIZE_MAX) {
        stop = c.stop;
        stop_line = line_base + c.stop_line;
      }
      line_base += c.lines;
    }
    data_begin = ranges.back().second;
    if (progress) progress(std::min(data_begin, size), size);
  }

  if (stop != SIZE_MAX) {  // the rest, from the multi-line record on, one record at a time
    auto rest = memory_source(path, data + stop, size - stop);
    LineReader lines(*rest, options.max_line);
    CsvRecordReader records(lines, options.max_record);
    read_download_records(records, stop_line - 1, layout, repos, out, options, stats);
  }
  out.finish();
  stats.bytes = size;
  if (progress) progress(size, size);
  *stats_out = std::move(stats);
  return true;
}

}  // namespace ecostat::host::detail
