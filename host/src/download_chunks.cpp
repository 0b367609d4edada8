// The shared chunk parser of the parallel downloads readers (download_chunks.hpp).
#include "download_chunks.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "csv.hpp"
#include "csv_scan.hpp"
#include "ecostat/errors.hpp"
#include "mapped_file.hpp"

namespace ecostat::host::detail {

void parse_chunk(const char* data, size_t begin, size_t end, const DownloadLayout& layout, int32_t min_day,
                 int32_t max_day, size_t max_line, ChunkRows* out) {
  // Ids are checked after the lookup, by wave(), only when not found in the repository table.
  DownloadRowParser parser(layout, min_day, max_day, /*text_stays=*/true, DownloadRowParser::RepoCheck::after_lookup);
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
  // The accepted rows' repo views go into a buffer sized ahead (out->repos[0, n_repos)): an
  // emplace_back per row was an out-of-line call, 6% of a parser thread's time.
  size_t n_repos = 0;
  // The row is parsed straight into its place, and the repo view copied as two words: a row
  // made on the stack and copied, or a 16-byte load of a view just stored as two 8-byte words,
  // stalls on store forwarding (a quarter of this function's time in a profile).
  auto add_row = [&](uint64_t line, const std::string_view* row_cells, size_t n) {
    ChunkRows::Item& item = out->items.emplace_back();
    item.line = uint32_t(line);
    DownloadRowParser::Problem why;
    if (parser.parse(row_cells, n, &item.row, &why)) {
      if (n_repos == out->repos.size()) out->repos.resize(std::max<size_t>(1024, 2 * n_repos));
      out->repos[n_repos++] = std::string_view(item.row.repo.data(), item.row.repo.size());
    } else {
      out->problems.push_back(std::move(why));
      item.problem = int32_t(out->problems.size() - 1);
    }
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
  out->n_repos = n_repos;
}

void look_up_units(const Dictionary& ids, ChunkRows* out) {
  // Looked up together: the dictionary's misses overlap.
  if (out->units.size() < out->n_repos) out->units.resize(out->repos.size());
  ids.find_many(out->repos.data(), out->n_repos, out->units.data());
}

void take_rows_ahead(ChunkRows* out) {
  RowsAhead& a = out->ahead;
  a.clear();
  a.pairs.reserve(out->n_repos);
  a.events.unit.reserve(out->n_repos);
  a.events.month.reserve(out->n_repos);
  a.events.count.reserve(out->n_repos);
  size_t deferred = 0;
  const uint32_t* unit = out->units.data();
  for (const ChunkRows::Item& it : out->items) {
    if (it.problem >= 0) continue;
    const uint32_t u = *unit++;
    if (u == kNone) {  // interned in turn by the applying thread, if its id passes the rule
      ++deferred;
      a.defer(it.row.value);
      continue;
    }
    a.add(u, it.row.day, it.row.month, it.row.value);
  }
  out->n_deferred = deferred;
  out->has_ahead = true;
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

RowsInOrder::RowsInOrder(const DownloadLayout& layout, DownloadRecords& out, RepoTable& repos, ReadStats& stats,
                         const ReadOptions& options, unsigned threads, uint64_t line_base)
    : layout_(layout), out_(out), repos_(repos), stats_(stats), options_(options), threads_(std::max(1u, threads)),
      slots_(threads_ > 1 ? 2 * threads_ + 2 : 1), line_base_(line_base) {}

void RowsInOrder::cut(const char* data, size_t begin, size_t end, size_t chunk, Slot& slot) {
  slot.begin = begin;
  slot.end = chunk_end(data, end, begin, std::min(chunk, ChunkRows::kMaxChunkBytes));  // line numbers fit 32 bits
}

void RowsInOrder::parse_slot(const char* data, Slot& slot) {
  slot.rows.clear();
  slot.error = nullptr;
  try {
    parse_chunk(data, slot.begin, slot.end, layout_, out_.min_day(), out_.max_day(), options_.max_line, &slot.rows);
    if (!look_up(&slot.rows)) return;  // stopped: the chunk is dropped unread
    // With parser threads, their rows are applied ahead there too: the applying thread is the
    // one stage every row passes in turn. One thread gains nothing from the extra pass.
    if (threads_ > 1 && out_.takes_rows_ahead()) take_rows_ahead(&slot.rows);
  } catch (...) {
    slot.error = std::current_exception();
  }
}

// One parser thread: the next chunk of the text into a free slot, again and again, until the
// text ends, a chunk fails or holds a record spanning lines, or the parsers are stopped.
void RowsInOrder::parser_loop() {
  Parsers& p = parsers_;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return p.stop || p.halted || p.next_begin >= p.end || !p.free.empty(); });
    if (p.stop || p.halted || p.next_begin >= p.end) break;
    const int i = p.free.back();
    p.free.pop_back();
    Slot& slot = slots_[size_t(i)];
    cut(p.data, p.next_begin, p.end, p.chunk, slot);
    slot.ready = false;
    p.next_begin = slot.end;
    p.in_order.push_back(i);
    lock.unlock();
    parse_slot(p.data, slot);
    lock.lock();
    slot.ready = true;
    if (slot.error || slot.rows.stop != SIZE_MAX) p.halted = true;  // what follows is read another way, or not at all
    changed_.notify_all();
  }
  --p.running;
  changed_.notify_all();
}

