// Share lists are ordered by downloads descending, then key in byte order, whatever the limit:
// large tables break ties on precomputed key ranks (16-byte prefixes, then the strings), small
// ones compare the keys; both must give the order a plain sort gives.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "ecostat/session.hpp"

using namespace ecostat;

namespace {

// Keys that tie on 16-byte prefixes, differ past them, are shorter than 16 bytes, or are a
// prefix of another key; downloads from a few values, so most rows tie.
std::vector<std::string> tricky_keys(size_t n) {
  std::vector<std::string> keys;
  for (size_t i = 0; keys.size() < n; ++i) {
    switch (i % 5) {
      case 0: keys.push_back("org/a-very-long-shared-prefix-" + std::to_string(i)); break;
      case 1: keys.push_back("org/a-very-long-shared-prefix-" + std::to_string(i / 7) + "x" + std::to_string(i)); break;
      case 2: keys.push_back("o/" + std::to_string(i)); break;
      case 3: keys.push_back("org/a-very-long-" + std::to_string(i)); break;
      default: keys.push_back("Z/" + std::to_string(i % 97) + "-" + std::to_string(i)); break;
    }
  }
  return keys;
}

struct Expected {
  std::string key;
  uint64_t downloads;
};

std::vector<Expected> plain_sort(std::vector<Expected> rows) {
  std::sort(rows.begin(), rows.end(), [](const Expected& a, const Expected& b) {
    return std::tie(b.downloads, a.key) < std::tie(a.downloads, b.key);
  });
  return rows;
}

}  // namespace

TEST_CASE("share order: ties broken by key for every limit and table size", "[engine][share]") {
  // Under and over the size where key ranks are used, and past the size where they are sorted
  // in parts on the threads (3 parts at 70,000: an odd one merged in a second round).
  const size_t n = GENERATE(300, 9000, 70000);
  const unsigned threads = GENERATE(1u, 3u);  // the tables and a month table's months are built on the job's threads
  const std::vector<std::string> keys = tricky_keys(n);
  const Month m1 = month_of(2024, 1), m2 = month_of(2024, 2);
  auto count_of = [](size_t i, Month m) { return uint32_t(1 + (i * 7 + m) % 3); };
  for (size_t limit : {size_t(0), size_t(50), size_t(5000)}) {
    EngineOptions options;
    options.backend = "cpu";
    options.threads = threads;
    options.share_groups = {"model"};
    options.month_groups = {"model"};
    options.share_limit = limit;
    options.study.parts.clear();
    Session session(options);
    std::vector<Expected> total, month1;
    EventBatch batch;
    for (size_t i = 0; i < n; ++i) {
      const uint32_t u = session.repositories().ensure(keys[i], true);
      batch.push(u, m1, count_of(i, m1));
      batch.push(u, m2, count_of(i, m2));
      total.push_back({keys[i], uint64_t(count_of(i, m1)) + count_of(i, m2)});
      month1.push_back({keys[i], count_of(i, m1)});
    }
    session.add_downloads(batch);
    const Results r = session.finish();
    INFO("models " << n << ", limit " << limit << ", threads " << threads);
    const std::vector<Expected> want = plain_sort(total), want_m1 = plain_sort(month1);
    const size_t keep = limit == 0 ? n : std::min(limit, n);
    REQUIRE(r.share.size() == 1);
    REQUIRE(r.share[0].rows.size() == keep);
    for (size_t i = 0; i < keep; ++i) {
      INFO("row " << i);
      REQUIRE(r.share[0].rows[i].key == want[i].key);
      REQUIRE(r.share[0].rows[i].downloads == want[i].downloads);
    }
    REQUIRE(r.share_month.size() == 1);
    const auto& rows = r.share_month[0].rows;
    REQUIRE(rows.size() == 2 * keep);
    for (size_t i = 0; i < keep; ++i) {  // the first month's rows come first
      INFO("month row " << i);
      REQUIRE(rows[i].month == m1);
      REQUIRE(rows[i].key == want_m1[i].key);
      REQUIRE(rows[i].downloads == want_m1[i].downloads);
    }
  }
}

// Rows view their table's key text (each listed key once), and a copied table keeps its keys
// alive after the Results it came from is gone (ASan, in CI's sanitizer run, sees a dangling view).
TEST_CASE("share rows: keys stored once per table and valid in a copied table", "[engine][share]") {
  EngineOptions options;
  options.backend = "cpu";
  options.share_groups = {"model"};
  options.month_groups = {"model"};
  options.share_limit = 2;
  options.study.parts.clear();
  const std::vector<std::string> keys = tricky_keys(6);
  ShareTable share;
  ShareMonthTable share_month;
  {
    Session session(options);
    EventBatch batch;
    for (size_t i = 0; i < keys.size(); ++i) {
      const uint32_t u = session.repositories().ensure(keys[i], true);
      for (Month m = month_of(2024, 1); m <= month_of(2024, 3); ++m) batch.push(u, m, uint32_t(10 + i));
    }
    session.add_downloads(batch);
    Results r = session.finish();
    share = r.share.at(0);
    share_month = r.share_month.at(0);
  }  // r and the session are gone
  // Top 2 by downloads: keys[5] (15 a month), then keys[4]; in each of the 3 months too.
  REQUIRE(share.rows.size() == 2);
  CHECK(share.rows[0].key == keys[5]);
  CHECK(share.rows[1].key == keys[4]);
  REQUIRE(share.key_text);
  CHECK(*share.key_text == keys[4] + keys[5]);  // each listed key once, in group (unit) order
  REQUIRE(share_month.rows.size() == 6);
  for (size_t i = 0; i < 6; ++i) CHECK(share_month.rows[i].key == keys[5 - i % 2]);
  REQUIRE(share_month.key_text);
  CHECK(share_month.key_text->size() == keys[5].size() + keys[4].size());  // not once per month
}
