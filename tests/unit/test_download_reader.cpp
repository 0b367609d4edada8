// Download records: per-period and cumulative CSV, splitting, batching, rejects.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "ecostat/errors.hpp"
#include "ecostat/host/readers.hpp"

using namespace ecostat;
using namespace ecostat::host;

namespace {

using Event = std::tuple<std::string, std::string, uint64_t>;  // repo, month label, count

struct Collected {
  std::vector<Event> events;       // u32 events, then the batch's wide ones, batch by batch
  std::vector<size_t> batch_sizes;  // u32 events + wide events per batch
  size_t wide = 0;                  // wide events seen
  uint64_t sum = 0;
};

ReadStats read_text(const std::string& text, DownloadFormat fmt, RepoTable& repos, RejectLog& rj, Collected& out,
                    size_t capacity = 1024, const ReadOptions& options = {}, DownloadJob* job = nullptr,
                    const std::string& name = "dl.csv") {
  auto src = memory_source(name, text.data(), text.size());
  DownloadJob own;
  return read_downloads(*src, fmt, repos, rj, capacity, [&](const EventBatch& b) {
    REQUIRE(b.size() + b.wide.size() > 0);  // no empty batch is sent
    out.batch_sizes.push_back(b.size() + b.wide.size());
    for (const auto& w : b.wide) {
      CHECK(w.count > 0xffffffffull);  // a count that fits u32 travels in the columns
      CHECK(w.unit < b.unit_bound);
      CHECK(w.month >= b.month_min);
      CHECK(w.month <= b.month_max);
    }
    REQUIRE(b.unit.size() == b.month.size());
    REQUIRE(b.unit.size() == b.count.size());
    for (size_t i = 0; i < b.size(); ++i) {
      // The batch's bounds hold every event.
      CHECK(b.unit[i] < b.unit_bound);
      CHECK(b.month[i] >= b.month_min);
      CHECK(b.month[i] <= b.month_max);
      out.events.emplace_back(repos.ids.at(b.unit[i]), month_label(b.month[i]), b.count[i]);
      out.sum += b.count[i];
    }
    for (const auto& w : b.wide) {
      out.events.emplace_back(repos.ids.at(w.unit), month_label(w.month), w.count);
      out.sum += w.count;
      ++out.wide;
    }
  }, {}, options, job ? *job : own);
}

std::map<uint64_t, std::string> reasons_by_line(const RejectLog& rj) {
  std::map<uint64_t, std::string> m;
  for (const auto& r : rj.first()) m[r.line] = r.reason;
  return m;
}

}  // namespace

TEST_CASE("Per-period downloads: header synonyms, CRLF, quoted fields, extra columns", "[downloads]") {
  RepoTable repos;
  repos.ensure("known/model", false);
  repos.placeholder[0] = 0;  // as if it had a record
  RejectLog rj;
  Collected c;
  const std::string text =
      "Model_ID,note,Day,Count\r\n"
      "known/model,x,2024-01-05,10\r\n"
      "\"new/one\",\"a, b\",\"2024-03-31T23:59:59Z\",\"7\"\r\n"
      "\r\n"
      "known/model,,2024-03-01 00:00:00,0\r\n";
  const auto s = read_text(text, DownloadFormat::detect, repos, rj, c);
  CHECK(s.read == 3);
  CHECK(s.accepted == 3);
  CHECK(s.rejected == 0);
  CHECK(s.bytes == text.size());
  // A zero count is an accepted record that makes no event.
  CHECK(c.events == std::vector<Event>{{"known/model", "2024-01", 10}, {"new/one", "2024-03", 7}});
  const uint32_t u = repos.ids.find("new/one");
  REQUIRE(u != kNone);
  CHECK(repos.placeholder[u] == 1);
  CHECK(repos.in_downloads_only[u] == 1);
  CHECK(repos.authors.at(repos.author[u]) == "new");
  CHECK(repos.placeholder[0] == 0);
}