void RowsInOrder::start_parsers(const char* data, size_t begin, size_t end, size_t chunk) {
  Parsers& p = parsers_;
  p.data = data, p.end = end, p.chunk = chunk, p.next_begin = begin;
  p.in_order.clear();
  p.free.clear();
  for (int i = int(slots_.size()) - 1; i >= 0; --i) p.free.push_back(i);
  p.looking_up = 0;
  p.stop = p.interning = p.halted = false;
  live_ = true;
  p.running = threads_;
  p.threads.clear();
  try {
    for (unsigned t = 0; t < threads_; ++t) p.threads.emplace_back([this] { parser_loop(); });
  } catch (...) {  // a thread that could not start: stop those that did
    {
      std::lock_guard<std::mutex> lock(mutex_);
      p.running -= threads_ - unsigned(p.threads.size());
    }
    drop_lookahead();
    throw;
  }
}

void RowsInOrder::drop_lookahead() {
  if (!live_) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    parsers_.stop = true;
  }
  changed_.notify_all();
  for (auto& t : parsers_.threads) t.join();
  parsers_.threads.clear();
  live_ = false;
}

// A chunk's lookup: with parser threads, not while the applying thread interns ids. False when
// the parsers were stopped meanwhile (the rows have no units then).
bool RowsInOrder::look_up(ChunkRows* rows) {
  if (!live_) {  // parsed on the applying thread itself
    look_up_units(repos_.ids, rows);
    return true;
  }
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return !parsers_.interning || parsers_.stop; });
    if (parsers_.stop) return false;
    ++parsers_.looking_up;
  }
  look_up_units(repos_.ids, rows);
  std::lock_guard<std::mutex> lock(mutex_);
  if (--parsers_.looking_up == 0) changed_.notify_all();
  return true;
}

// From here to end_interning the dictionary may change: no lookup runs (those in progress end
// first), none starts. The parsers keep parsing.
void RowsInOrder::begin_interning() {
  if (!live_) return;
  std::unique_lock<std::mutex> lock(mutex_);
  parsers_.interning = true;
  changed_.wait(lock, [&] { return parsers_.looking_up == 0; });
}

void RowsInOrder::end_interning() {
  if (!live_) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    parsers_.interning = false;
  }
  changed_.notify_all();
}

// The slot holding the parsed chunk at `begin` (the parsers started there unless they are
// already reading this text from there), or -1 when there is none: begin is at the end.
int RowsInOrder::next_slot(const char* data, size_t begin, size_t end, size_t chunk) {
  if (threads_ == 1) {  // parsed here, on the calling thread
    if (begin >= end) return -1;
    Slot& slot = slots_[0];
    cut(data, begin, end, chunk, slot);
    parse_slot(data, slot);
    return 0;
  }
  Parsers& p = parsers_;
  if (live_) {
    std::unique_lock<std::mutex> lock(mutex_);
    const bool same_text = p.data == data && p.end == end && p.chunk == chunk;
    const size_t next = p.in_order.empty() ? p.next_begin : slots_[size_t(p.in_order.front())].begin;
    if (!same_text || next != begin) {
      lock.unlock();
      drop_lookahead();
    }
  }
  if (!live_) {
    if (begin >= end) return -1;
    start_parsers(data, begin, end, chunk);
  }
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return (!p.in_order.empty() && slots_[size_t(p.in_order.front())].ready) ||
                                   (p.in_order.empty() && p.running == 0); });
  if (p.in_order.empty()) return -1;
  const int i = p.in_order.front();
  p.in_order.pop_front();
  return i;
}

