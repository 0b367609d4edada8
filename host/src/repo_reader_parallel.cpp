// Repository records in JSON Lines with every thread: a plain file is mapped, cut into chunks at
// line boundaries, and each wave of chunks is parsed by `threads` threads at once (JSON, field
// rules: parse_repo_json, which touches no shared state). The records then go, in file order,
// through the same RepoTableWriter as one thread (duplicate ids, exact sums, placeholders,
// tags), so unit ids, results and rejects are identical for any thread count.

#include <algorithm>
#include <cstring>
#include <exception>
#include <thread>

#include "mapped_file.hpp"
#include "repo_reader_parallel.hpp"
#include "text.hpp"

namespace ecostat::host::detail {

namespace {


// One line's outcome: a record, a reject, or nothing (a blank line).
struct LineResult {
  uint64_t line;  // within the chunk, 1-based
  enum : uint8_t { record, rejected, too_long } kind;
  RepoRecord rec;
  Fail fail;
};

struct ChunkResults {
  std::vector<LineResult> lines;
  uint64_t physical_lines = 0;
};


// The line [start, end of line) without its '\n' and one '\r'.
std::string_view physical_line(const char* data, size_t start, size_t end) {
  size_t len = end - start;
  if (len > 0 && data[start + len - 1] == '\n') --len;
  if (len > 0 && data[start + len - 1] == '\r') --len;
  return std::string_view(data + start, len);
}

// Bytes per line assumed when reserving a chunk's results (Hub records are a few hundred bytes;
// a low guess only means the vector grows once more).
constexpr size_t kReserveBytesPerLine = 256;

void parse_chunk(const char* data, size_t begin, size_t end, const Window& window, size_t max_line,
                 ChunkResults* out) {
  out->lines.reserve((end - begin) / kReserveBytesPerLine + 1);
  for (size_t p = begin; p < end;) {
    const size_t e = line_end_after(data, end, p);
    std::string_view line = physical_line(data, p, e);
    p = e;
    const uint64_t n = ++out->physical_lines;
    if (line.size() > max_line) {
      out->lines.push_back({n, LineResult::too_long, {}, {}});
      continue;
    }
    line = trim(line);
    if (line.empty()) continue;
    LineResult r{n, LineResult::record, {}, {}};
    if (auto f = parse_repo_json(line, window, &r.rec)) {
      r.kind = LineResult::rejected;
      r.fail = std::move(*f);
      r.rec = RepoRecord{};
    }
    out->lines.push_back(std::move(r));
  }
}

}  // namespace

bool read_repositories_parallel(const std::string& path, RepoTable& repos, RejectLog& rejects,
                                const ProgressFn& progress, const ReadOptions& options, unsigned threads,
                                ReadStats* stats_out) {
  MappedFile file;
  if (threads < 2 || !file.open_plain_text(path, options.parallel_min_bytes)) return false;
  const char* const data = file.data();
  const size_t size = file.size();

  // The first non-blank line (a BOM stripped from the lines up to it) must open a JSON object:
  // JSON Lines. A JSON array, the CSV form or an over-long leading line: the sequential reader.
  size_t p = 0;
  uint64_t line_no = 0;
  while (p < size) {
    const size_t e = line_end_after(data, size, p);
    std::string_view l = physical_line(data, p, e);
    if (l.size() > options.max_line) return false;
    ++line_no;
    if (l.size() >= 3 && std::memcmp(l.data(), "\xEF\xBB\xBF", 3) == 0) l.remove_prefix(3);
    l = trim(l);
    if (!l.empty()) {
      if (l.front() != '{') return false;
      break;
    }
    p = e;
  }
  if (p >= size) return false;  // nothing but blank lines: nothing worth threads

  ReadStats stats;
  stats.file = path;
  RepoTableWriter writer(repos, rejects, stats, options);
  const Window window = writer.window();
  // The first record's line may start with a BOM: it is parsed here, the rest in chunks.
  size_t data_begin = line_end_after(data, size, p);
  uint64_t line_base = line_no;
  {
    std::string_view first = physical_line(data, p, data_begin);
    if (first.size() >= 3 && std::memcmp(first.data(), "\xEF\xBB\xBF", 3) == 0) first.remove_prefix(3);
    ++stats.read;
    RepoRecord rec;
    if (auto fail = parse_repo_json(trim(first), window, &rec)) writer.reject(line_no, fail->field, fail->reason);
    else writer.add(rec, line_no);
  }

  std::vector<ChunkResults> wave(threads);
  bool first_wave = true;
  while (data_begin < size) {
    const auto ranges = parse_wave(data, size, data_begin, options.parallel_chunk_bytes, threads,
                                   [&](size_t t, size_t first, size_t last) {
                                     wave[t] = ChunkResults{};
                                     parse_chunk(data, first, last, window, options.max_line, &wave[t]);
                                   });
    if (first_wave) {  // room in the id dictionary for the whole file, at this wave's bytes per record
      first_wave = false;
      size_t lines = 0;
      for (size_t t = 0; t < ranges.size(); ++t) lines += wave[t].lines.size();
      const size_t bytes = ranges.back().second - data_begin;
      if (lines > 0 && bytes > 0) writer.expect(size_t(double(size - data_begin) / double(bytes) * double(lines)) + 1);
    }
    for (size_t t = 0; t < ranges.size(); ++t) {  // in file order, as one thread would
      const std::vector<LineResult>& lines = wave[t].lines;
      constexpr size_t kAhead = 8;  // records between a slot's prefetch and its lookup
      for (size_t i = 0; i < std::min(kAhead, lines.size()); ++i) writer.prefetch(lines[i].rec);
      for (size_t i = 0; i < lines.size(); ++i) {
        const LineResult& r = lines[i];
        if (i + kAhead < lines.size()) writer.prefetch(lines[i + kAhead].rec);
        ++stats.read;
        const uint64_t at = line_base + r.line;
        if (r.kind == LineResult::too_long)
          writer.reject(at, "", "line too long: over " + std::to_string(options.max_line) + " bytes");
        else if (r.kind == LineResult::rejected)
          writer.reject(at, r.fail.field, r.fail.reason);
        else
          writer.add(r.rec, at);
      }
      line_base += wave[t].physical_lines;
    }
    data_begin = ranges.back().second;
    file.release_before(data_begin);
    if (progress) progress(data_begin, size);
  }
  writer.finish();
  stats.bytes = size;
  if (progress) progress(size, size);
  *stats_out = std::move(stats);
  return true;
}

}  // namespace ecostat::host::detail
