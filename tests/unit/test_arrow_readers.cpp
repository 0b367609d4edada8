// Arrow C Streams as producers for each input role: the same data read from a file and from a
// hand-built Arrow stream must fill the same tables and events, with the same rejects; a
// dictionary-encoded repo column, each timestamp unit and date32 read alike; nulls in required
// columns are rejects naming row and column; a column of the wrong type is a batch error
// naming it; every stream is released exactly once, also on errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "ecostat/errors.hpp"
#include "ecostat/host/arrow_columns.hpp"
#include "ecostat/host/arrow_readers.hpp"
#include "ecostat/host/readers.hpp"
#include "support/arrow_builders.hpp"

using namespace ecostat;
using namespace ecostat::host;
using ecostat::testing::Arena;
using ecostat::testing::check_all_released_once;
using ecostat::testing::make_stream;
using ecostat::testing::TestStream;

namespace {

using OptS = std::optional<std::string>;
using OptI = std::optional<int64_t>;
using Event = std::tuple<std::string, std::string, uint64_t>;  // repo, month label, count

// Every event of every batch, by repo id (unit numbers may differ between two tables).
struct Events {
  std::vector<Event> list;
  std::function<void(const EventBatch&)> sink(const RepoTable& repos) {
    return [this, &repos](const EventBatch& b) {
      for (size_t i = 0; i < b.size(); ++i) list.emplace_back(repos.ids.at(b.unit[i]), month_label(b.month[i]), b.count[i]);
      for (const auto& w : b.wide) list.emplace_back(repos.ids.at(w.unit), month_label(w.month), w.count);
    };
  }
};

std::vector<std::tuple<uint64_t, std::string, std::string>> rejects_of(const RejectLog& rj) {
  std::vector<std::tuple<uint64_t, std::string, std::string>> out;
  for (const auto& r : rj.first()) out.emplace_back(r.line, r.field, r.reason);
  return out;
}

// Lines of a CSV file are counted from the header (line 1); Arrow rows from 1. Shift the
// file's reject lines so the two compare.
std::vector<std::tuple<uint64_t, std::string, std::string>> shifted(
    std::vector<std::tuple<uint64_t, std::string, std::string>> v) {
  for (auto& t : v) std::get<0>(t) -= 1;
  return v;
}

ArrowArray* int64s(Arena& ar, const std::vector<OptI>& v) { return ar.primitive<int64_t>(v); }
ArrowArray* date32s(Arena& ar, const std::vector<std::optional<int32_t>>& v) { return ar.primitive<int32_t>(v); }

// A dictionary-encoded string column: int32 indices into `dict` (nullopt: a null index).
ArrowArray* dictionary(Arena& ar, const std::vector<OptS>& dict, const std::vector<std::optional<int32_t>>& codes) {
  ArrowArray* values = ar.strings(dict);
  ArrowArray* idx = ar.primitive<int32_t>(codes);
  idx->dictionary = values;
  return idx;
}

// list<utf8>: one list per row (nullopt: a null list).
ArrowArray* string_lists(Arena& ar, const std::vector<std::optional<std::vector<std::string>>>& rows) {
  std::vector<OptS> flat;
  std::vector<int32_t> offsets{0};
  std::vector<bool> valid;
  int64_t nulls = 0;
  for (const auto& row : rows) {
    if (row)
      for (const auto& s : *row) flat.emplace_back(s);
    offsets.push_back(static_cast<int32_t>(flat.size()));
    valid.push_back(row.has_value());
    nulls += !row;
  }
  return ar.array(static_cast<int64_t>(rows.size()), nulls, {nulls ? ar.bitmap(valid) : nullptr, ar.buffer(offsets)},
                  {ar.strings(flat)});
}

// One stream of one schema and its batches.
struct Input {
  Arena ar;
  TestStream t;
  ArrowArrayStream stream{};
  void open(ArrowSchema* schema, std::vector<ArrowArray*> batches) {
    t.schema = schema;
    t.batches = std::move(batches);
    stream = make_stream(&t);
  }
};

ReadStats csv_downloads(const std::string& text, DownloadFormat fmt, RepoTable& repos, RejectLog& rj, Events& ev,
                        DownloadJob& job) {
  auto src = memory_source("dl.csv", text.data(), text.size());
  return read_downloads(*src, fmt, repos, rj, 3, ev.sink(repos), {}, ReadOptions{}, job);
}

ReadStats arrow_downloads(Input& in, DownloadFormat fmt, RepoTable& repos, RejectLog& rj, Events& ev,
                          const ReadOptions& options = {}) {
  DownloadJob job;
  return read_downloads_arrow(&in.stream, "dl", fmt, repos, rj, 3, ev.sink(repos), options, job);
}

// The per-period data every downloads test uses: CSV text, then the same rows as Arrow
// columns (repo utf8 or dictionary, date32, downloads int64) split in two batches.
const char* kDownloadsCsv =
    "repo,date,downloads\n"
    "a/x,2024-01-15,10\n"
    "b/y,2024-01-31,5\n"
    "a/x,2024-02-01,7\n"
    "bad id,2024-02-01,1\n"   // rejected: invalid repo id
    "c/z,1999-12-31,3\n"      // rejected: outside the date window
    "b/y,2024-03-10,-4\n"     // rejected: negative count
    "c/z,2024-03-10,9\n";

const std::vector<OptS> kRepos = {OptS("a/x"), OptS("b/y"), OptS("a/x"), OptS("bad id"), OptS("c/z"), OptS("b/y"), OptS("c/z")};
const std::vector<std::optional<int32_t>> kDays = {19737, 19753, 19754, 19754, 10956, 19792, 19792};
const std::vector<OptI> kCounts = {10, 5, 7, 1, 3, -4, 9};

template <class T>
std::vector<T> part(const std::vector<T>& v, size_t from, size_t to) {
  return std::vector<T>(v.begin() + from, v.begin() + to);
}

ArrowSchema* downloads_schema(Arena& ar, ArrowSchema* repo, ArrowSchema* date, const char* count_name = "downloads",
                              const char* count_format = "l") {
  return ar.schema("+s", "", {repo, date, ar.schema(count_format, count_name)});
}

}  // namespace