TEST_CASE("A count above 2^32-1 is one wide event, not 2^32 events", "[downloads]") {
  RepoTable repos;
  RejectLog rj;
  Collected c;
  const auto s = read_text("repo,date,downloads\na/b,2024-05-01,10000000000\nc/d,2024-06-01,4294967295\n",
                           DownloadFormat::per_period, repos, rj, c);
  CHECK(s.accepted == 2);
  CHECK(c.events == std::vector<Event>{{"c/d", "2024-06", 4294967295u}, {"a/b", "2024-05", 10000000000ull}});
  CHECK(c.wide == 1);
  CHECK(c.sum == 10000000000ull + 4294967295ull);

  // 2^64-1 (the largest count) is one entry too; a batch holding only wide events is still sent,
  // and wide events count towards the batch capacity.
  Collected big;
  RepoTable r2;
  read_text("repo,date,downloads\nx/y,2024-01-01,18446744073709551615\n", DownloadFormat::per_period, r2, rj, big, 2);
  CHECK(big.batch_sizes == std::vector<size_t>{1});
  CHECK(big.wide == 1);
  CHECK(big.sum == 18446744073709551615ull);
  Collected mixed;
  RepoTable r3;
  read_text("repo,date,downloads\nx/y,2024-01-01,5000000000\nx/y,2024-02-01,1\nx/y,2024-03-01,6000000000\n",
            DownloadFormat::per_period, r3, rj, mixed, 2);
  CHECK(mixed.batch_sizes == std::vector<size_t>{2, 1});
  CHECK(mixed.sum == 11000000001ull);
  CHECK(rj.total() == 0);
}

TEST_CASE("The total of accepted counts over every download file of a job must fit in 64 bits", "[downloads]") {
  RepoTable repos;
  RejectLog rj;
  DownloadJob job;
  Collected c;
  read_text("repo,date,downloads\na/x,2024-01-01,18446744073709551000\n", DownloadFormat::per_period, repos, rj, c,
            1024, {}, &job, "first.csv");
  CHECK(job.total() == 18446744073709551000ull);
  // 615 more reaches 2^64-1 exactly: fine. One more download in a second file would wrap.
  read_text("repo,date,downloads\nb/y,2024-01-02,615\n", DownloadFormat::per_period, repos, rj, c, 1024, {}, &job,
            "second.csv");
  CHECK(job.total() == 18446744073709551615ull);
  try {
    read_text("repo,date,downloads\nb/y,2024-01-03,0\nb/y,2024-01-04,1\n", DownloadFormat::per_period, repos, rj, c,
              1024, {}, &job, "third.csv");
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    CHECK(e.file() == "third.csv");
    CHECK(e.line() == 3);
    CHECK(e.field() == "downloads");
    CHECK(e.reason() == "download counts sum past 2^64-1: totals would not be exact");
  }
  // Cumulative files: the differences are what is summed.
  RepoTable r2;
  DownloadJob cj;
  Collected c2;
  CHECK_THROWS_WITH(read_text("repo,date,downloads_all_time\na/x,2024-01-01,18446744073709551615\n"
                              "b/x,2024-01-01,1\n",
                              DownloadFormat::detect, r2, rj, c2, 1024, {}, &cj),
                    Catch::Contains("download counts sum past 2^64-1"));
  CHECK(rj.total() == 0);
}

TEST_CASE("Batches are flushed at capacity and at the end", "[downloads]") {
  RepoTable repos;
  RejectLog rj;
  Collected c;
  read_text("repo,date,downloads\na/1,2024-01-01,1\na/2,2024-02-01,2\na/3,2024-03-01,3\na/4,2024-04-01,4\na/5,2024-05-01,5\n",
            DownloadFormat::per_period, repos, rj, c, 2);
  CHECK(c.batch_sizes == std::vector<size_t>{2, 2, 1});
  CHECK(c.sum == 15);
}

