// Downloads CSV with every thread, from a mapped plain file or from a stream (stdin, a pipe,
// gzip, zstd). Either way the text is cut into chunks at line boundaries and each wave of chunks
// is parsed by `threads` threads at once (fields, dates, counts, the repo-id rule, repo ids
// looked up in the read-only repository dictionary). The rows then go, in input order, through
// the same DownloadRecords the sequential reader uses (placeholders for unknown ids, duplicate
// checks, cumulative differencing, the job total, the events), so unit ids, results and rejects
// are identical for any thread count.
//
// A stream is read by one thread into blocks of about threads x parallel_chunk_bytes, each cut
// after its last line end (the unfinished line goes on into the next block); the next block is
// read while this one is parsed, so two blocks are in memory at most.
//
// A record continued on the next line (a quoted field holding a line break) cannot be found
// from the middle of the input: the first one met ends the parallel part, and the rest of the
// input is read by the sequential record reader from that line on.

#include <algorithm>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <thread>

#include "csv.hpp"
#include "download_reader_parallel.hpp"
#include "download_records.hpp"
#include "download_rows.hpp"
#include "ecostat/errors.hpp"
#include "mapped_file.hpp"

namespace ecostat::host::detail {

namespace {

// What one thread made of one chunk: its rows in order, each accepted (with the unit found in
// the dictionary, or kNone) or rejected. Cleared, not freed, between waves.
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
  size_t stop = SIZE_MAX;            // byte offset (in the text) of a multi-line record, if any
  uint64_t stop_line = 0;            // its line within the chunk

  void clear() {
    items.clear();
    problems.clear();
    scratch.clear();
    lines = 0;
    stop = SIZE_MAX;
    stop_line = 0;
  }
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

// Where the records start, found from the first non-blank line of data[0, size) (whole lines):
// the header (or, in a headerless file, the first record) gives the layout.
struct RecordsStart {
  DownloadLayout layout;
  size_t begin = 0;        // offset of the first record's line (after a BOM)
  uint64_t line_base = 0;  // lines before it
};

// False when that line is not in data[0, size), or is one the sequential reader must read
// (quoted, too long, malformed). Throws InputError for a header lacking a column, as the
// sequential reader does.
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

// Parses whole lines in waves of `threads` chunks and applies the rows in input order, exactly
// as one thread would; line numbers run on from one call to the next.
class RowsInOrder {
 public:
  RowsInOrder(const DownloadLayout& layout, DownloadRecords& out, RepoTable& repos, ReadStats& stats,
              const ReadOptions& options, unsigned threads, uint64_t line_base)
      : layout_(layout), out_(out), repos_(repos), stats_(stats), options_(options), threads_(threads),
        rows_(threads), line_base_(line_base) {}

  // One wave over data[begin, end) in chunks of about `chunk` bytes. Returns where it ended:
  // after its last chunk, or at the start of a record spanning lines (then stopped()).
  size_t wave(const char* data, size_t begin, size_t end, size_t chunk) {
    const auto ranges = parse_wave(data, end, begin, chunk, threads_, [&](size_t t, size_t first, size_t last) {
      rows_[t].clear();
      parse_chunk(data, first, last, layout_, out_.min_day(), out_.max_day(), options_.max_line, repos_.ids,
                  &rows_[t]);
    });
    for (size_t t = 0; t < ranges.size(); ++t) {
      const ChunkRows& c = rows_[t];
      for (const auto& it : c.items) {
        ++stats_.read;
        const uint64_t at = line_base_ + it.line;
        if (it.problem >= 0) {
          const auto& why = c.problems[size_t(it.problem)];
          out_.reject(at, why.field ? *why.field : std::string(), why.reason);
          continue;
        }
        const uint32_t u = it.unit != kNone ? it.unit : repos_.ensure(it.row.repo, true);
        out_.add(at, u, it.row.repo, it.row.day, it.row.month, it.row.value, it.row.date);
      }
      if (c.stop != SIZE_MAX) {
        stopped_ = true;
        stop_line_ = line_base_ + c.stop_line;
        return c.stop;
      }
      line_base_ += c.lines;
    }
    return ranges.empty() ? end : ranges.back().second;
  }
  bool stopped() const { return stopped_; }
  uint64_t stop_line() const { return stop_line_; }