TEST_CASE("arrow downloads equal the same rows read from CSV, rejects included", "[arrow]") {
  RepoTable file_repos, arrow_repos;
  RejectLog file_rj, arrow_rj;
  Events file_ev, arrow_ev;
  DownloadJob job;
  const ReadStats fs = csv_downloads(kDownloadsCsv, DownloadFormat::detect, file_repos, file_rj, file_ev, job);

  Input in;
  in.open(downloads_schema(in.ar, in.ar.schema("u", "repo"), in.ar.schema("tdD", "date")),
          {in.ar.batch(4, {in.ar.strings(part(kRepos, 0, 4)), date32s(in.ar, part(kDays, 0, 4)), int64s(in.ar, part(kCounts, 0, 4))}),
           in.ar.batch(3, {in.ar.strings(part(kRepos, 4, 7)), date32s(in.ar, part(kDays, 4, 7)), int64s(in.ar, part(kCounts, 4, 7))})});
  const ReadStats as = arrow_downloads(in, DownloadFormat::detect, arrow_repos, arrow_rj, arrow_ev);

  CHECK(as.file == "arrow:dl");
  CHECK(as.read == fs.read);
  CHECK(as.accepted == fs.accepted);
  CHECK(as.rejected == fs.rejected);
  CHECK(as.accepted + as.rejected == as.read);
  CHECK(arrow_ev.list == file_ev.list);
  CHECK(arrow_repos.ids.strings() == file_repos.ids.strings());
  CHECK(arrow_repos.in_downloads_only == file_repos.in_downloads_only);
  const auto ar = rejects_of(arrow_rj), fr = shifted(rejects_of(file_rj));
  REQUIRE(ar.size() == 3);
  // Same rows, fields and reasons; only the count's reason words the Arrow cell differently.
  for (size_t i = 0; i < 3; ++i) {
    CHECK(std::get<0>(ar[i]) == std::get<0>(fr[i]));
    CHECK(std::get<1>(ar[i]) == std::get<1>(fr[i]));
  }
  CHECK(std::get<2>(ar[0]) == std::get<2>(fr[0]));
  CHECK(std::get<2>(ar[1]) == std::get<2>(fr[1]));
  CHECK(std::get<2>(ar[2]) == "bad count: negative value -4");
  CHECK(in.t.releases == 1);
  check_all_released_once(in.ar);
}

TEST_CASE("arrow downloads: a dictionary-encoded repo column gives the same events as utf8", "[arrow]") {
  RepoTable plain_repos, dict_repos;
  RejectLog plain_rj, dict_rj;
  Events plain_ev, dict_ev;
  Input plain;
  plain.open(downloads_schema(plain.ar, plain.ar.schema("u", "repo"), plain.ar.schema("tdD", "date")),
             {plain.ar.batch(7, {plain.ar.strings(kRepos), date32s(plain.ar, kDays), int64s(plain.ar, kCounts)})});
  arrow_downloads(plain, DownloadFormat::detect, plain_repos, plain_rj, plain_ev);

  // Two batches, each with its own dictionary; entries no row uses (one an invalid id) must
  // neither become units nor be rejected.
  Input dict;
  ArrowSchema* repo_schema = dict.ar.schema("i", "repo", {}, dict.ar.schema("u", nullptr));
  const std::vector<OptS> d1 = {OptS("unused/one"), OptS("b/y"), OptS("a/x"), OptS("bad id"), OptS("no good")};
  // Code 2 is a/x in the first dictionary and c/z in the second: nothing judged in one batch
  // may carry over to the next.
  const std::vector<OptS> d2 = {OptS("b/y"), OptS("unused/two"), OptS("c/z")};
  dict.open(downloads_schema(dict.ar, repo_schema, dict.ar.schema("tdD", "date")),
            {dict.ar.batch(4, {dictionary(dict.ar, d1, {2, 1, 2, 3}), date32s(dict.ar, part(kDays, 0, 4)), int64s(dict.ar, part(kCounts, 0, 4))}),
             dict.ar.batch(3, {dictionary(dict.ar, d2, {2, 0, 2}), date32s(dict.ar, part(kDays, 4, 7)), int64s(dict.ar, part(kCounts, 4, 7))})});
  const ReadStats ds = arrow_downloads(dict, DownloadFormat::detect, dict_repos, dict_rj, dict_ev);

  CHECK(dict_ev.list == plain_ev.list);
  CHECK(dict_repos.ids.strings() == plain_repos.ids.strings());  // no unit for unused entries
  CHECK(rejects_of(dict_rj) == rejects_of(plain_rj));
  CHECK(ds.read == 7);
  CHECK(ds.accepted == 4);
  CHECK(dict.t.releases == 1);
  check_all_released_once(dict.ar);
}

TEST_CASE("arrow downloads: each timestamp unit, with or without zone, and date32 give the same months", "[arrow]") {
  // 2024-01-31T23:59:59 UTC and 2024-02-01T00:00:00 UTC: one second apart, one month apart.
  const int64_t s0 = 19753LL * 86400 + 86399, s1 = 19754LL * 86400;
  auto read_with = [&](const char* format, int64_t per_second) {
    Input in;
    in.open(downloads_schema(in.ar, in.ar.schema("u", "repo"), in.ar.schema(format, "date")),
            {in.ar.batch(2, {in.ar.strings({OptS("a/x"), OptS("a/x")}), int64s(in.ar, {s0 * per_second, s1 * per_second}),
                             int64s(in.ar, {1, 2})})});
    RepoTable repos;
    RejectLog rj;
    Events ev;
    arrow_downloads(in, DownloadFormat::detect, repos, rj, ev);
    CHECK(rj.total() == 0);
    CHECK(in.t.releases == 1);
    return ev.list;
  };
  const std::vector<Event> expected = {{"a/x", "2024-01", 1}, {"a/x", "2024-02", 2}};
  CHECK(read_with("tss:", 1) == expected);
  CHECK(read_with("tsm:UTC", 1000) == expected);
  CHECK(read_with("tsu:Europe/Paris", 1000000) == expected);  // the instant is UTC whatever the zone
  CHECK(read_with("tsn:", 1000000000) == expected);

  Input in;
  in.open(downloads_schema(in.ar, in.ar.schema("u", "repo"), in.ar.schema("tdD", "date")),
          {in.ar.batch(2, {in.ar.strings({OptS("a/x"), OptS("a/x")}), date32s(in.ar, {19753, 19754}), int64s(in.ar, {1, 2})})});
  RepoTable repos;
  RejectLog rj;
  Events ev;
  arrow_downloads(in, DownloadFormat::detect, repos, rj, ev);
  CHECK(ev.list == expected);
}