TEST_CASE("A batch reports its unit bound and month range", "[downloads]") {
  RepoTable repos;
  for (int i = 0; i < 5; ++i) repos.ensure("pre/" + std::to_string(i), false);
  RejectLog rj;
  EventBatch seen;
  const std::string text = "repo,date,downloads\npre/3,2023-11-02,1\npre/1,2021-02-02,1\n";
  auto src = memory_source("dl.csv", text.data(), text.size());
  read_downloads(*src, DownloadFormat::per_period, repos, rj, 100, [&](const EventBatch& b) { seen = b; });
  CHECK(seen.unit_bound == 4);
  CHECK(seen.month_min == month_of(2021, 2));
  CHECK(seen.month_max == month_of(2023, 11));
}

TEST_CASE("Cumulative snapshots are differenced per repo, anomalies are rejected", "[downloads]") {
  RepoTable repos;
  RejectLog rj;
  Collected c;
  const std::string text =
      "repo,date,downloads_all_time\n"
      "a/x,2024-01-10,100\n"   // 2: first snapshot: 100 in 2024-01
      "b/y,2024-01-20,5\n"     // 3: first for b: 5
      "a/x,2024-02-10,150\n"   // 4: +50 in 2024-02
      "a/x,2024-03-10,140\n"   // 5: decreasing: rejected, the baseline stays 150
      "b/y,2024-02-01,5\n"     // 6: +0: accepted, no event
      "a/x,2024-04-10,200\n"   // 7: +50 in 2024-04 (from 150)
      "a/x,2024-03-15,210\n"   // 8: out-of-order date: rejected
      "a/x,2024-04-10,220\n"   // 9: same date, another value: rejected
      "b/y,2024-03-05,12\n";   // 10: +7 in 2024-03
  const auto s = read_text(text, DownloadFormat::detect, repos, rj, c);
  CHECK(s.read == 9);
  CHECK(s.accepted == 6);
  CHECK(s.rejected == 3);
  CHECK(c.events == std::vector<Event>{{"a/x", "2024-01", 100},
                                       {"b/y", "2024-01", 5},
                                       {"a/x", "2024-02", 50},
                                       {"a/x", "2024-04", 50},
                                       {"b/y", "2024-03", 7}});
  const auto r = reasons_by_line(rj);
  CHECK_THAT(r.at(5), Catch::StartsWith("decreasing cumulative counter"));
  CHECK_THAT(r.at(8), Catch::StartsWith("out-of-order date"));
  CHECK_THAT(r.at(9), Catch::StartsWith("conflicting snapshot"));
  CHECK(rj.first()[0].field == "downloads_all_time");
  CHECK(rj.by_reason().size() == 3);
}

TEST_CASE("Format: detect from the header, or as the caller says", "[downloads]") {
  const std::string cumul_camel = "repo_id,timestamp,downloadsAllTime\na/x,2024-01-01,10\na/x,2024-02-01,15\n";
  const std::string plain = "repo,date,downloads\na/x,2024-01-01,10\na/x,2024-02-01,15\n";
  RejectLog rj;
  {
    RepoTable repos;
    Collected c;
    read_text(cumul_camel, DownloadFormat::detect, repos, rj, c);
    CHECK(c.sum == 15);
  }
  {
    RepoTable repos;
    Collected c;
    read_text(plain, DownloadFormat::detect, repos, rj, c);
    CHECK(c.sum == 25);
  }
  {
    RepoTable repos;
    Collected c;
    read_text(plain, DownloadFormat::cumulative, repos, rj, c);  // `downloads` declared cumulative
    CHECK(c.sum == 15);
  }
  {
    RepoTable repos;
    Collected c;
    CHECK_THROWS_AS(read_text(cumul_camel, DownloadFormat::per_period, repos, rj, c), InputError);
  }
  CHECK(rj.total() == 0);
}

