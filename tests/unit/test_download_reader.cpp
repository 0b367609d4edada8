// Download records: per-period and cumulative CSV, splitting, batching, rejects.
#include <catch2/catch.hpp>

#include <map>
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
  std::vector<Event> events;
  std::vector<size_t> batch_sizes;
  uint64_t sum = 0;
};

ReadStats read_text(const std::string& text, DownloadFormat fmt, RepoTable& repos, RejectLog& rj, Collected& out,
                    size_t capacity = 1024) {
  auto src = memory_source("dl.csv", text.data(), text.size());
  return read_downloads(*src, fmt, repos, rj, capacity, [&](const EventBatch& b) {
    out.batch_sizes.push_back(b.size());
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
  });
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

TEST_CASE("Counts above 2^32-1 are split into events whose sum is exact", "[downloads]") {
  RepoTable repos;
  RejectLog rj;
  Collected c;
  // 10^10 = 2 * 4294967295 + 1410065410; 18446744073709551615 = (2^32+1) * 4294967295.
  const auto s = read_text("repo,date,downloads\na/b,2024-05-01,10000000000\nc/d,2024-06-01,4294967295\n",
                           DownloadFormat::per_period, repos, rj, c);
  CHECK(s.accepted == 2);
  CHECK(c.events == std::vector<Event>{{"a/b", "2024-05", 4294967295u},
                                       {"a/b", "2024-05", 4294967295u},
                                       {"a/b", "2024-05", 1410065410u},
                                       {"c/d", "2024-06", 4294967295u}});
  CHECK(c.sum == 10000000000ull + 4294967295ull);

  // 3 * (2^32 - 1) + 5: three full events and a remainder, in batches of two.
  Collected big;
  RepoTable r2;
  read_text("repo,date,downloads\nx/y,2024-01-01,12884901890\n", DownloadFormat::per_period, r2, rj, big, 2);
  CHECK(big.batch_sizes == std::vector<size_t>{2, 2});
  CHECK(big.events.size() == 4);
  CHECK(std::get<2>(big.events.back()) == 5);
  CHECK(big.sum == 12884901890ull);
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

TEST_CASE("Cumulative snapshots are differenced per repo; anomalies are rejected", "[downloads]") {
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
      "a/x,2024-04-10,220\n"   // 9: duplicate date: rejected
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
  CHECK_THAT(r.at(9), Catch::StartsWith("duplicate date"));
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

TEST_CASE("Bad download records are rejected with field and reason; good ones around them count", "[downloads]") {
  RepoTable repos;
  RejectLog rj;
  Collected c;
  const std::string text =
      "repo,date,downloads\n"
      "a/x,2024-01-01,5\n"                       // 2 ok
      "a/x,2024-13-01,5\n"                       // 3 bad month
      "a/x,2024-02-30,5\n"                       // 4 no such day
      "a/x,1969-12-31,5\n"                       // 5 before 1970: not representable
      "a/x,9999-01-01,5\n"                       // 6 beyond the u16 month range
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
  CHECK_THAT(r.at(5), Catch::StartsWith("unparseable date"));
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