TEST_CASE("arrow downloads: a null in a required column is a reject naming row and column", "[arrow]") {
  Input in;
  in.open(downloads_schema(in.ar, in.ar.schema("u", "repo_id"), in.ar.schema("tdD", "day"), "count"),
          {in.ar.batch(2, {in.ar.strings({OptS("a/x"), std::nullopt}), date32s(in.ar, {19737, 19737}), int64s(in.ar, {1, 2})}),
           in.ar.batch(3, {in.ar.strings({OptS("a/x"), OptS("b/y"), OptS("c/z")}), date32s(in.ar, {std::nullopt, 19737, 19737}),
                           int64s(in.ar, {3, std::nullopt, 4})})});
  RepoTable repos;
  RejectLog rj;
  Events ev;
  const ReadStats st = arrow_downloads(in, DownloadFormat::detect, repos, rj, ev);
  CHECK(st.read == 5);
  CHECK(st.accepted == 2);
  CHECK(st.rejected == 3);
  using R = std::tuple<uint64_t, std::string, std::string>;
  CHECK(rejects_of(rj) == std::vector<R>{{2, "repo_id", arrow::kNullRequired},
                                         {3, "day", arrow::kNullRequired},
                                         {4, "count", arrow::kNullRequired}});
  CHECK(rj.first()[0].file == "arrow:dl");
  CHECK(repos.ids.strings() == std::vector<std::string>{"a/x", "c/z"});  // no unit for b/y's rejected row
}

TEST_CASE("arrow downloads: a wrong column type or a missing column throws naming it, stream released once", "[arrow]") {
  Input in;
  SECTION("a float count column") {
    in.open(downloads_schema(in.ar, in.ar.schema("u", "repo"), in.ar.schema("tdD", "date"), "downloads", "g"),
            {in.ar.batch(1, {in.ar.strings({OptS("a/x")}), date32s(in.ar, {19737}), in.ar.primitive<double>({1.0})})});
    RepoTable repos;
    RejectLog rj;
    Events ev;
    try {
      arrow_downloads(in, DownloadFormat::detect, repos, rj, ev);
      FAIL("a float64 count column was read");
    } catch (const arrow::ArrowBatchError& e) {
      CHECK(e.field() == "downloads");
      CHECK_THAT(e.what(), Catch::Contains("'g' (float64)") && Catch::Contains("arrow:dl"));
    }
  }
  SECTION("an integer repo column") {
    in.open(downloads_schema(in.ar, in.ar.schema("l", "repo"), in.ar.schema("tdD", "date")),
            {in.ar.batch(1, {int64s(in.ar, {1}), date32s(in.ar, {19737}), int64s(in.ar, {1})})});
    RepoTable repos;
    RejectLog rj;
    Events ev;
    CHECK_THROWS_WITH(arrow_downloads(in, DownloadFormat::detect, repos, rj, ev),
                      Catch::Contains("repo") && Catch::Contains("where a string is required"));
  }
  SECTION("no date column") {
    in.open(in.ar.schema("+s", "", {in.ar.schema("u", "repo"), in.ar.schema("l", "downloads")}),
            {in.ar.batch(1, {in.ar.strings({OptS("a/x")}), int64s(in.ar, {1})})});
    RepoTable repos;
    RejectLog rj;
    Events ev;
    try {
      arrow_downloads(in, DownloadFormat::detect, repos, rj, ev);
      FAIL("a stream without a date column was read");
    } catch (const arrow::ArrowBatchError& e) {
      CHECK(e.field() == "date");
      CHECK_THAT(e.what(), Catch::Contains("no date column"));
    }
  }
  CHECK(in.t.releases == 1);
  check_all_released_once(in.ar);
}

TEST_CASE("arrow downloads: cumulative counters are differenced as the CSV path does", "[arrow]") {
  const char* csv =
      "repo,date,downloads_all_time\n"
      "a/x,2024-01-15,100\n"
      "a/x,2024-02-01,150\n"
      "a/x,2024-01-31,160\n"   // out-of-order: rejected
      "a/x,2024-02-01,151\n"   // conflicting snapshot: rejected
      "a/x,2024-03-10,140\n"   // decreasing: rejected
      "a/x,2024-03-10,190\n"
      "b/y,2024-03-10,7\n";
  RepoTable file_repos, arrow_repos;
  RejectLog file_rj, arrow_rj;
  Events file_ev, arrow_ev;
  DownloadJob job;
  const ReadStats fs = csv_downloads(csv, DownloadFormat::detect, file_repos, file_rj, file_ev, job);

  Input in;
  in.open(downloads_schema(in.ar, in.ar.schema("u", "repo"), in.ar.schema("tdD", "date"), "downloads_all_time"),
          {in.ar.batch(3, {in.ar.strings({OptS("a/x"), OptS("a/x"), OptS("a/x")}), date32s(in.ar, {19737, 19754, 19753}),
                           int64s(in.ar, {100, 150, 160})}),
           in.ar.batch(4, {in.ar.strings({OptS("a/x"), OptS("a/x"), OptS("a/x"), OptS("b/y")}),
                           date32s(in.ar, {19754, 19792, 19792, 19792}), int64s(in.ar, {151, 140, 190, 7})})});
  const ReadStats as = arrow_downloads(in, DownloadFormat::detect, arrow_repos, arrow_rj, arrow_ev);

  CHECK(arrow_ev.list == file_ev.list);
  CHECK(arrow_ev.list == std::vector<Event>{{"a/x", "2024-01", 100}, {"a/x", "2024-02", 50}, {"a/x", "2024-03", 40},
                                            {"b/y", "2024-03", 7}});
  CHECK(rejects_of(arrow_rj) == shifted(rejects_of(file_rj)));  // same rows, fields and reasons
  CHECK(as.accepted == fs.accepted);
  CHECK(as.rejected == 3);
}