TEST_CASE("A file without a header is read as repo,date,count", "[downloads]") {
  RepoTable repos;
  RejectLog rj;
  Collected c;
  const auto s = read_text("a/x,2024-01-01,3\na/x,2024-02-01,4\n", DownloadFormat::detect, repos, rj, c);
  CHECK(s.read == 2);
  CHECK(s.accepted == 2);
  CHECK(c.sum == 7);
}

TEST_CASE("Bad download records are rejected with field and reason, good ones around them count", "[downloads]") {
  RepoTable repos;
  RejectLog rj;
  Collected c;
  const std::string text =
      "repo,date,downloads\n"
      "a/x,2024-01-01,5\n"                       // 2 ok
      "a/x,2024-13-01,5\n"                       // 3 bad month
      "a/x,2024-02-30,5\n"                       // 4 no such day
      "a/x,1969-12-31,5\n"                       // 5 before the date window
      "a/x,9999-01-01,5\n"                       // 6 a valid date beyond the window (and the u16 months)
      "a/x,2024-01-01,12.0\n"                    // 7 ok: an integer written as a float
      "a/x,2024-01-01,12.5\n"                    // 8 not an integer
      "a/x,2024-01-01,1e3\n"                     // 9 not an integer
      "a/x,2024-01-01,abc\n"                     // 10 not a number
      "a/x,2024-01-01, 7 \n"                     // 11 ok: blanks around a number
      "a/x,2024-01-01,-0\n"                      // 12 ok: zero
      "a/x,2024-01-01,-4\n"                      // 13 negative
      "a/x,2024-01-01,18446744073709551616\n"    // 14 overflow
      "a/x,2024-01-01,\n"                        // 15 missing count
      " ,2024-01-01,1\n"                         // 16 empty repo
      "a/x,2024-01-01,1,extra\n"                 // 17 wrong column count
      "a/x,\"2024-01-01\"x,1\n";                 // 18 malformed quoting
  const auto s = read_text(text, DownloadFormat::per_period, repos, rj, c);
  CHECK(s.read == 17);
  CHECK(s.accepted == 4);
  CHECK(s.rejected == 13);
  CHECK(c.sum == 5 + 12 + 7);
  const auto r = reasons_by_line(rj);
  CHECK_THAT(r.at(3), Catch::StartsWith("unparseable date"));
  CHECK_THAT(r.at(4), Catch::StartsWith("unparseable date"));
  CHECK_THAT(r.at(5), Catch::StartsWith("date out of range"));
  CHECK_THAT(r.at(6), Catch::StartsWith("date out of range"));
  CHECK_THAT(r.at(8), Catch::StartsWith("bad count: not an integer"));
  CHECK_THAT(r.at(9), Catch::StartsWith("bad count: not an integer"));
  CHECK_THAT(r.at(10), Catch::StartsWith("bad count: not a number"));
  CHECK_THAT(r.at(13), Catch::StartsWith("bad count: negative"));
  CHECK_THAT(r.at(14), Catch::StartsWith("bad count: overflows 64 bits"));
  CHECK_THAT(r.at(15), Catch::StartsWith("missing count"));
  CHECK(r.at(16) == "empty repo id");
  CHECK_THAT(r.at(17), Catch::StartsWith("wrong column count"));
  CHECK_THAT(r.at(18), Catch::StartsWith("malformed CSV"));
  CHECK(repos.size() == 1);  // rejected records create no placeholder
  CHECK(rj.first()[0].field == "date");
}

TEST_CASE("Hostile downloads fixture: counts reconcile", "[downloads]") {
  // tests/fixtures/hostile_downloads.csv (written by tests/fixtures/make_hostile.py): 1 good record,
  // 7 bad single-line records, a blank line, then a quote that never closes and swallows the
  // last two lines into one unterminated record.
  auto src = open_source(std::string(ECOSTAT_FIXTURES) + "/hostile_downloads.csv");
  RepoTable repos;
  RejectLog rj;
  uint64_t sum = 0;
  const auto s = read_downloads(*src, DownloadFormat::detect, repos, rj, 16, [&](const EventBatch& b) {
    for (auto x : b.count) sum += x;
  });
  CHECK(s.read == 9);
  CHECK(s.accepted == 1);
  CHECK(s.rejected == 8);
  CHECK(s.accepted + s.rejected == s.read);
  CHECK(sum == 10);
  CHECK(rj.by_reason().at("malformed CSV") == 1);
  CHECK(reasons_by_line(rj).count(11) == 1);
}