 private:
  const DownloadLayout& layout_;
  DownloadRecords& out_;
  RepoTable& repos_;
  ReadStats& stats_;
  const ReadOptions& options_;
  const unsigned threads_;
  std::vector<ChunkRows> rows_;
  uint64_t line_base_;
  bool stopped_ = false;
  uint64_t stop_line_ = 0;
};

// Decoded text held in memory (pieces, in order), then the rest of a source, or the error its
// reading stopped on: what the sequential reader reads after (or instead of) the parallel part.
class TextThenRest final : public ByteSource {
 public:
  TextThenRest(std::string name, std::vector<std::string_view> pieces, ByteSource* rest, std::exception_ptr error,
               size_t size_hint)
      : name_(std::move(name)), pieces_(std::move(pieces)), rest_(rest), error_(std::move(error)), hint_(size_hint) {}
  size_t read(char* out, size_t n) override {
    for (; next_ < pieces_.size(); ++next_) {
      std::string_view& piece = pieces_[next_];
      if (piece.empty()) continue;
      const size_t k = std::min(n, piece.size());
      std::memcpy(out, piece.data(), k);
      piece.remove_prefix(k);
      return k;
    }
    if (error_) std::rethrow_exception(error_);
    const size_t got = rest_ ? rest_->read(out, n) : 0;
    rest_bytes_ += got;
    return got;
  }
  const std::string& name() const override { return name_; }
  size_t size_hint() const override { return hint_; }
  bool decoded() const override { return true; }  // text already: not sniffed again
  uint64_t rest_bytes() const { return rest_bytes_; }

 private:
  std::string name_;
  std::vector<std::string_view> pieces_;
  size_t next_ = 0;
  ByteSource* rest_;
  std::exception_ptr error_;
  size_t hint_;
  uint64_t rest_bytes_ = 0;
};

// The rest of the input, from a record spanning lines (numbered stop_line) on, one record at a time.
void read_rest_sequentially(ByteSource& rest, uint64_t stop_line, const DownloadLayout& layout, RepoTable& repos,
                            DownloadRecords& out, const ReadOptions& options, ReadStats& stats) {
  LineReader lines(rest, options.max_line);
  CsvRecordReader records(lines, options.max_record);
  read_download_records(records, stop_line - 1, layout, repos, out, options, stats);
}

// A block of streamed text: it starts at a line start and, unless the input ends in it, `cut`
// is just after its last line end ([cut, size) goes on into the next block).
struct Block {
  std::vector<char> bytes;   // reused from block to block: grows, never shrinks
  size_t size = 0;
  size_t cut = 0;
  bool last = false;         // nothing is read after this block (the end, or an error)
  std::exception_ptr error;  // the read failed after `size` bytes
  const char* data() const { return bytes.data(); }
};

// Reads decoded text into blocks of about block_bytes (more when a line does not fit).
class BlockReader {
 public:
  BlockReader(ByteSource& text, size_t block_bytes, size_t max_line)
      : text_(text), block_bytes_(std::max<size_t>(block_bytes, 1)), max_line_(max_line) {}