// The Arrow path does not hand the row's id text to the row rules (an accepted row never reads
// it): a reject message finds it by the unit, and must read as the CSV path's.
TEST_CASE("arrow downloads: a duplicate row rejected from a dictionary column names its repo as CSV does", "[arrow]") {
  const char* csv =
      "repo,date,downloads\n"
      "a/x,2024-01-15,10\n"
      "b/y,2024-01-15,5\n"
      "a/x,2024-01-15,7\n"   // duplicate: rejected
      "b/y,2024-01-16,1\n"
      "b/y,2024-01-15,2\n";  // duplicate, in the second batch: rejected
  ReadOptions options;
  options.duplicates = DuplicatePolicy::reject;
  RepoTable file_repos, arrow_repos;
  RejectLog file_rj, arrow_rj;
  Events file_ev, arrow_ev;
  DownloadJob file_job;
  auto src = memory_source("dl.csv", csv, std::strlen(csv));
  const ReadStats fs =
      read_downloads(*src, DownloadFormat::detect, file_repos, file_rj, 3, file_ev.sink(file_repos), {}, options, file_job);

  Input in;
  const std::vector<OptS> d{OptS("b/y"), OptS("a/x")};
  in.open(downloads_schema(in.ar, in.ar.schema("i", "repo", {}, in.ar.schema("u", nullptr)), in.ar.schema("tdD", "date")),
          {in.ar.batch(3, {dictionary(in.ar, d, {1, 0, 1}), date32s(in.ar, {19737, 19737, 19737}), int64s(in.ar, {10, 5, 7})}),
           in.ar.batch(2, {dictionary(in.ar, d, {0, 0}), date32s(in.ar, {19738, 19737}), int64s(in.ar, {1, 2})})});
  DownloadJob arrow_job;
  const ReadStats as = read_downloads_arrow(&in.stream, "dl", DownloadFormat::detect, arrow_repos, arrow_rj, 3,
                                            arrow_ev.sink(arrow_repos), options, arrow_job);

  CHECK(as.rejected == 2);
  CHECK(as.accepted == fs.accepted);
  CHECK(arrow_ev.list == file_ev.list);
  CHECK(rejects_of(arrow_rj) == shifted(rejects_of(file_rj)));  // same rows, fields and reasons
  CHECK_THAT(std::get<2>(rejects_of(arrow_rj).back()), Catch::Contains("duplicate row: 'b/y' on 2024-01-15"));
}

// The reader memoises each accepted day's month in a table indexed by day mod 4096: days that
// share an entry, the extreme int32 days (INT32_MIN is the table's empty mark) and a day seen
// rejected then accepted must each get their own answer.
TEST_CASE("arrow downloads: every day gets its own month and window check, whatever the order", "[arrow]") {
  const int32_t lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
  // 19737 = 2024-01-15; 19737 + 4096 = 2035-04-03 (the same table entry); 19737 - 4096 = 2012-10-28.
  const std::vector<std::optional<int32_t>> days = {19737, 19737 + 4096, lo, 19737, hi, 19737 - 4096, lo, 19737 + 4096};
  Input in;
  in.open(downloads_schema(in.ar, in.ar.schema("u", "repo"), in.ar.schema("tdD", "date")),
          {in.ar.batch(8, {in.ar.strings(std::vector<OptS>(8, OptS("a/x"))), date32s(in.ar, days),
                           int64s(in.ar, {1, 2, 4, 8, 16, 32, 64, 128})})});
  RepoTable repos;
  RejectLog rj;
  Events ev;
  const ReadStats st = arrow_downloads(in, DownloadFormat::detect, repos, rj, ev);
  CHECK(st.accepted == 5);
  CHECK(st.rejected == 3);
  CHECK(ev.list == std::vector<Event>{{"a/x", "2024-01", 1}, {"a/x", "2035-04", 2}, {"a/x", "2024-01", 8},
                                      {"a/x", "2012-10", 32}, {"a/x", "2035-04", 128}});
  const auto r = rejects_of(rj);
  REQUIRE(r.size() == 3);
  CHECK(std::get<0>(r[0]) == 3);
  CHECK(std::get<0>(r[1]) == 5);
  CHECK(std::get<0>(r[2]) == 7);
  for (const auto& x : r) CHECK_THAT(std::get<2>(x), Catch::Contains("date out of range"));
}