TEST_CASE("Downloads: empty file, header only, missing columns, an over-long line", "[downloads]") {
  RepoTable repos;
  RejectLog rj;
  Collected c;
  auto s = read_text("", DownloadFormat::detect, repos, rj, c);
  CHECK((s.read == 0 && c.batch_sizes.empty()));
  s = read_text("repo,date,downloads\r\n", DownloadFormat::detect, repos, rj, c);
  CHECK((s.read == 0 && c.batch_sizes.empty()));
  try {
    read_text("name,date,value\nx,2024-01-01,1\n", DownloadFormat::detect, repos, rj, c);
    FAIL("no exception");
  } catch (const InputError& e) {
    CHECK(e.line() == 1);
    CHECK_THAT(e.reason(), Catch::Contains("repo"));
    CHECK_THAT(e.reason(), Catch::Contains("count"));
  }
  const std::string text = "repo,date,downloads\na/x,2024-01-01,1\n" + std::string(3u << 20, 'q') + "\na/x,2024-02-01,2\n";
  auto src = memory_source("dl.csv", text.data(), text.size());
  ReadOptions opt;
  opt.max_line = 1u << 20;
  uint64_t sum = 0;
  s = read_downloads(*src, DownloadFormat::detect, repos, rj, 8, [&](const EventBatch& b) {
    for (auto x : b.count) sum += x;
  }, {}, opt);
  CHECK(s.read == 3);
  CHECK(s.rejected == 1);
  CHECK(sum == 3);
}

TEST_CASE("Downloads: strict mode throws at the first bad record", "[downloads]") {
  RepoTable repos;
  RejectLog rj(true);
  Collected c;
  try {
    read_text("repo,date,downloads\na/x,2024-01-01,1\na/x,2024-01-01,-1\n", DownloadFormat::detect, repos, rj, c);
    FAIL("no exception");
  } catch (const InputError& e) {
    CHECK(e.file() == "dl.csv");
    CHECK(e.line() == 3);
    CHECK(e.field() == "downloads");
  }
}

TEST_CASE("Downloads: progress is reported, ending at the byte count", "[downloads]") {
  std::string text = "repo,date,downloads\n";
  for (int i = 0; i < 1000; ++i) text += "r/" + std::to_string(i % 10) + ",2024-01-01,1\n";
  RepoTable repos;
  RejectLog rj;
  auto src = memory_source("dl.csv", text.data(), text.size());
  ReadOptions opt;
  opt.progress_every = 1000;
  std::vector<uint64_t> calls;
  read_downloads(*src, DownloadFormat::detect, repos, rj, 64, [](const EventBatch&) {},
                 [&](uint64_t done, uint64_t total) {
                   CHECK(total == text.size());
                   calls.push_back(done);
                 },
                 opt);
  REQUIRE(calls.size() >= 10);
  CHECK(calls.back() == text.size());
  for (size_t i = 1; i < calls.size(); ++i) CHECK(calls[i] >= calls[i - 1]);
}

