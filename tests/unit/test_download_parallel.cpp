// The parallel downloads reader (host/src/download_reader_parallel.cpp) against the sequential
// one on the same files: the same units in the same order, the same events, the same rejects
// (file, line, field, reason), the same counts, for any thread count and chunk size, also with
// quoted fields, records spanning lines, blank lines, CRLF, over-long lines, a BOM, no header,
// cumulative counters and unknown repositories. The streamed reader (stdin, pipes, gzip, zstd)
// the same way, over plain, gzip and zstd text, with blocks so small that every boundary case
// happens.
#include <catch2/catch.hpp>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <tuple>

#include "download_reader_parallel.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/host/readers.hpp"
#include "ecostat/host/rejects.hpp"
#include "ecostat/host/source.hpp"
#include "support/temp_files.hpp"
#include "support/trickle_source.hpp"

using namespace ecostat;
using namespace ecostat::host;

namespace {

struct Outcome {
  std::vector<std::string> units;
  std::map<std::tuple<uint32_t, Month>, uint64_t> sums;
  std::vector<std::tuple<std::string, uint64_t, std::string, std::string>> rejects;
  uint64_t read = 0, accepted = 0, rejected = 0, bytes = 0, duplicates = 0, batches = 0;
  uint64_t loose_bounds = 0;  // batches whose unit_bound or month range is not their events' own
};

RepoTable known_repos() {
  RepoTable t;
  for (int i = 0; i < 40; ++i) t.ensure("org" + std::to_string(i % 5) + "/m" + std::to_string(i), false);
  return t;
}

// Reads with `read_with` (a reader given repos, rejects, options, sink and job) and records
// everything it produced.
template <class ReadWith>
Outcome outcome_of(size_t chunk, ReadWith&& read_with) {
  Outcome o;
  RepoTable repos = known_repos();
  RejectLog rejects;
  DownloadJob job;
  ReadOptions opt;
  opt.max_line = 60;
  opt.parallel_min_bytes = 0;
  opt.parallel_chunk_bytes = chunk;
  auto sink = [&](const EventBatch& b) {
    ++o.batches;
    uint32_t bound = 0;
    Month lo = 0xffff, hi = 0;
    auto note = [&](uint32_t u, Month m) {
      bound = std::max(bound, u + 1);
      lo = std::min(lo, m);
      hi = std::max(hi, m);
    };
    for (size_t i = 0; i < b.size(); ++i) o.sums[{b.unit[i], b.month[i]}] += b.count[i], note(b.unit[i], b.month[i]);
    for (const auto& w : b.wide) o.sums[{w.unit, w.month}] += w.count, note(w.unit, w.month);
    // Rows applied ahead reach the batches in slices: each must still name its own bounds.
    if (b.unit_bound != bound || b.month_min != lo || b.month_max != hi) ++o.loose_bounds;
  };
  const ReadStats st = read_with(repos, rejects, opt, std::function<void(const EventBatch&)>(sink), job);
  for (uint32_t u = 0; u < repos.size(); ++u) o.units.emplace_back(repos.ids.at(u));
  for (const auto& r : rejects.first()) o.rejects.emplace_back(r.file, r.line, r.field, r.reason);
  o.read = st.read, o.accepted = st.accepted, o.rejected = st.rejected, o.bytes = st.bytes;
  o.duplicates = job.duplicate_rows();
  return o;
}

Outcome read(const std::string& path, DownloadFormat format, unsigned threads, size_t chunk) {
  return outcome_of(chunk, [&](RepoTable& repos, RejectLog& rejects, const ReadOptions& opt, const auto& sink,
                               DownloadJob& job) {
    ReadStats st;
    if (threads == 0) {
      auto src = open_source(path);
      st = read_downloads(*src, format, repos, rejects, 7, sink, {}, opt, job);
    } else {
      REQUIRE(detail::read_downloads_parallel(path, format, repos, rejects, 7, sink, {}, opt, job, threads, &st));
    }
    return st;
  });
}

void same(const Outcome& a, const Outcome& b) {
  CHECK(a.units == b.units);
  CHECK(a.sums == b.sums);
  CHECK(a.rejects == b.rejects);
  CHECK(a.read == b.read);
  CHECK(a.accepted == b.accepted);
  CHECK(a.rejected == b.rejected);
  CHECK(a.bytes == b.bytes);
  CHECK(a.duplicates == b.duplicates);
  CHECK(a.loose_bounds == 0);
  CHECK(b.loose_bounds == 0);
}

// A messy per-period file: known and unknown repos, bad dates and counts, duplicates, quotes,
// a record spanning two lines at `multiline_at` (or none), blank lines, CRLF, an over-long line.
std::string messy(unsigned seed, int multiline_at, bool header = true, bool bom = false) {
  std::mt19937 rng(seed);
  std::string s = bom ? "\xEF\xBB\xBF" : "";
  if (header) s += "repo,date,downloads\n";
  for (int i = 0; i < 400; ++i) {
    const int kind = int(rng() % 20);
    const std::string repo = rng() % 4 ? "org" + std::to_string(rng() % 5) + "/m" + std::to_string(rng() % 40)
                                       : "new" + std::to_string(rng() % 30) + "/x";
    const std::string date = "2024-0" + std::to_string(1 + rng() % 9) + "-1" + std::to_string(rng() % 10);
    std::string line = repo + "," + date + "," + std::to_string(rng() % 1000);
    if (kind == 0) line = repo + ",2024-13-01,5";
    if (kind == 1) line = repo + "," + date + ",-3";
    if (kind == 2) line = "\"" + repo + "\"," + date + ",7";              // quoted, one line
    if (kind == 3) line = "";                                               // blank
    if (kind == 4) line += "\r";                                            // CRLF
    if (kind == 5) line = repo + "," + date + "," + std::string(80, '9');   // over max_line
    if (kind == 6) line = repo + "," + date;                                // wrong column count
    if (kind == 7) line = "a\"b," + date + ",5";                            // a quote inside a field
    // Ids the rule rejects (checked after the lookup by the chunked readers), also on rows
    // whose date or count is bad too: the id is the reason either way.
    if (kind == 8) line = "bad\x01id" + std::to_string(rng() % 3) + "," + date + ",5";
    if (kind == 9) line = "bad\x01id,2024-13-01,5";
    if (kind == 10) line = "bad id,2024-01-01,-3";
    if (kind == 11) line = "\xff\xfe/x," + date + ",4";
    if (kind == 12) line = repo + "," + date + ",5000000000";               // past u32: a wide event
    if (kind == 13) line = repo + "," + date + ",0";                        // counted, no event
    if (i == 390) line = "a/b," + date + ",\"unterminated";                 // open to the end (or a later quote)
    if (i == multiline_at) line = "\"org1/m\nx\"," + date + ",5";           // spans two lines
    s += line + "\n";
  }
  return s;
}

struct Case {
  const char* name;
  std::string text;
  DownloadFormat format;
};

// The messy inputs both the mapped and the streamed readers are checked on.
std::vector<Case> messy_cases() {
  return {
      {"plain", messy(1, -1), DownloadFormat::detect},
      {"multiline-early", messy(2, 3), DownloadFormat::detect},
      {"multiline-late", messy(3, 380), DownloadFormat::detect},
      {"bom", messy(4, -1, true, true), DownloadFormat::detect},
      {"headerless", messy(5, -1, false), DownloadFormat::per_period},
      {"headerless-bom", "\xEF\xBB\xBF" "org1/m1,2024-01-05,3\n" + messy(8, -1, false), DownloadFormat::per_period},
      {"no-final-newline", messy(6, -1).substr(0, messy(6, -1).size() - 1), DownloadFormat::detect},
      {"cumulative", "repo,date,downloads_all_time\n" + messy(7, -1, false), DownloadFormat::detect},
  };
}

// The InputError reading `path` ends with (sequentially when threads is 0, else in parallel in
// chunks of `chunk` bytes), "no error", or "not taken" when the parallel reader refuses the file.
std::string error_reading(const std::string& path, unsigned threads, size_t chunk, bool strict) {
  RepoTable repos = known_repos();
  RejectLog rejects(strict);
  DownloadJob job;
  ReadOptions opt;
  opt.parallel_min_bytes = 0;
  opt.parallel_chunk_bytes = chunk;
  auto sink = [](const EventBatch&) {};
  try {
    if (threads == 0) {
      auto src = open_source(path);
      read_downloads(*src, DownloadFormat::detect, repos, rejects, 64, sink, {}, opt, job);
    } else {
      ReadStats st;
      if (!detail::read_downloads_parallel(path, DownloadFormat::detect, repos, rejects, 64, sink, {}, opt, job,
                                           threads, &st))
        return "not taken";
    }
  } catch (const std::exception& e) {  // an InputError, or any other error (a test failure then)
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("parallel downloads: same as sequential for any threads and chunk size", "[downloads][parallel]") {
  const std::string dir = test::temp_dir("parallel-downloads");
  std::vector<Case> cases = messy_cases();
  for (const auto& c : cases) {
    const std::string path = dir + "/" + c.name + ".csv";
    test::write_file(path, c.text);
    const Outcome expected = read(path, c.format, 0, 0);
    REQUIRE(expected.read > 250);
    REQUIRE(expected.rejected > 10);
    for (unsigned threads : {1u, 2u, 3u, 8u})  // one thread: the same chunked path, no lookahead
      for (size_t chunk : {size_t(1), size_t(37), size_t(500), size_t(1) << 20}) {
        INFO(c.name << ": " << threads << " threads, chunks of " << chunk << " bytes");
        same(read(path, c.format, threads, chunk), expected);
      }
  }
}

// A reject under --strict throws from the in-order apply while parser threads are ahead of
// it: the error must be the sequential reader's, and the parsers must stop (no hang).
TEST_CASE("parallel downloads: a strict reject stops the parsers with the sequential reader's error",
          "[downloads][parallel]") {
  const std::string dir = test::temp_dir("parallel-downloads-strict");
  std::string text = "repo,date,downloads\n";
  for (int i = 0; i < 3000; ++i) text += "org1/m" + std::to_string(i % 40) + ",2024-01-" + std::to_string(10 + i % 19) + ",5\n";
  text += "org1/m1,2024-13-01,5\n";  // the first reject, on line 3002
  for (int i = 0; i < 3000; ++i) text += "new" + std::to_string(i) + "/x,2024-02-01,1\n";
  const std::string path = dir + "/strict.csv";
  test::write_file(path, text);
  auto error_of = [&](unsigned threads, size_t chunk) { return error_reading(path, threads, chunk, true); };
  const std::string expected = error_of(0, 0);
  CHECK_THAT(expected, Catch::Contains("strict.csv") && Catch::Contains("3002"));
  for (unsigned threads : {1u, 2u, 8u})
    for (size_t chunk : {size_t(97), size_t(4096), size_t(1) << 20}) {
      INFO(threads << " threads, chunks of " << chunk);
      CHECK(error_of(threads, chunk) == expected);
    }
}

// Parser threads apply the rows they found ahead (RowsAhead), the applying thread takes them a
// chunk at a time: a chunk whose counts could pass 2^64-1 must still be read row by row, so that
// the error names the row the sequential reader names, wherever the chunks are cut.
TEST_CASE("parallel downloads: counts summing past 2^64-1 name the sequential reader's row", "[downloads][parallel]") {
  const std::string dir = test::temp_dir("parallel-downloads-total");
  std::string text = "repo,date,downloads\n";
  for (int i = 0; i < 500; ++i) text += "org1/m" + std::to_string(i % 40) + ",2024-01-" + std::to_string(10 + i % 19) + ",5\n";
  // Three rows of 2^62 and one unknown repository's 2^63: the total passes 2^64-1 at the
  // unknown one on line 504 (2^62 x 2 + 2^63 + 2,500 before it).
  text += "org2/m2,2024-02-01,4611686018427387904\norg3/m3,2024-02-01,4611686018427387904\n";
  text += "brand/new,2024-02-02,9223372036854775808\norg4/m4,2024-02-03,4611686018427387904\n";
  for (int i = 0; i < 500; ++i) text += "org1/m" + std::to_string(i % 40) + ",2024-03-" + std::to_string(10 + i % 19) + ",5\n";
  const std::string path = dir + "/total.csv";
  test::write_file(path, text);
  auto error_of = [&](unsigned threads, size_t chunk) { return error_reading(path, threads, chunk, false); };
  const std::string expected = error_of(0, 0);
  CHECK_THAT(expected, Catch::Contains("total.csv") && Catch::Contains(":504:") && Catch::Contains("2^64-1"));
  for (unsigned threads : {1u, 2u, 3u, 8u})
    for (size_t chunk : {size_t(97), size_t(4096), size_t(1) << 20}) {
      INFO(threads << " threads, chunks of " << chunk);
      CHECK(error_of(threads, chunk) == expected);
    }
}

// The other side: counts that sum to exactly 2^64-1, part of it from a repository met for the
// first time (taken in turn, before the chunk's rows taken ahead), are read without an error.
TEST_CASE("parallel downloads: counts summing to exactly 2^64-1 are read by every thread count", "[downloads][parallel]") {
  const std::string dir = test::temp_dir("parallel-downloads-total-max");
  std::string text = "repo,date,downloads\n";
  for (int i = 0; i < 500; ++i) text += "org1/m" + std::to_string(i % 40) + ",2024-01-" + std::to_string(10 + i % 19) + ",5\n";
  // 2,500 + 2^63 + (2^63 - 2,501) = 2^64 - 1.
  text += "org2/m2,2024-02-01,9223372036854775808\nbrand/new,2024-02-02,9223372036854773307\n";
  for (int i = 0; i < 500; ++i) text += "org1/m" + std::to_string(i % 40) + ",2024-03-" + std::to_string(10 + i % 19) + ",0\n";
  const std::string path = dir + "/max.csv";
  test::write_file(path, text);
  REQUIRE(error_reading(path, 0, 0, false) == "no error");
  for (unsigned threads : {1u, 2u, 3u, 8u})
    for (size_t chunk : {size_t(97), size_t(4096), size_t(1) << 20}) {
      INFO(threads << " threads, chunks of " << chunk);
      CHECK(error_reading(path, threads, chunk, false) == "no error");
    }
}

TEST_CASE("parallel downloads: files it does not take are left to the sequential reader", "[downloads][parallel]") {
  const std::string dir = test::temp_dir("parallel-downloads-skip");
  RepoTable repos;
  RejectLog rejects;
  DownloadJob job;
  ReadOptions opt;
  opt.parallel_min_bytes = 0;
  ReadStats st;
  auto sink = [](const EventBatch&) {};
  test::write_file(dir + "/gz.csv", std::string("\x1f\x8b\x08\x00", 4) + "not really");
  test::write_file(dir + "/quoted-header.csv", "\"repo\",date,downloads\na/b,2024-01-01,1\n");
  for (const std::string& path : {dir + "/gz.csv", dir + "/quoted-header.csv", std::string("-"), dir + "/missing.csv"})
    CHECK_FALSE(detail::read_downloads_parallel(path, DownloadFormat::detect, repos, rejects, 8, sink, {}, opt, job, 2, &st));
  CHECK(repos.size() == 0);
  CHECK(rejects.total() == 0);
  opt.parallel_min_bytes = 1 << 20;  // small files: not worth the threads
  test::write_file(dir + "/small.csv", "repo,date,downloads\na/b,2024-01-01,1\n");
  CHECK_FALSE(detail::read_downloads_parallel(dir + "/small.csv", DownloadFormat::detect, repos, rejects, 8, sink, {}, opt, job, 2, &st));
}

namespace {

std::string gzip_of(const std::string& text) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);  // 15 + 16: a gzip member
  std::string out(deflateBound(&z, uLong(text.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = uInt(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string zstd_of(const std::string& text) {
  std::string out(ZSTD_compressBound(text.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 1);
  REQUIRE(!ZSTD_isError(n));
  out.resize(n);
  return out;
}

enum class Packing { plain, trickle, gzip, zstd };

// The streamed reader over `text` packed as asked (trickle: plain text handed out a few bytes per
// read, as a pipe does); threads 0: the sequential reader over the plain text.
Outcome read_stream(const std::string& text, DownloadFormat format, unsigned threads, size_t chunk, Packing packing) {
  return outcome_of(chunk, [&](RepoTable& repos, RejectLog& rejects, const ReadOptions& opt, const auto& sink,
                               DownloadJob& job) {
    const std::string bytes = packing == Packing::gzip ? gzip_of(text) : packing == Packing::zstd ? zstd_of(text) : text;
    test::TrickleSource src(bytes, packing == Packing::trickle ? 5 : SIZE_MAX, "in.csv");
    if (threads == 0) return read_downloads(src, format, repos, rejects, 7, sink, {}, opt, job);
    return detail::read_downloads_streamed(src, format, repos, rejects, 7, sink, {}, opt, job, threads);
  });
}

// Lines of exactly 21 bytes (the CRLF header too): with blocks of 21 x k bytes every block ends
// exactly at a line end; then a record spanning lines starts right at a block's start.
std::string fixed_width() {
  std::string s = "repo,date,downloads\r\n";
  for (int i = 0; i < 60; ++i)
    s += "org" + std::to_string(i % 5) + "/m" + std::to_string(i % 10) + ",2024-01-0" + std::to_string(1 + i % 9) + "," +
         std::to_string(i % 10) + "\n";
  return s + "\"org1/m\nx\",2024-01-05,5\norg2/m2,2024-02-01,4\n";
}

}  // namespace

TEST_CASE("streamed downloads: same as sequential for any threads, block size and compression",
          "[downloads][parallel][streamed]") {
  const std::string huge_line = "org1/m1,2024-01-01," + std::string(5000, '7') + "\n";  // far past max_line
  std::vector<Case> cases = messy_cases();
  for (Case extra : std::vector<Case>{
      {"fixed-width", fixed_width(), DownloadFormat::detect},
      {"huge-lines", "repo,date,downloads\n" + huge_line + messy(9, -1, false) + huge_line + "a/b,2024-01-01,1\r\n" +
                         huge_line.substr(0, 3000), DownloadFormat::detect},
      {"blank-lines-first", "\n\r\n\n" + messy(10, 50), DownloadFormat::detect},
      {"quoted-header", "\"repo\",date,downloads\n" + messy(11, -1, false), DownloadFormat::detect},
      {"empty", "", DownloadFormat::detect},
      {"only-header", "repo,date,downloads\n", DownloadFormat::detect},
      {"only-header-no-newline", "repo,date,downloads", DownloadFormat::detect},
      {"only-blank-lines", "\n\n\r\n", DownloadFormat::detect},
  })
    cases.push_back(std::move(extra));
  for (const auto& c : cases) {
    INFO(c.name);
    const Outcome expected = read_stream(c.text, c.format, 0, 0, Packing::plain);
    if (c.text.size() > 1000) REQUIRE(expected.read > 50);
    if (c.text.size() > 5000) REQUIRE(expected.rejected > 5);  // the messy inputs
    // ECOSTAT_TEST_SHORT (scripts/sanitize.sh): fewer threads and block sizes, every packing.
    const bool short_run = std::getenv("ECOSTAT_TEST_SHORT") != nullptr;
    const std::vector<unsigned> thread_counts = short_run ? std::vector<unsigned>{2u, 7u} : std::vector<unsigned>{1u, 2u, 3u, 7u};
    const std::vector<size_t> chunks = short_run ? std::vector<size_t>{1, 64}
                                                 : std::vector<size_t>{1, 3, 7, 64, size_t(1) << 20};
    for (Packing packing : {Packing::plain, Packing::trickle, Packing::gzip, Packing::zstd})
      for (unsigned threads : thread_counts)
        for (size_t chunk : chunks) {
          INFO(c.name << ": packing " << int(packing) << ", " << threads << " threads, chunks of " << chunk);
          same(read_stream(c.text, c.format, threads, chunk, packing), expected);
        }
  }
}

TEST_CASE("streamed downloads: truncated compressed input fails as in the sequential reader",
          "[downloads][parallel][streamed]") {
  std::string gz = gzip_of(messy(12, -1));
  gz.resize(gz.size() / 2);
  auto error_of = [&](unsigned threads) {
    try {
      read_stream(gz, DownloadFormat::detect, threads, 64, Packing::plain);  // already gzip: passed as is
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string expected = error_of(0);
  CHECK_THAT(expected, Catch::Contains("in.csv") && Catch::Contains("unexpected end"));
  for (unsigned threads : {1u, 2u, 7u}) CHECK(error_of(threads) == expected);
}