namespace {

// Rows for the many-thread tests: known, unknown, bad and null ids (a bad id among the known
// units too, as a base-model reference leaves one), days in and out of the window and nulls,
// counts of 0, past u32, negative and null, and many repeated (repo, day) pairs.
struct ManyRows {
  std::vector<OptS> dict;                            // the repo ids, each once
  std::vector<std::string> known;                    // those in the repository table at the start
  std::vector<std::optional<int32_t>> code;          // per row (nullopt: a null repo)
  std::vector<std::optional<int32_t>> day;
  std::vector<OptI> count;
};

// bulk_ids: that many more ids (half of them known), named by a fifth of the rows, so that a
// batch's dictionary is large enough for its lookups to be split among threads.
ManyRows many_rows(size_t n, unsigned seed, int bulk_ids = 0) {
  std::mt19937 rng(seed);
  ManyRows m;
  for (int i = 0; i < 300; ++i) m.dict.emplace_back("org" + std::to_string(i % 7) + "/m" + std::to_string(i));
  for (int i = 0; i < 60; ++i) m.dict.emplace_back("new" + std::to_string(i) + "/x");
  m.dict.emplace_back("bad id");     // known, and still rejected
  m.dict.emplace_back("also bad");   // unknown and rejected
  for (int i = 0; i < bulk_ids; ++i) m.dict.emplace_back("bulk" + std::to_string(i) + "/m");
  for (int i = 0; i < 300; i += 2) m.known.push_back(*m.dict[size_t(i)]);
  m.known.emplace_back("bad id");
  for (int i = 0; i < bulk_ids; i += 2) m.known.push_back(*m.dict[size_t(362 + i)]);
  for (size_t r = 0; r < n; ++r) {
    const unsigned k = rng() % 100;
    const int32_t any = bulk_ids > 0 && k >= 80 ? 362 + int32_t(rng() % unsigned(bulk_ids)) : int32_t(rng() % 360);
    m.code.push_back(k == 0 ? std::nullopt : std::optional<int32_t>(k == 1 ? 360 : k == 2 ? 361 : any));
    m.day.push_back(k == 3 ? std::nullopt : std::optional<int32_t>(k == 4 ? 5000 : 19723 + int32_t(rng() % 400)));
    m.count.push_back(k == 5 ? std::nullopt : OptI(k == 6 ? -2 : k == 7 ? int64_t(5000000000) : int64_t(rng() % 50)));
  }
  return m;
}


struct ManyOutcome {
  std::vector<std::string> units;
  std::map<std::pair<std::string, Month>, uint64_t> sums;
  std::vector<std::tuple<uint64_t, std::string, std::string>> rejects;
  uint64_t read = 0, accepted = 0, rejected = 0, duplicates = 0, loose_bounds = 0;
  std::string error;
};

// Reads `m` as batches of the given sizes (dictionary or plain repo column) with `threads`.
ManyOutcome read_many(const ManyRows& m, const std::vector<size_t>& batch_rows, bool dictionary_column, unsigned threads) {
  Input in;
  std::vector<ArrowArray*> batches;
  size_t at = 0;
  for (const size_t len : batch_rows) {
    std::vector<std::optional<int32_t>> codes(m.code.begin() + at, m.code.begin() + at + len);
    std::vector<OptS> plain;
    for (const auto& c : codes) plain.push_back(c ? m.dict[size_t(*c)] : OptS());
    ArrowArray* repo = dictionary_column ? dictionary(in.ar, m.dict, codes) : in.ar.strings(plain);
    batches.push_back(in.ar.batch(int64_t(len), {repo, date32s(in.ar, part(m.day, at, at + len)),
                                                 int64s(in.ar, part(m.count, at, at + len))}));
    at += len;
  }
  ArrowSchema* repo_schema =
      dictionary_column ? in.ar.schema("i", "repo", {}, in.ar.schema("u", nullptr)) : in.ar.schema("u", "repo");
  in.open(downloads_schema(in.ar, repo_schema, in.ar.schema("tdD", "date")), batches);
  ManyOutcome o;
  RepoTable repos;
  for (const std::string& id : m.known) repos.ensure(id, false);
  RejectLog rj;
  DownloadJob job(threads);
  ReadOptions options;
  options.threads = threads;
  auto sink = [&](const EventBatch& b) {
    uint32_t bound = 0;
    Month lo = 0xffff, hi = 0;
    auto note = [&](uint32_t u, Month mo, uint64_t c) {
      o.sums[{std::string(repos.ids.at(u)), mo}] += c;
      bound = std::max(bound, u + 1), lo = std::min(lo, mo), hi = std::max(hi, mo);
    };
    for (size_t i = 0; i < b.size(); ++i) note(b.unit[i], b.month[i], b.count[i]);
    for (const auto& w : b.wide) note(w.unit, w.month, w.count);
    if (b.unit_bound != bound || b.month_min != lo || b.month_max != hi) ++o.loose_bounds;
  };
  try {
    const ReadStats st = read_downloads_arrow(&in.stream, "dl", DownloadFormat::detect, repos, rj, 1000, sink, options, job);
    o.read = st.read, o.accepted = st.accepted, o.rejected = st.rejected;
  } catch (const std::exception& e) {  // an InputError, or any other error (a test failure then)
    o.error = e.what();
  }
  for (uint32_t u = 0; u < repos.size(); ++u) o.units.emplace_back(repos.ids.at(u));
  o.rejects = rejects_of(rj);
  o.duplicates = job.duplicate_rows();
  return o;
}

}  // namespace

// With threads, a batch's rows are read in parts at once and each part's rows with a known unit
// are taken in one step; the rest (rejects, ids met for the first time) in row order. Units, sums,
// rejects, counts and repeats must be one thread's, whatever the threads, for both column kinds,
// with batches above and below the size read in parts.
TEST_CASE("arrow downloads: rows read by several threads equal one thread's", "[arrow]") {
  const std::vector<size_t> batches = {40000, 5000, 75000};
  for (const int bulk_ids : {0, 40000})  // 40,362 ids: each batch's dictionary looked up in parts
  for (const bool dictionary_column : {true, false}) {
    const ManyRows m = many_rows(120000, 7, bulk_ids);
    const ManyOutcome one = read_many(m, batches, dictionary_column, 1);
    REQUIRE(one.error.empty());
    REQUIRE(one.read == 120000);
    REQUIRE(one.rejected > 5000);
    REQUIRE(one.duplicates > 1000);
    CHECK(one.loose_bounds == 0);
    // Every row naming the known but invalid "bad id" (code 360) is rejected for its id, also when
    // a batch's dictionary is judged ahead of its rows.
    // (The log keeps the first rejects: the rows up to the last one kept are checked.)
    REQUIRE(!one.rejects.empty());
    const uint64_t last_line = std::get<0>(one.rejects.back());
    size_t bad_rows = 0, bad_rejects = 0;
    for (uint64_t line = 1; line <= last_line; ++line) bad_rows += m.code[line - 1] == std::optional<int32_t>(360);
    for (const auto& r : one.rejects) bad_rejects += std::get<2>(r).find("'bad id'") != std::string::npos;
    CHECK(bad_rows > 50);
    CHECK(bad_rejects == bad_rows);
    for (const unsigned threads : {2u, 3u, 8u}) {
      INFO((dictionary_column ? "dictionary" : "plain") << " repo column, " << bulk_ids << " more ids, " << threads
                                                        << " threads");
      const ManyOutcome many = read_many(m, batches, dictionary_column, threads);
      CHECK(many.error.empty());
      CHECK(many.units == one.units);
      CHECK((many.sums == one.sums));
      CHECK((many.rejects == one.rejects));
      CHECK(many.read == one.read);
      CHECK(many.accepted == one.accepted);
      CHECK(many.rejected == one.rejected);
      CHECK(many.duplicates == one.duplicates);
      CHECK(many.loose_bounds == 0);
    }
  }
}