TEST_CASE("Download dates: a window of plausible dates, a strict time part", "[downloads]") {
  RepoTable repos;
  RejectLog rj;
  Collected c;
  const std::string text =
      "repo,date,downloads\n"
      "a/x,2024-01-05,1\n"                   // 2 ok
      "a/x,7000-12-31,1\n"                   // 3 outside the default window 2000..2040
      "a/x,8000-06-01,1\n"                   // 4 a valid date: out of range, not unparseable
      "a/x,1999-12-31,1\n"                   // 5 before the window
      "a/x,2024-01-05Tgarbage,1\n"           // 6 not a time
      "a/x,2024-01-06T10:11:12.5+02:00,1\n"  // 7 ok: a full ISO time with zone
      "a/x,2024-01-07 00:00:00,1\n"          // 8 ok: pandas' date-time
      "a/x,2024-01-08T25:00,1\n"             // 9 no hour 25
      "a/x,2024-01-09x,1\n"                  // 10 junk after the date
      "a/x,2040-12-31,1\n";                  // 11 ok: the window's last day
  const auto s = read_text(text, DownloadFormat::per_period, repos, rj, c);
  CHECK(s.read == 10);
  CHECK(s.accepted == 4);
  CHECK(s.rejected == 6);
  const auto r = reasons_by_line(rj);
  CHECK(r.at(3) == "date out of range: '7000-12-31' (outside 2000-01-01..2040-12-31)");
  CHECK_THAT(r.at(4), Catch::StartsWith("date out of range"));
  CHECK_THAT(r.at(5), Catch::StartsWith("date out of range"));
  CHECK_THAT(r.at(6), Catch::StartsWith("unparseable date"));
  CHECK_THAT(r.at(9), Catch::StartsWith("unparseable date"));
  CHECK_THAT(r.at(10), Catch::StartsWith("unparseable date"));
  // The month range is what the accepted dates span, whatever the outliers.
  std::set<std::string> months;
  for (const auto& e : c.events) months.insert(std::get<1>(e));
  CHECK(months == std::set<std::string>{"2024-01", "2040-12"});

  // A wider window, as --min-date/--max-date set it, accepts what lies inside it.
  ReadOptions wide;
  wide.min_day = parse_window_day("1970-01-01", "min date");
  wide.max_day = parse_window_day("7431-03-31", "max date");
  RepoTable r2;
  RejectLog rj2;
  Collected c2;
  const auto s2 = read_text("repo,date,downloads\na/x,1970-01-01,1\na/x,7000-12-31,2\na/x,7431-04-01,4\n",
                            DownloadFormat::per_period, r2, rj2, c2, 1024, wide);
  CHECK(s2.accepted == 2);
  CHECK(c2.sum == 3);
  CHECK_THAT(rj2.first().at(0).reason, Catch::StartsWith("date out of range"));
  CHECK_THROWS_AS(parse_window_day("7431-04-01", "max date"), UsageError);
  CHECK_THROWS_AS(parse_window_day("1969-12-31", "min date"), UsageError);
  CHECK_THROWS_AS(parse_window_day("2024-01-01T00:00", "min date"), UsageError);
}

TEST_CASE("Download repo ids: the repository reader's id rule, and valid UTF-8", "[downloads]") {
  RepoTable repos;
  RejectLog rj;
  Collected c;
  std::string text =
      "repo,date,downloads\n"
      "good/id,2024-01-01,1\n"          // 2 ok
      "\"bad,id\",2024-01-01,1\n"       // 3 a comma
      "\"bad\nid\",2024-01-01,1\n"      // 4 a line break (the quoted field spans lines 4-5)
      "bad\tid,2024-01-01,1\n"          // 6 a tab
      "bad\xff" "id,2024-01-01,1\n";    // 7 invalid UTF-8
  text += std::string("bad\0id,2024-01-01,1\n", 20);  // 8 a NUL byte
  text += "caf\xc3\xa9/mod\xc3\xa8le,2024-01-01,2\n";  // 9 ok: valid UTF-8
  const auto s = read_text(text, DownloadFormat::per_period, repos, rj, c);
  CHECK(s.read == 7);
  CHECK(s.accepted == 2);
  CHECK(s.rejected == 5);
  CHECK(s.accepted + s.rejected == s.read);
  CHECK(c.sum == 3);
  CHECK(repos.size() == 2);  // no placeholder for a rejected id
  const auto r = reasons_by_line(rj);
  for (uint64_t line : {3, 4, 6, 7, 8}) CHECK_THAT(r.at(line), Catch::StartsWith("invalid repo id"));
  CHECK_THAT(r.at(7), Catch::Contains("invalid UTF-8"));
  CHECK_THAT(r.at(7), Catch::Contains("bad\\xffid"));  // the message shows the byte, stays valid UTF-8
  CHECK_THAT(r.at(8), Catch::Contains("NUL"));
  CHECK(rj.first().at(0).field == "repo");
}

