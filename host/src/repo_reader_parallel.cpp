// Repository records in JSON Lines with every thread: a plain file is mapped, cut into chunks at
// line boundaries, and `threads` threads parse the chunks (JSON, field rules: parse_repo_json,
// which touches no shared state). Meanwhile the calling thread adds the parsed records, in file
// order, through the same RepoTableWriter as the stream reader (duplicate ids, exact sums,
// placeholders, tags), so unit ids, results and rejects are identical for any thread count.
// With one thread the calling thread parses each chunk itself, then adds its records: the
// table is sized from the first chunk and each record's lookups are prefetched a few records
// ahead, which the stream reader, adding each record as it is parsed, cannot do.

#include <algorithm>
#include <cstring>
#include <exception>
#include <thread>

#include "mapped_file.hpp"
#include "ordered_chunks.hpp"
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

// A chunk's lines are lines[0, count): the entries past count are kept from earlier chunks
// with their records' storage, so that parsing the next chunk into them allocates nothing for
// the usual record.
struct ChunkResults {
  std::vector<LineResult> lines;
  size_t count = 0;
  uint64_t physical_lines = 0;

  LineResult& next(uint64_t line) {
    if (count == lines.size()) lines.emplace_back();
    LineResult& r = lines[count++];
    r.line = line;
    return r;
  }
};


// The line [start, end of line) without its '\n' and one '\r'.
std::string_view physical_line(const char* data, size_t start, size_t end) {
  size_t len = end - start;
  if (len > 0 && data[start + len - 1] == '\n') --len;
  if (len > 0 && data[start + len - 1] == '\r') --len;
  return std::string_view(data + start, len);
}

// The most text in one chunk.
constexpr size_t kChunkBytes = size_t{1} << 20;

// *out (a chunk parsed before, its records kept for their storage) <- data[begin, end).
void parse_chunk(const char* data, size_t begin, size_t end, const Window& window, size_t max_line,
                 ChunkResults* out) {
  out->count = 0;
  out->physical_lines = 0;
  for (size_t p = begin; p < end;) {
    const size_t e = line_end_after(data, end, p);
    std::string_view line = physical_line(data, p, e);
    p = e;
    const uint64_t n = ++out->physical_lines;
    if (line.size() > max_line) {
      out->next(n).kind = LineResult::too_long;
      continue;
    }
    line = trim(line);
    if (line.empty()) continue;
    LineResult& r = out->next(n);
    r.kind = LineResult::record;
    r.rec.clear();
    if (auto f = parse_repo_json(line, window, &r.rec)) {
      r.kind = LineResult::rejected;
      r.fail = std::move(*f);
    }
  }
}

}  // namespace

bool read_repositories_parallel(const std::string& path, RepoTable& repos, RejectLog& rejects,
                                const ProgressFn& progress, const ReadOptions& options, unsigned threads,
                                ReadStats* stats_out) {
  MappedFile file;
  if (!file.open_plain_text(path, options.parallel_min_bytes)) return false;
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

  // Records are parsed into objects about twice the size of their text: chunks smaller than
  // the downloads reader's keep the records parsed ahead (2 x threads + 2 chunks) small.
  const size_t chunk = std::min(options.parallel_chunk_bytes, kChunkBytes);
  OrderedChunks<ChunkResults> chunks(data, data_begin, size, chunk, threads <= 1 ? 0 : threads,
                                     [&](size_t first, size_t last, ChunkResults* out) {
                                       parse_chunk(data, first, last, window, options.max_line, out);
                                     });
  bool first_chunk = true;
  size_t first = 0, last = 0;
  ChunkResults* parsed = nullptr;
  while (chunks.next(&first, &last, &parsed)) {
    const LineResult* const lines = parsed->lines.data();
    const size_t n_lines = parsed->count;
    if (first_chunk) {  // room in the table for the whole file, at this chunk's bytes per record
      first_chunk = false;
      if (n_lines > 0) writer.expect(size_t(double(size - first) / double(last - first) * double(n_lines)) + 1);
    }
    constexpr size_t kAhead = 8;  // records between a slot's prefetch and its lookup
    for (size_t i = 0; i < std::min(kAhead, n_lines); ++i) writer.prefetch(lines[i].rec);
    for (size_t i = 0; i < n_lines; ++i) {  // in file order, as one thread would
      const LineResult& r = lines[i];
      if (i + kAhead < n_lines) writer.prefetch(lines[i + kAhead].rec);
      ++stats.read;
      const uint64_t at = line_base + r.line;
      if (r.kind == LineResult::too_long)
        writer.reject(at, "", "line too long: over " + std::to_string(options.max_line) + " bytes");
      else if (r.kind == LineResult::rejected)
        writer.reject(at, r.fail.field, r.fail.reason);
      else
        writer.add(r.rec, at);
    }
    line_base += parsed->physical_lines;
    file.release_before(last);
    if (progress) progress(last, size);
  }
  writer.finish();
  stats.bytes = size;
  if (progress) progress(size, size);
  *stats_out = std::move(stats);
  return true;
}

}  // namespace ecostat::host::detail