// A part whose counts could carry the total past 2^64-1 is read row by row: the error names the
// row one thread names.
TEST_CASE("arrow downloads: counts summing past 2^64-1 name one thread's row with several threads", "[arrow]") {
  ManyRows m = many_rows(60000, 11);
  for (size_t r = 0; r < m.count.size(); ++r)
    if (m.count[r] && *m.count[r] > 0) m.count[r] = int64_t(1) << 40;
  m.count[41234] = std::numeric_limits<int64_t>::max();
  m.count[41240] = std::numeric_limits<int64_t>::max();
  m.code[41234] = m.code[41240] = 10;  // a known id with a valid day
  m.day[41234] = m.day[41240] = 19800;
  const ManyOutcome one = read_many(m, {60000}, true, 1);
  CHECK_THAT(one.error, Catch::Contains("dl") && Catch::Contains("2^64-1"));
  for (const unsigned threads : {2u, 3u, 8u}) {
    INFO(threads << " threads");
    CHECK(read_many(m, {60000}, true, threads).error == one.error);
    CHECK(read_many(m, {60000}, false, threads).error == one.error);
  }
}

// Counts that sum to exactly 2^64-1, part of it from an id met for the first time (read in turn,
// before its part's rows taken ahead), are read without an error by every thread count.
TEST_CASE("arrow downloads: counts summing to exactly 2^64-1 are read by every thread count", "[arrow]") {
  ManyRows m = many_rows(60000, 13);
  for (auto& c : m.count)
    if (c && *c > 0) c = 0;
  m.code[30000] = 10, m.day[30000] = 19800, m.count[30000] = std::numeric_limits<int64_t>::max();  // known id: 2^63-1
  m.code[30001] = 300, m.day[30001] = 19800, m.count[30001] = std::numeric_limits<int64_t>::max();  // "new0/x": first met
  m.code[30002] = 11, m.day[30002] = 19800, m.count[30002] = 1;  // (2^63-1) x 2 + 1 = 2^64-1
  for (const unsigned threads : {1u, 2u, 3u, 8u})
    for (const bool dictionary_column : {true, false}) {
      INFO(threads << " threads, " << (dictionary_column ? "dictionary" : "plain") << " column");
      const ManyOutcome o = read_many(m, {60000}, dictionary_column, threads);
      CHECK(o.error.empty());
      CHECK(o.read == 60000);
    }
}

TEST_CASE("arrow downloads: a failing producer is an InputError and the stream is released once", "[arrow]") {
  Input in;
  in.open(downloads_schema(in.ar, in.ar.schema("u", "repo"), in.ar.schema("tdD", "date")),
          {in.ar.batch(1, {in.ar.strings({OptS("a/x")}), date32s(in.ar, {19737}), int64s(in.ar, {1})}),
           in.ar.batch(1, {in.ar.strings({OptS("a/x")}), date32s(in.ar, {19738}), int64s(in.ar, {1})})});
  in.t.fail_next_at = 1;
  RepoTable repos;
  RejectLog rj;
  Events ev;
  CHECK_THROWS_WITH(arrow_downloads(in, DownloadFormat::detect, repos, rj, ev), Catch::Contains("checksum mismatch"));
  CHECK(in.t.releases == 1);
  CHECK(in.stream.release == nullptr);
  check_all_released_once(in.ar);
}

