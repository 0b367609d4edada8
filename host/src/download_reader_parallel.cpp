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
#include "download_chunks.hpp"
#include "download_reader_parallel.hpp"
#include "ecostat/errors.hpp"
#include "mapped_file.hpp"

namespace ecostat::host::detail {

namespace {

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
  if (threads < 1 || !file.open_plain_text(path, options.parallel_min_bytes)) return false;
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
      rows.drop_lookahead();  // b's bytes are refilled once this block is done
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