// The chunk's rows one by one, in input order: all of them, or (ahead: its rows found in the
// dictionary were applied ahead) only the rejects and the rows whose unit was not found.
void RowsInOrder::apply_in_turn(const ChunkRows& c, bool ahead) {
  // First the ids the lookup did not find and that pass the id rule, interned in input order
  // (so units are numbered as one thread numbers them), all at once while no lookup runs.
  interned_.clear();
  {
    struct Interning {  // ends even if interning throws (the parsers must not wait forever)
      RowsInOrder& r;
      bool on = false;
      ~Interning() {
        if (on) r.end_interning();
      }
    } interning{*this};
    const uint32_t* unit = c.units.data();
    for (const auto& it : c.items) {
      if (it.problem >= 0 || *unit++ != kNone) continue;
      const std::string_view repo = it.row.repo;
      if (!DownloadRecords::repo_problem(repo).empty()) {  // check_repo's rule: rejected below, in turn
        interned_.push_back(kNone);
        continue;
      }
      if (!interning.on) begin_interning(), interning.on = true;
      interned_.push_back(repos_.ensure(repo, true));
    }
  }
  const uint32_t* unit = c.units.data();
  const uint32_t* interned = interned_.data();
  for (const auto& it : c.items) {
    ++stats_.read;
    const uint64_t line = line_base_ + it.line;
    if (it.problem >= 0) {
      const auto& why = c.problems[size_t(it.problem)];
      out_.reject(line, why.field ? *why.field : std::string(), why.reason);
      continue;
    }
    uint32_t u = *unit++;
    if (u != kNone && ahead) continue;
    if (u == kNone) {
      u = *interned++;
      if (u == kNone) {  // not in the repository table and not an id: rejected with the rule's reason
        if (out_.check_repo(it.row.repo, line)) throw std::logic_error("downloads: an id passed check_repo but not its rule");
        continue;
      }
    }
    out_.add(line, u, it.row.repo, it.row.day, it.row.month, it.row.value, it.row.date);
  }
}

size_t RowsInOrder::wave(const char* data, size_t begin, size_t end, size_t chunk) {
  size_t at = begin;
  for (unsigned n = 0; n < threads_ && at < end; ++n) {
    const int i = next_slot(data, at, end, chunk);
    if (i < 0) break;
    Slot& slot = slots_[size_t(i)];
    if (slot.error) {
      drop_lookahead();
      std::rethrow_exception(slot.error);
    }
    const ChunkRows& c = slot.rows;
    // Rows applied ahead are taken at once, after the chunk's rows that must be taken in turn
    // (any order of the two gives the same results: takes_rows_ahead). A chunk whose counts
    // might pass the total's limit is applied row by row, so that the error names its row.
    const bool ahead = c.has_ahead && out_.ahead_fits(c.ahead);
    if (ahead && c.problems.empty() && c.n_deferred == 0) {
      stats_.read += c.items.size();
    } else {
      apply_in_turn(c, ahead);
    }
    if (ahead) out_.take_ahead(c.ahead);
    if (c.stop != SIZE_MAX) {
      stopped_ = true;
      stop_line_ = line_base_ + c.stop_line;
      drop_lookahead();  // nothing after the record spanning lines is wanted
      return c.stop;
    }
    line_base_ += c.lines;
    at = slot.end;
    if (live_) {
      std::lock_guard<std::mutex> lock(mutex_);
      parsers_.free.push_back(i);
    }
    changed_.notify_all();
  }
  return at;
}

}  // namespace ecostat::host::detail