TEST_CASE("arrow repositories equal the same records read from JSON Lines", "[arrow]") {
  const std::string jsonl =
      R"({"id":"org/base","author":"org","createdAt":"2023-05-01T10:00:00.000Z","downloads":100,"likes":3,"pipeline_tag":"text-generation","library_name":"transformers","tags":["llm","llm","base_model:org/root"],"safetensors":{"total":7000000000}})"
      "\n"
      R"({"id":"org/ft","createdAt":"2024-01-02T00:00:00Z","downloads":5,"downloadsAllTime":50,"tags":["x"],"baseModels":{"relation":"finetune","models":[{"id":"org/base"}]},"cardData":{"base_model":"org/base"}})"
      "\n"
      R"({"id":"bad id","downloads":1})"
      "\n"
      R"({"id":"org/neg","likes":-1})"
      "\n"
      R"({"id":"org/base","downloads":1})"
      "\n"
      R"({"id":"org/card","cardData":"base_model: org/ft\nbase_model_relation: quantized\n"})"
      "\n";
  RepoTable file_repos, arrow_repos;
  RejectLog file_rj, arrow_rj;
  auto src = memory_source("repos.jsonl", jsonl.data(), jsonl.size());
  const ReadStats fs = read_repositories(*src, file_repos, file_rj);

  Input in;
  Arena& ar = in.ar;
  const int64_t ms0 = (19478LL * 86400 + 36000) * 1000, ms1 = 19724LL * 86400 * 1000;  // 2023-05-01T10:00, 2024-01-02
  in.open(ar.schema("+s", "", {ar.schema("u", "id"), ar.schema("u", "author"), ar.schema("tsm:UTC", "createdAt"),
                               ar.schema("l", "downloads"), ar.schema("i", "likes"), ar.schema("L", "downloads_all_time"),
                               ar.schema("u", "pipeline_tag"), ar.schema("U", "library_name"),
                               ar.schema("+l", "tags", {ar.schema("u", "item")}), ar.schema("u", "safetensors"),
                               ar.schema("u", "baseModels"), ar.schema("u", "cardData")}),
          {ar.batch(3, {ar.strings({OptS("org/base"), OptS("org/ft"), OptS("bad id")}),
                        ar.strings({OptS("org"), std::nullopt, std::nullopt}),
                        int64s(ar, {ms0, ms1, std::nullopt}),
                        int64s(ar, {100, 5, 1}),
                        ar.primitive<int32_t>({3, std::nullopt, std::nullopt}),
                        ar.primitive<uint64_t>({std::nullopt, 50, std::nullopt}),
                        ar.strings({OptS("text-generation"), std::nullopt, std::nullopt}),
                        ar.strings<int64_t>({OptS("transformers"), std::nullopt, std::nullopt}),
                        string_lists(ar, {std::vector<std::string>{"llm", "llm", "base_model:org/root"},
                                          std::vector<std::string>{"x"}, std::nullopt}),
                        ar.strings({OptS(R"({"total":7000000000})"), std::nullopt, std::nullopt}),
                        ar.strings({std::nullopt, OptS(R"({"relation":"finetune","models":[{"id":"org/base"}]})"), std::nullopt}),
                        ar.strings({std::nullopt, OptS(R"({"base_model":"org/base"})"), std::nullopt})}),
           ar.batch(3, {ar.strings({OptS("org/neg"), OptS("org/base"), OptS("org/card")}),
                        ar.strings({std::nullopt, std::nullopt, std::nullopt}),
                        int64s(ar, {std::nullopt, std::nullopt, std::nullopt}),
                        int64s(ar, {std::nullopt, 1, std::nullopt}),
                        ar.primitive<int32_t>({-1, std::nullopt, std::nullopt}),
                        ar.primitive<uint64_t>({std::nullopt, std::nullopt, std::nullopt}),
                        ar.strings({std::nullopt, std::nullopt, std::nullopt}),
                        ar.strings<int64_t>({std::nullopt, std::nullopt, std::nullopt}),
                        string_lists(ar, {std::nullopt, std::nullopt, std::nullopt}),
                        ar.strings({std::nullopt, std::nullopt, std::nullopt}),
                        ar.strings({std::nullopt, std::nullopt, std::nullopt}),
                        ar.strings({std::nullopt, std::nullopt, OptS("base_model: org/ft\nbase_model_relation: quantized\n")})})});
  const ReadStats as = read_repositories_arrow(&in.stream, "hub", arrow_repos, arrow_rj);

  CHECK(as.file == "arrow:hub");
  CHECK(as.read == fs.read);
  CHECK(as.accepted == fs.accepted);
  CHECK(as.rejected == fs.rejected);
  const RepoTable& a = arrow_repos;
  const RepoTable& f = file_repos;
  CHECK(a.ids.strings() == f.ids.strings());
  CHECK(a.authors.strings() == f.authors.strings());
  CHECK(a.author == f.author);
  CHECK(a.kind == f.kind);
  CHECK(a.created_day == f.created_day);
  CHECK(a.likes == f.likes);
  CHECK(a.downloads_30d == f.downloads_30d);
  CHECK(a.downloads_all_time == f.downloads_all_time);
  CHECK(a.has_all_time == f.has_all_time);
  CHECK(a.parameters == f.parameters);
  CHECK(a.pipeline_tag == f.pipeline_tag);
  CHECK(a.library == f.library);
  CHECK(a.tags.strings() == f.tags.strings());
  CHECK(a.tag_offsets == f.tag_offsets);
  CHECK(a.tag_ids == f.tag_ids);
  CHECK(a.placeholder == f.placeholder);
  REQUIRE(a.edges.size() == f.edges.size());
  for (size_t i = 0; i < a.edges.size(); ++i) {
    CHECK(a.edges[i].child == f.edges[i].child);
    CHECK(a.edges[i].parent == f.edges[i].parent);
    CHECK(a.edges[i].relation == f.edges[i].relation);
  }
  CHECK(a.parameters[0] == 7000000000ull);  // the JSON text safetensors was read
  // Same rejects on the same rows and fields; a negative count's reason is the Arrow cell's.
  const auto ar_rj = rejects_of(arrow_rj), fr_rj = rejects_of(file_rj);
  REQUIRE(ar_rj.size() == 3);
  REQUIRE(fr_rj.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(std::get<0>(ar_rj[i]) == std::get<0>(fr_rj[i]));
    CHECK(std::get<1>(ar_rj[i]) == std::get<1>(fr_rj[i]));
  }
  CHECK(std::get<2>(ar_rj[0]) == std::get<2>(fr_rj[0]));  // invalid id
  CHECK(std::get<2>(ar_rj[2]) == std::get<2>(fr_rj[2]));  // duplicate id
  CHECK(in.t.releases == 1);
  check_all_released_once(in.ar);
}

TEST_CASE("arrow repositories: tags as JSON text, dates as date32 and ISO text, a null id rejected", "[arrow]") {
  Input in;
  Arena& ar = in.ar;
  in.open(ar.schema("+s", "", {ar.schema("u", "modelId"), ar.schema("tdD", "created_at"), ar.schema("u", "tags")}),
          {ar.batch(3, {ar.strings({OptS("o/a"), std::nullopt, OptS("o/c")}), date32s(ar, {19737, 19737, 10956}),
                        ar.strings({OptS(R"(["t1", "t2"])"), OptS("[]"), std::nullopt})})});
  RepoTable repos;
  RejectLog rj;
  const ReadStats st = read_repositories_arrow(&in.stream, "r", repos, rj);
  CHECK(st.read == 3);
  CHECK(st.accepted == 1);
  CHECK(repos.created_day[0] == 19737);
  CHECK(repos.tags.strings() == std::vector<std::string>{"t1", "t2"});
  using R = std::tuple<uint64_t, std::string, std::string>;
  CHECK(rejects_of(rj) == std::vector<R>{{2, "modelId", arrow::kNullRequired},
                                         {3, "created_at", "date out of range: '1999-12-31' (outside 2000-01-01..2040-12-31)"}});
  CHECK(in.t.releases == 1);
}

TEST_CASE("arrow repositories: a wrong column type throws naming it and releases the stream", "[arrow]") {
  Input in;
  Arena& ar = in.ar;
  in.open(ar.schema("+s", "", {ar.schema("u", "id"), ar.schema("u", "downloads")}),
          {ar.batch(1, {ar.strings({OptS("o/a")}), ar.strings({OptS("12")})})});
  RepoTable repos;
  RejectLog rj;
  try {
    read_repositories_arrow(&in.stream, "r", repos, rj);
    FAIL("a string downloads column was read");
  } catch (const arrow::ArrowBatchError& e) {
    CHECK(e.field() == "downloads");
    CHECK_THAT(e.what(), Catch::Contains("where an integer is required"));
  }
  CHECK(in.t.releases == 1);
  check_all_released_once(in.ar);
}

