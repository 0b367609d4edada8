// The chunk parser the parallel downloads readers share (download_reader_parallel.cpp for a
// mapped file and for a stream, download_slices.cpp for a slice of a file): whole lines parsed in
// waves of one chunk per thread, then applied in input order through DownloadRecords, exactly as
// one thread would. Internal to host/.
#pragma once
#include <cstddef>
#include <cstdint>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
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
  // The accepted rows' repo views, for the lookup, and their units: [0, n_repos) is this chunk's.
  // Buffers that only grow: cleared by n_repos = 0, since a resize per chunk would fill them.
  std::vector<std::string_view> repos;
  std::vector<uint32_t> units;
  size_t n_repos = 0;
  std::vector<DownloadRowParser::Problem> problems;
  std::deque<std::string> scratch;   // unescaped cells of quoted records (a deque: views stay valid)
  uint64_t lines = 0;                // physical lines in the chunk
  size_t stop = SIZE_MAX;            // byte offset (in the text) of a multi-line record, if any
  uint64_t stop_line = 0;            // its line within the chunk
  // The accepted rows whose unit the lookup found, applied ahead by the parser thread
  // (take_rows_ahead), when has_ahead; the applying thread then walks the items only for the
  // rows it must take in turn: rejects (problems) and units not found (n_deferred).
  RowsAhead ahead;
  bool has_ahead = false;
  size_t n_deferred = 0;

  void clear() {
    items.clear();
    n_repos = 0;
    problems.clear();
    scratch.clear();
    lines = 0;
    stop = SIZE_MAX;
    stop_line = 0;
    ahead.clear();
    has_ahead = false;
    n_deferred = 0;
  }
};

// Parses the lines of data[begin, end) into *out (lines numbered from 1 within the chunk). Stops
// at the first record that continues on the next line (out->stop). An accepted row's repo id
// is not checked: the caller checks those its lookup did not find (out->units[i] == kNone).
// The parse reads no dictionary: look_up_units does, after it.
void parse_chunk(const char* data, size_t begin, size_t end, const DownloadLayout& layout, int32_t min_day,
                 int32_t max_day, size_t max_line, ChunkRows* out);

// out->units: the unit of each accepted row's repo id in `ids`, kNone where it is not there.
void look_up_units(const Dictionary& ids, ChunkRows* out);

// The accepted rows of a parsed chunk whose unit was found, applied ahead into out->ahead (a
// parser thread's work, under DownloadRecords::takes_rows_ahead); the others are counted in
// out->n_deferred.
void take_rows_ahead(ChunkRows* out);

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
// Parsing ahead: while the calling thread applies rows in order (one thread: duplicate marks,
// the job total, events to the sink), `threads` parser threads take the following chunks one
// after the other, each as soon as it is free, into a ring of 2 x threads + 2 chunk slots: no
// thread waits for another chunk's parse, so the cores stay busy. Of the repository dictionary
// they only read, in one batched lookup at the end of each chunk's parse. Ids the lookup did not
// find (repositories not in the table yet) are interned by the applying thread in input order,
// all of a chunk's at once, while no lookup runs: the parsers go on parsing meanwhile and wait
// only if they reach their lookup then (begin_interning). Then the chunk's rows are applied in
// turn, with the parsers looking up again. (Before, the apply paused the parsers for the whole
// of such a chunk's rows, after waiting for the chunks in progress: in a job without a
// repository file, where most chunks bring new ids, parse and apply took turns.) An error that
// ends the read in such a chunk's rows (--strict, a total past 2^64-1) may come after ids of
// later rows of the chunk were added: the read ends with that error all the same.
// With one thread there are no parser threads: each chunk is parsed, then applied, on the
// calling thread, so that `--threads 1` uses one core (the chunked parse and the batched
// dictionary lookups still make it several times faster than the record-at-a-time reader).
class RowsInOrder {
 public:
  RowsInOrder(const DownloadLayout& layout, DownloadRecords& out, RepoTable& repos, ReadStats& stats,
              const ReadOptions& options, unsigned threads, uint64_t line_base);
  ~RowsInOrder() { drop_lookahead(); }
  RowsInOrder(const RowsInOrder&) = delete;
  RowsInOrder& operator=(const RowsInOrder&) = delete;

  // One wave over data[begin, end): `threads` chunks of about `chunk` bytes, applied in order.
  // Returns where it ended: after its last chunk, or at the start of a record spanning lines
  // (then stopped()). The chunks after it are parsed meanwhile, and used if the next calls ask
  // for them.
  size_t wave(const char* data, size_t begin, size_t end, size_t chunk);
  bool stopped() const { return stopped_; }
  uint64_t stop_line() const { return stop_line_; }
  // Stops the parser threads and forgets what they parsed: call before the text they read is
  // changed or freed.
  void drop_lookahead();

 private:
  struct Slot {
    ChunkRows rows;
    size_t begin = 0, end = 0;
    bool ready = false;
    std::exception_ptr error;
  };
  // What the parser threads share with the applying thread (under mutex_).
  struct Parsers {
    const char* data = nullptr;
    size_t end = 0, chunk = 0;
    size_t next_begin = 0;     // of the next chunk to cut
    std::deque<int> in_order;  // slots cut and not yet applied, in text order
    std::vector<int> free;     // slots to cut into
    unsigned running = 0;
    unsigned looking_up = 0;  // parsers in look_up_units: the dictionary is read
    bool interning = false;   // the applying thread is adding ids: no lookup starts
    bool stop = false, halted = false;  // halted: a chunk failed or spans lines
    std::vector<std::thread> threads;
  };
  // Cuts the chunk of data[begin, end) that starts at begin: about `chunk` bytes, to a line end.
  static void cut(const char* data, size_t begin, size_t end, size_t chunk, Slot& slot);
  void parse_slot(const char* data, Slot& slot);
  void start_parsers(const char* data, size_t begin, size_t end, size_t chunk);
  void parser_loop();
  int next_slot(const char* data, size_t begin, size_t end, size_t chunk);
  bool look_up(ChunkRows* rows);
  void begin_interning();
  void end_interning();
  void apply_in_turn(const ChunkRows& c, bool ahead);

  const DownloadLayout& layout_;
  DownloadRecords& out_;
  RepoTable& repos_;
  ReadStats& stats_;
  const ReadOptions& options_;
  const unsigned threads_;
  std::vector<Slot> slots_;  // 2 x threads + 2 (one with a single thread)
  Parsers parsers_;
  bool live_ = false;  // parser threads started and not yet joined
  std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t line_base_;
  std::vector<uint32_t> interned_;  // apply_in_turn: units of the chunk's rows the lookup missed
  bool stopped_ = false;
  uint64_t stop_line_ = 0;
};

}  // namespace ecostat::host::detail
