// The chunk parser the parallel downloads readers share (download_reader_parallel.cpp for a
// mapped file and for a stream, download_slices.cpp for a slice of a file): whole lines parsed in
// waves of one chunk per thread, then applied in input order through DownloadRecords, exactly as
// one thread would. Internal to host/.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "download_records.hpp"
#include "download_rows.hpp"
#include "ecostat/host/readers.hpp"

namespace ecostat::host::detail {

// What one thread made of one chunk: its rows in order, each accepted or rejected, and the
// units of the accepted ones (in order, one per accepted row: the unit found in the dictionary,
// or kNone). Units sit apart so that the lookup neither re-reads the rows nor widens them: the
// rows of a chunk outgrow the cache, and the in-order apply reads each once. Cleared, not freed,
// between waves.
struct ChunkRows {
  struct Item {
    DownloadRowParser::Row row;
    uint32_t line;         // within the chunk, 1-based (a chunk holds at most kMaxChunkBytes + a line)
    int32_t problem = -1;  // index into problems, or -1 when accepted
  };
  static constexpr size_t kMaxChunkBytes = size_t{1} << 30;
  std::vector<Item> items;
  std::vector<std::string_view> repos;  // of the accepted rows, for the lookup
  std::vector<uint32_t> units;          // of the accepted rows
  std::vector<DownloadRowParser::Problem> problems;
  std::deque<std::string> scratch;   // unescaped cells of quoted records (a deque: views stay valid)
  uint64_t lines = 0;                // physical lines in the chunk
  size_t stop = SIZE_MAX;            // byte offset (in the text) of a multi-line record, if any
  uint64_t stop_line = 0;            // its line within the chunk

  void clear() {
    items.clear();
    repos.clear();
    units.clear();
    problems.clear();
    scratch.clear();
    lines = 0;
    stop = SIZE_MAX;
    stop_line = 0;
  }
};

// Parses the lines of data[begin, end) into *out (lines numbered from 1 within the chunk). Stops
// at the first record that continues on the next line (out->stop).
void parse_chunk(const char* data, size_t begin, size_t end, const DownloadLayout& layout, int32_t min_day,
                 int32_t max_day, size_t max_line, const Dictionary& ids, ChunkRows* out);

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
                        size_t max_line, RecordsStart* start);

// Parses whole lines in waves of `threads` chunks and applies the rows in input order, exactly
// as one thread would; line numbers run on from one call to the next.
//
// Lookahead: while the calling thread applies a wave's rows (one thread: duplicate marks, the
// job total, events to the sink), the next wave of the same text is already being parsed by
// other threads, so the serial apply no longer caps the speed-up. That parse only reads the
// repository dictionary; before the apply inserts an id (a repository not in the table) it
// waits for the parse to end, and rows the parse could not resolve are looked up again then.
// With one thread there is no lookahead: each wave is parsed, then applied, on the calling
// thread, so that `--threads 1` uses one core (the chunked parse and the batched dictionary
// lookups still make it several times faster than the record-at-a-time reader).
class RowsInOrder {
 public:
  RowsInOrder(const DownloadLayout& layout, DownloadRecords& out, RepoTable& repos, ReadStats& stats,
              const ReadOptions& options, unsigned threads, uint64_t line_base)
      : layout_(layout), out_(out), repos_(repos), stats_(stats), options_(options), threads_(threads),
        rows_{std::vector<ChunkRows>(threads), std::vector<ChunkRows>(threads)}, line_base_(line_base) {}
  ~RowsInOrder() { drop_lookahead(); }
  RowsInOrder(const RowsInOrder&) = delete;
  RowsInOrder& operator=(const RowsInOrder&) = delete;

  // One wave over data[begin, end) in chunks of about `chunk` bytes. Returns where it ended:
  // after its last chunk, or at the start of a record spanning lines (then stopped()). The next
  // wave of data[.., end) is parsed meanwhile (lookahead), and used if the next call asks for it.
  size_t wave(const char* data, size_t begin, size_t end, size_t chunk);
  bool stopped() const { return stopped_; }
  uint64_t stop_line() const { return stop_line_; }
  // Waits for a lookahead parse and forgets it: call before the text it reads is changed or freed.
  void drop_lookahead();

 private:
  using Ranges = std::vector<std::pair<size_t, size_t>>;
  // The wave parsed ahead: what it covers, and the thread parsing it into rows_[set].
  struct Lookahead {
    const char* data = nullptr;
    size_t begin = 0, end = 0, chunk = 0;
    int set = 0;
    std::thread thread;
    Ranges ranges;
    std::exception_ptr error;
  };
  Ranges parse(const char* data, size_t begin, size_t end, size_t chunk, int set);
  void start_lookahead(const char* data, size_t begin, size_t end, size_t chunk, int set);
  void join_lookahead();

  const DownloadLayout& layout_;
  DownloadRecords& out_;
  RepoTable& repos_;
  ReadStats& stats_;
  const ReadOptions& options_;
  const unsigned threads_;
  std::vector<ChunkRows> rows_[2];  // two sets: one applied while the other is parsed
  Lookahead ahead_;
  bool ahead_live_ = false;  // ahead_ describes a parse started (joined or not) not yet used
  uint64_t line_base_;
  bool stopped_ = false;
  uint64_t stop_line_ = 0;
};

}  // namespace ecostat::host::detail
