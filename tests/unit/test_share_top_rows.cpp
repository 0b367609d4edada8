// The month share table from top rows (GroupMonthTable::top_only, what the GPU backends return
// for a map that asks GroupMap::top_rows) equals the one from the whole table, for any valid
// candidate set: the tightest (every sum at or above the k-th largest) and a looser one (a lower
// threshold, as the device's bit-length bins give), with and without key ranks, with the
// unknown group inside and outside the top. Too few candidates is an error, not a short table.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "ecostat/errors.hpp"
#include "group_maps.hpp"
#include "share_tables.hpp"

using namespace ecostat;
using namespace ecostat::detail;

namespace {

// The top rows of `whole` for top k: per month, every sum >= threshold(kth) and `always`.
GroupMonthTable top_rows_of(const GroupMonthTable& whole, uint32_t k, uint32_t always,
                            const std::function<uint64_t(uint64_t kth)>& threshold) {
  GroupMonthTable t;
  t.n_groups = whole.n_groups;
  t.month_first = whole.month_first;
  t.n_months = whole.n_months;
  t.top_only = true;
  t.row_begin.push_back(0);
  for (uint32_t mi = 0; mi < whole.n_months; ++mi) {
    const uint64_t* row = whole.sums.data() + size_t(mi) * whole.n_groups;
    std::vector<uint64_t> nonzero;
    uint64_t total = 0;
    for (uint32_t g = 0; g < whole.n_groups; ++g) {
      total += row[g];
      if (row[g]) nonzero.push_back(row[g]);
    }
    std::sort(nonzero.begin(), nonzero.end(), std::greater<uint64_t>());
    const uint64_t kth = nonzero.size() <= k ? 1 : nonzero[k - 1];
    const uint64_t thr = std::max<uint64_t>(1, threshold(kth));
    for (uint32_t g = 0; g < whole.n_groups; ++g)
      if (row[g] != 0 && (row[g] >= thr || g == always)) t.row_group.push_back(g), t.row_sum.push_back(row[g]);
    t.row_begin.push_back(t.row_group.size());
    t.month_total.push_back(total);
    t.month_nonzero.push_back(nonzero.size());
  }
  return t;
}

void same_table(const ShareMonthTable& a, const ShareMonthTable& b) {
  CHECK(a.month_totals == b.month_totals);
  CHECK(a.truncated == b.truncated);
  REQUIRE(a.rows.size() == b.rows.size());
  for (size_t i = 0; i < a.rows.size(); ++i) {
    INFO("row " << i);
    CHECK(a.rows[i].key == b.rows[i].key);
    CHECK(a.rows[i].month == b.rows[i].month);
    CHECK(a.rows[i].downloads == b.rows[i].downloads);
    CHECK(a.rows[i].share == b.rows[i].share);
  }
}

}  // namespace

TEST_CASE("share month table: top rows give the table the whole month table gives", "[share]") {
  const uint32_t G = 400, months = 7, unknown = 399;
  std::vector<std::string> names(G);
  for (uint32_t g = 0; g < G; ++g) names[g] = "org-" + std::to_string((g * 7919) % 1000);  // key order != id order
  names[unknown] = "unknown";
  Dictionary dict;
  for (const std::string& name : names) dict.intern(name);
  REQUIRE(dict.size() == G);
  const GroupKeys keys(&dict, unknown);
  std::vector<uint8_t> exists(G, 1);
  GroupMonthTable whole;
  whole.n_groups = G;
  whole.month_first = 600;
  whole.n_months = months;
  whole.sums = Cells(size_t(G) * months);
  std::mt19937_64 rng(3);
  for (uint32_t mi = 0; mi < months; ++mi)
    for (uint32_t g = 0; g < G; ++g) {
      const uint64_t r = rng() % 100;
      // Mostly zeros and small ties; a skewed head; month 3 empty; the unknown large in month 1 only.
      uint64_t v = r < 50 ? 0 : r < 90 ? 1 + r % 3 : (rng() % 5000) * (g % 10 + 1);
      if (mi == 3) v = 0;
      if (g == unknown) v = mi == 1 ? 1000000 : mi % 2;
      whole.sums[size_t(mi) * G + g] = v;
    }
  ThreadPool pool(2);
  const KeyRanks ranks = key_ranks(keys, G, &pool);
  for (uint32_t limit : {1u, 3u, 10u, 150u, 1000u}) {
    for (const KeyRanks* rank : {static_cast<const KeyRanks*>(nullptr), &ranks}) {
      INFO("limit " << limit << (rank ? ", key ranks" : ", keys compared"));
      const ShareMonthTable want = make_share_month_table("organisation", keys, exists, whole, limit, rank, &pool);
      const GroupMonthTable tight = top_rows_of(whole, limit, unknown, [](uint64_t kth) { return kth; });
      const GroupMonthTable loose = top_rows_of(whole, limit, unknown, [](uint64_t kth) { return kth / 3; });
      same_table(make_share_month_table("organisation", keys, exists, tight, limit, rank, &pool), want);
      same_table(make_share_month_table("organisation", keys, exists, loose, limit, rank, nullptr), want);
    }
  }
  SECTION("fewer candidates than the limit is an error") {
    GroupMonthTable short_top = top_rows_of(whole, 10, kNone, [](uint64_t kth) { return kth; });
    short_top.row_group.erase(short_top.row_group.begin() + short_top.row_begin[1] - 1);  // month 0 loses one
    short_top.row_sum.erase(short_top.row_sum.begin() + short_top.row_begin[1] - 1);
    for (size_t mi = 1; mi < short_top.row_begin.size(); ++mi) --short_top.row_begin[mi];
    CHECK_THROWS_WITH(make_share_month_table("organisation", keys, exists, short_top, 10, nullptr, &pool),
                      Catch::Contains("fewer than the limit"));
    CHECK_THROWS_AS(make_share_month_table("organisation", keys, exists, short_top, 0, nullptr, &pool), Error);
  }
}