  // Fills b with `carry` (the previous block's unfinished line) and then fresh text: block_bytes
  // of it, then on until b holds a line end. A line with no end within max_line + 2 bytes is too
  // long whatever follows: only those bytes are kept (the parsers reject it by its length alone,
  // with its line number) and the rest of it is skipped, so memory stays bounded.
  void fill(Block& b, std::string_view carry) {
    b.size = 0;
    b.error = nullptr;
    try {
      read_more(b, carry.size(), false);
      if (!carry.empty()) std::memcpy(b.bytes.data(), carry.data(), carry.size());
      b.size = carry.size();
      const size_t target = carry.size() + block_bytes_;
      while (b.size < target && read_more(b, target - b.size)) {
      }
      size_t scanned = carry.size();  // the carry holds no line end
      while (!std::memchr(b.data() + scanned, '\n', b.size - scanned)) {
        scanned = b.size;
        if (b.size > max_line_ + 1) {
          skip_rest_of_line(b);
          break;
        }
        // Twice the size each time, but not much past the longest line kept.
        const size_t room = max_line_ + 2 - b.size;
        if (!read_more(b, std::max(block_bytes_, std::min(b.size, room)))) break;
      }
    } catch (...) {
      b.error = std::current_exception();
    }
    b.last = end_ || b.error;
    if (end_ && !b.error) {
      b.cut = b.size;  // the last line may lack its end
    } else {
      const size_t nl = std::string_view(b.data(), b.size).rfind('\n');
      b.cut = nl == std::string_view::npos ? 0 : nl + 1;
    }
  }
  uint64_t bytes() const { return bytes_; }  // decoded bytes read so far

 private:
  // Room for `want` more bytes in b, then (unless only making room) one read of up to that
  // many; false at the end of the input.
  bool read_more(Block& b, size_t want, bool read = true) {
    if (b.bytes.size() < b.size + want) b.bytes.resize(b.size + want);
    if (!read || end_) return false;
    const size_t got = text_.read(b.bytes.data() + b.size, want);
    if (got == 0) {
      end_ = true;
      return false;
    }
    b.size += got;
    bytes_ += got;
    return true;
  }
  void skip_rest_of_line(Block& b) {
    const size_t kept = max_line_ + 2;
    for (;;) {
      b.size = kept;
      if (!read_more(b, block_bytes_)) return;  // the line ends the input
      const char* from = b.data() + kept;
      const char* nl = static_cast<const char*>(std::memchr(from, '\n', b.size - kept));
      if (nl) {
        const size_t rest = size_t(b.data() + b.size - nl);
        std::memmove(b.bytes.data() + kept, nl, rest);
        b.size = kept + rest;
        return;
      }
    }
  }