TEST_CASE("Duplicate download rows across the files of a job: counted and reported, or rejected", "[downloads]") {
  const std::string first = "repo,date,downloads\na/x,2024-01-01,5\na/x,2024-01-02,6\nb/y,2024-01-01,7\n";
  const std::string second = "repo,date,downloads\na/x,2024-01-02,6\nb/y,2023-03-01,1\nb/y,2024-01-01,9\n";
  SECTION("count: every row counts as today, the repeats are reported") {
    RepoTable repos;
    RejectLog rj;
    DownloadJob job;
    Collected c;
    const auto s1 = read_text(first, DownloadFormat::per_period, repos, rj, c, 1024, {}, &job);
    const auto s2 = read_text(second, DownloadFormat::per_period, repos, rj, c, 1024, {}, &job);
    CHECK(s1.accepted + s2.accepted == 6);
    CHECK(c.sum == 5 + 6 + 7 + 6 + 1 + 9);
    CHECK(job.duplicate_rows() == 2);  // a/x on 01-02 and b/y on 01-01, both in the second file
    CHECK(rj.total() == 0);
  }
  SECTION("reject: the later rows are rejects") {
    RepoTable repos;
    RejectLog rj;
    DownloadJob job;
    Collected c;
    ReadOptions opt;
    opt.duplicates = DuplicatePolicy::reject;
    read_text(first, DownloadFormat::per_period, repos, rj, c, 1024, opt, &job);
    const auto s2 = read_text(second, DownloadFormat::per_period, repos, rj, c, 1024, opt, &job);
    CHECK(s2.read == 3);
    CHECK(s2.accepted == 1);
    CHECK(s2.rejected == 2);
    CHECK(c.sum == 5 + 6 + 7 + 1);
    CHECK(job.duplicate_rows() == 0);
    CHECK(rj.by_reason().at("duplicate row") == 2);
    CHECK(reasons_by_line(rj).at(2) == "duplicate row: 'a/x' on 2024-01-02 was read before");
    // --strict stops at the first one.
    RejectLog strict(true);
    RepoTable r2;
    DownloadJob j2;
    Collected c2;
    read_text(first, DownloadFormat::per_period, r2, strict, c2, 1024, opt, &j2);
    CHECK_THROWS_AS(read_text(second, DownloadFormat::per_period, r2, strict, c2, 1024, opt, &j2), InputError);
  }
  SECTION("days far apart, in any order, one unit") {
    RepoTable repos;
    RejectLog rj;
    DownloadJob job;
    Collected c;
    std::string text = "repo,date,downloads\n";
    for (const char* d : {"2030-06-01", "2001-01-01", "2040-12-31", "2000-01-01", "2030-06-02", "2001-01-01",
                          "2040-12-31", "2000-01-01", "2030-06-01"})
      text += std::string("a/x,") + d + ",1\n";
    read_text(text, DownloadFormat::per_period, repos, rj, c, 1024, {}, &job);
    CHECK(job.duplicate_rows() == 4);
  }
}