TEST_CASE("arrow attribution equals the same rows read from CSV", "[arrow]") {
  const std::string csv =
      "handle,organisation,country,region,org_type\n"
      "meta-llama,Meta,US,North America,company\n"
      "Qwen,Alibaba,CN,,company\n"
      ",Nobody,,,\n"
      "meta-llama,Other,,,\n";
  RepoTable unused;
  AttributionTable file_t, arrow_t;
  RejectLog file_rj, arrow_rj;
  auto src = memory_source("orgs.csv", csv.data(), csv.size());
  const ReadStats fs = read_attribution(*src, file_t, file_rj);

  Input in;
  Arena& ar = in.ar;
  ArrowSchema* org_schema = ar.schema("i", "Organisation", {}, ar.schema("u", nullptr));  // dictionary, CSV-style name
  in.open(ar.schema("+s", "", {ar.schema("u", "handle"), org_schema, ar.schema("U", "country"),
                               ar.schema("vu", "region"), ar.schema("u", "org_type")}),
          {ar.batch(4, {ar.strings({OptS("meta-llama"), OptS("Qwen"), OptS(""), OptS("meta-llama")}),
                        dictionary(ar, {OptS("Meta"), OptS("Alibaba"), OptS("Nobody"), OptS("Other")}, {0, 1, 2, 3}),
                        ar.strings<int64_t>({OptS("US"), OptS("CN"), std::nullopt, std::nullopt}),
                        ar.string_views({OptS("North America"), std::nullopt, std::nullopt, std::nullopt}),
                        ar.strings({OptS("company"), OptS("company"), std::nullopt, std::nullopt})})});
  const ReadStats as = read_attribution_arrow(&in.stream, "orgs", arrow_t, arrow_rj);

  CHECK(as.read == fs.read);
  CHECK(as.accepted == fs.accepted);
  CHECK(as.rejected == fs.rejected);
  CHECK(arrow_t.handles.strings() == file_t.handles.strings());
  CHECK(arrow_t.organisations.strings() == file_t.organisations.strings());
  CHECK(arrow_t.organisation == file_t.organisation);
  CHECK(arrow_t.country == file_t.country);
  CHECK(arrow_t.region == file_t.region);
  CHECK(arrow_t.org_type == file_t.org_type);
  CHECK(rejects_of(arrow_rj) == shifted(rejects_of(file_rj)));
  CHECK(in.t.releases == 1);
  check_all_released_once(in.ar);
}

TEST_CASE("arrow parameters equal the same rows read from CSV", "[arrow]") {
  const std::string csv =
      "model_id,total_params_b,active_params_b\n"
      "org/a,3.3,\n"
      "org/b,671,37\n"
      "org/c,0,\n"
      "org/a,1,\n"
      ",2,\n";
  ParameterTable file_t, arrow_t;
  RejectLog file_rj, arrow_rj;
  auto src = memory_source("params.csv", csv.data(), csv.size());
  const ReadStats fs = read_parameters(*src, file_t, file_rj);

  Input in;
  Arena& ar = in.ar;
  in.open(ar.schema("+s", "", {ar.schema("u", "model_id"), ar.schema("u", "total_params_b"), ar.schema("l", "active_params_b")}),
          {ar.batch(5, {ar.strings({OptS("org/a"), OptS("org/b"), OptS("org/c"), OptS("org/a"), OptS("")}),
                        ar.strings({OptS("3.3"), OptS("671"), OptS("0"), OptS("1"), OptS("2")}),
                        int64s(ar, {std::nullopt, 37, std::nullopt, std::nullopt, std::nullopt})})});
  const ReadStats as = read_parameters_arrow(&in.stream, "params", arrow_t, arrow_rj);

  CHECK(as.read == fs.read);
  CHECK(as.accepted == fs.accepted);
  CHECK(arrow_t.ids.strings() == file_t.ids.strings());
  CHECK(arrow_t.total == file_t.total);
  CHECK(arrow_t.active == file_t.active);
  CHECK(arrow_t.total == std::vector<uint64_t>{3300000000ull, 671000000000ull});
  CHECK(arrow_t.active == std::vector<uint64_t>{0, 37000000000ull});
  CHECK(rejects_of(arrow_rj) == shifted(rejects_of(file_rj)));
  CHECK(in.t.releases == 1);

  SECTION("billions as float64 (what pyarrow, pandas, Polars and DuckDB make of params.csv)") {
    Input w;
    Arena& a2 = w.ar;
    w.open(a2.schema("+s", "", {a2.schema("u", "model_id"), a2.schema("g", "total_params_b"), a2.schema("g", "active_params_b")}),
           {a2.batch(5, {a2.strings({OptS("org/a"), OptS("org/b"), OptS("org/c"), OptS("org/d"), OptS("org/e")}),
                         a2.primitive<double>({3.3, 671.0, 0.1, -2.0, 0.0}),
                         a2.primitive<double>({std::nullopt, 37.0, std::nullopt, std::nullopt, std::nullopt})})});
    ParameterTable t;
    RejectLog rj;
    read_parameters_arrow(&w.stream, "p", t, rj);
    CHECK(t.ids.strings() == std::vector<std::string>{"org/a", "org/b", "org/c"});
    CHECK(t.total == std::vector<uint64_t>{3300000000ull, 671000000000ull, 100000000ull});  // exact, not 3299999999
    CHECK(t.active == std::vector<uint64_t>{0, 37000000000ull, 0});
    CHECK(rj.total() == 2);  // the negative and the zero count, as from the CSV
  }

  SECTION("whole counts as integers, a null count is a reject") {
    Input w;
    Arena& a2 = w.ar;
    w.open(a2.schema("+s", "", {a2.schema("u", "id"), a2.schema("L", "parameters")}),
           {a2.batch(2, {a2.strings({OptS("x/1"), OptS("x/2")}), a2.primitive<uint64_t>({123, std::nullopt})})});
    ParameterTable t;
    RejectLog rj;
    read_parameters_arrow(&w.stream, "p", t, rj);
    CHECK(t.total == std::vector<uint64_t>{123});
    using R = std::tuple<uint64_t, std::string, std::string>;
    CHECK(rejects_of(rj) == std::vector<R>{{2, "parameters", arrow::kNullRequired}});
  }
}