  ByteSource& text_;
  const size_t block_bytes_, max_line_;
  uint64_t bytes_ = 0;
  bool end_ = false;
};

// Joins a thread when it goes out of scope, also on an exception.
struct JoinOnExit {
  std::thread& thread;
  ~JoinOnExit() {
    if (thread.joinable()) thread.join();
  }
};

}  // namespace

bool read_downloads_parallel(const std::string& path, DownloadFormat format, RepoTable& repos, RejectLog& rejects,
                             size_t batch_capacity, const std::function<void(const EventBatch&)>& sink,
                             const ProgressFn& progress, const ReadOptions& options, DownloadJob& job,
                             unsigned threads, ReadStats* stats_out) {
  MappedFile file;
  if (threads < 2 || !file.open_plain_text(path, options.parallel_min_bytes)) return false;
  const char* const data = file.data();
  const size_t size = file.size();
  RecordsStart start;
  if (!find_records_start(data, size, format, path, options.max_line, &start)) return false;

  ReadStats stats;
  stats.file = path;
  DownloadRecords out(stats, repos, rejects, start.layout.cumulative, batch_capacity, sink, options, job);
  out.set_fields(start.layout.header[start.layout.repo], start.layout.header[start.layout.date],
                 start.layout.header[start.layout.count]);
  RowsInOrder rows(start.layout, out, repos, stats, options, threads, start.line_base);
  size_t at = start.begin;
  while (at < size && !rows.stopped()) {
    at = rows.wave(data, at, size, options.parallel_chunk_bytes);
    if (!rows.stopped()) file.release_before(at);
    if (progress) progress(std::min(at, size), size);
  }
  if (rows.stopped()) {  // the rest, from the multi-line record on, one record at a time
    TextThenRest rest(path, {std::string_view(data + at, size - at)}, nullptr, nullptr, size);
    read_rest_sequentially(rest, rows.stop_line(), start.layout, repos, out, options, stats);
  }
  out.finish();
  stats.bytes = size;
  if (progress) progress(size, size);
  *stats_out = std::move(stats);
  return true;
}

ReadStats read_downloads_streamed(ByteSource& src, DownloadFormat format, RepoTable& repos, RejectLog& rejects,
                                  size_t batch_capacity, const std::function<void(const EventBatch&)>& sink,
                                  const ProgressFn& progress, const ReadOptions& options, DownloadJob& job,
                                  unsigned threads) {
  std::unique_ptr<DecodedSource> own;
  ByteSource* text = &src;
  if (!src.decoded()) text = (own = std::make_unique<DecodedSource>(src)).get();  // sniffs: may throw
  const auto* decoded = dynamic_cast<const DecodedSource*>(text);
  const bool compressed = decoded && decoded->compressed();
  const uint64_t total = src.size_hint();
  // A small input is not worth the threads (compressed text: about four times its size).
  if (threads == 0 || (total > 0 && total * (compressed ? 4 : 1) < options.parallel_min_bytes))
    return read_downloads(*text, format, repos, rejects, batch_capacity, sink, progress, options, job);
  auto done = [&](const BlockReader& r) { return compressed ? decoded->input_consumed() : r.bytes(); };

  const size_t block_bytes = std::max<size_t>(options.parallel_chunk_bytes, 1) * threads;
  BlockReader reader(*text, block_bytes, options.max_line);
  Block blocks[2];
  reader.fill(blocks[0], {});
  RecordsStart start;
  if (!find_records_start(blocks[0].data(), blocks[0].cut, format, text->name(), options.max_line, &start)) {
    // No usable first line in the first block: the sequential reader reads it all.
    const Block& b = blocks[0];
    TextThenRest all(text->name(), {std::string_view(b.data(), b.size)}, b.last ? nullptr : text, b.error,
                     compressed ? 0 : total);
    return read_downloads(all, format, repos, rejects, batch_capacity, sink, progress, options, job);
  }

  ReadStats stats;
  stats.file = text->name();
  DownloadRecords out(stats, repos, rejects, start.layout.cumulative, batch_capacity, sink, options, job);
  out.set_fields(start.layout.header[start.layout.repo], start.layout.header[start.layout.date],
                 start.layout.header[start.layout.count]);
  RowsInOrder rows(start.layout, out, repos, stats, options, threads, start.line_base);
  uint64_t rest_bytes = 0, next_progress = options.progress_every;
  size_t at = start.begin;
  for (int cur = 0;; cur = 1 - cur, at = 0) {
    const Block& b = blocks[cur];
    Block& next = blocks[1 - cur];
    {
      std::thread reading;  // the next block, while this one is parsed
      JoinOnExit join{reading};
      if (!b.last) reading = std::thread([&] { reader.fill(next, std::string_view(b.data() + b.cut, b.size - b.cut)); });
      // One wave per block: its whole lines split evenly between the threads.
      const size_t chunk = (b.cut - at + threads - 1) / threads;
      while (at < b.cut && !rows.stopped()) at = rows.wave(b.data(), at, b.cut, chunk);
    }
    if (rows.stopped()) {  // the rest, from the multi-line record on, one record at a time
      std::vector<std::string_view> pieces{std::string_view(b.data() + at, b.cut - at)};
      pieces.emplace_back(b.last ? std::string_view(b.data() + b.cut, b.size - b.cut)
                                 : std::string_view(next.data(), next.size));
      const bool more = !b.last && !next.last;
      TextThenRest rest(text->name(), std::move(pieces), more ? text : nullptr, b.last ? b.error : next.error, 0);
      read_rest_sequentially(rest, rows.stop_line(), start.layout, repos, out, options, stats);
      rest_bytes = rest.rest_bytes();
      break;
    }
    if (b.error) std::rethrow_exception(b.error);
    if (b.last) break;
    if (progress && done(reader) >= next_progress) {
      progress(done(reader), total);
      next_progress = done(reader) + options.progress_every;
    }
  }
  out.finish();
  stats.bytes = reader.bytes() + rest_bytes;
  if (progress) progress(done(reader), total);
  return stats;
}

}  // namespace ecostat::host::detail