// The pairs noted under the `count` policy are marked on the job's own thread, a buffer at a
// time (DownloadJob::note_day): however they are cut into buffers, the repeats counted and the
// days marked are those of marking every pair in order on one thread.
TEST_CASE("DownloadJob: pairs marked on its own thread, in buffers of any size, count every repeat", "[downloads]") {
  std::mt19937_64 rng(7);
  std::vector<std::pair<uint32_t, int32_t>> pairs;
  std::set<std::pair<uint32_t, int32_t>> distinct;
  for (int i = 0; i < 60000; ++i) {
    // Units 0-499 and now and then a few far past them, days within 200 and now and then far
    // apart (the bitmaps grow both ways): many pairs repeat.
    const uint32_t unit = i % 997 == 0 ? 70000 + uint32_t(rng() % 3) : uint32_t(rng() % 500);
    const int32_t day = i % 1301 == 0 ? 1000 + int32_t(rng() % 20000) : 18000 + int32_t(rng() % 200);
    pairs.emplace_back(unit, day);
    distinct.emplace(unit, day);
  }
  const uint64_t repeats = pairs.size() - distinct.size();
  REQUIRE(repeats > 1000);
  // (threads, pairs per buffer, marking threads): a buffer of 60,000 pairs is split among up to
  // 4 marking threads (at least 16Ki pairs each).
  for (auto [threads, pending_max, markers] :
       {std::tuple<unsigned, size_t, unsigned>{2, 3, 1}, {2, 1000, 1}, {2, size_t{1} << 14, 1},
        {2, DownloadJob::kPendingMax, 1}, {1, 1000, 1}, {1, DownloadJob::kPendingMax, 1},
        {2, DownloadJob::kPendingMax, 3}, {2, DownloadJob::kPendingMax, 8}, {1, DownloadJob::kPendingMax, 2},
        {2, 40000, 4}}) {
    INFO("threads " << threads << ", pairs per buffer " << pending_max << ", marking threads " << markers);
    DownloadJob job(threads, pending_max, markers);
    for (const auto& [unit, day] : pairs) job.note_day(unit, day);
    job.settle();
    CHECK(job.duplicate_rows() == repeats);
    std::set<std::pair<uint32_t, int32_t>> marked;
    job.visit_marks([&](uint32_t unit, int32_t first_word, const uint64_t* words, size_t n) {
      for (size_t w = 0; w < n; ++w)
        for (int b = 0; b < 64; ++b)
          if (words[w] >> b & 1) marked.emplace(unit, (first_word + int32_t(w)) * 64 + b);
    });
    CHECK(marked == distinct);
    // An answer per row after pairs were noted knows all of them.
    CHECK(job.seen_before(pairs.back().first, pairs.back().second));
    CHECK_FALSE(job.seen_before(499, 999));
    // More pairs after a settle go on from there.
    job.note_day(pairs.front().first, pairs.front().second);
    job.settle();
    CHECK(job.duplicate_rows() == repeats + 1);
  }
}

TEST_CASE("Cumulative duplicates: the same snapshot twice is a duplicate, another value an anomaly", "[downloads]") {
  const std::string text =
      "repo,date,downloads_all_time\n"
      "a/x,2024-01-10,100\n"   // 2
      "a/x,2024-01-10,100\n"   // 3 the same snapshot again: harmless, contributes 0
      "a/x,2024-01-10,120\n"   // 4 the same date, another value: rejected
      "a/x,2024-02-10,150\n";  // 5 +50
  RepoTable repos;
  RejectLog rj;
  DownloadJob job;
  Collected c;
  const auto s = read_text(text, DownloadFormat::detect, repos, rj, c, 1024, {}, &job);
  CHECK(s.accepted == 3);
  CHECK(s.rejected == 1);
  CHECK(c.sum == 150);
  CHECK(job.duplicate_rows() == 1);
  CHECK_THAT(reasons_by_line(rj).at(4), Catch::StartsWith("conflicting snapshot"));
  ReadOptions opt;
  opt.duplicates = DuplicatePolicy::reject;
  RepoTable r2;
  RejectLog rj2;
  Collected c2;
  const auto s2 = read_text(text, DownloadFormat::detect, r2, rj2, c2, 1024, opt);
  CHECK(s2.accepted == 2);
  CHECK(s2.rejected == 2);
  CHECK(c2.sum == 150);
  CHECK_THAT(reasons_by_line(rj2).at(3), Catch::StartsWith("duplicate row"));
}
