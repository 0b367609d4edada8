// Checks a month table a backend returned for a map that asked top rows (GroupMap::top_rows)
// against the whole table: either the whole table itself, or top rows that hold, for every
// month, its total, its count of nonzero groups, and every group that can rank in its top k
// (every sum at or above the k-th largest, ties included) and `always` when nonzero, each with
// its exact sum, in group order.
#pragma once
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <vector>

#include "ecostat/backend.hpp"

namespace ecostat::test {

inline void check_top_rows(const GroupMonthTable& got, const GroupMonthTable& whole, uint32_t k, uint32_t always) {
  REQUIRE(got.n_groups == whole.n_groups);
  REQUIRE(got.n_months == whole.n_months);
  if (whole.n_months) CHECK(got.month_first == whole.month_first);
  if (!got.top_only) {
    CHECK(got.sums == whole.sums);
    return;
  }
  CHECK(got.sums.empty());
  REQUIRE(got.row_begin.size() == size_t(got.n_months) + 1);
  REQUIRE(got.month_total.size() == got.n_months);
  REQUIRE(got.month_nonzero.size() == got.n_months);
  REQUIRE(got.row_group.size() == got.row_begin.back());
  REQUIRE(got.row_sum.size() == got.row_group.size());
  const uint32_t G = whole.n_groups;
  for (uint32_t mi = 0; mi < got.n_months; ++mi) {
    INFO("month " << mi);
    const uint64_t* row = whole.sums.data() + size_t(mi) * G;
    uint64_t total = 0;
    std::vector<uint64_t> nonzero;
    for (uint32_t g = 0; g < G; ++g) {
      total += row[g];
      if (row[g]) nonzero.push_back(row[g]);
    }
    CHECK(got.month_total[mi] == total);
    CHECK(got.month_nonzero[mi] == nonzero.size());
    std::sort(nonzero.begin(), nonzero.end(), std::greater<uint64_t>());
    const uint64_t kth = nonzero.empty() ? 0 : nonzero[std::min<size_t>(k, nonzero.size()) - 1];
    std::vector<uint32_t> listed;
    for (uint64_t j = got.row_begin[mi]; j < got.row_begin[mi + 1]; ++j) {
      const uint32_t g = got.row_group[j];
      REQUIRE(g < G);
      CHECK(got.row_sum[j] == row[g]);
      CHECK(got.row_sum[j] != 0);
      if (!listed.empty()) CHECK(listed.back() < g);
      listed.push_back(g);
    }
    for (uint32_t g = 0; g < G; ++g) {
      const bool must = row[g] != 0 && (row[g] >= kth || g == always);
      if (must) {
        INFO("group " << g << " with " << row[g] << " (the k-th largest: " << kth << ")");
        CHECK(std::binary_search(listed.begin(), listed.end(), g));
      }
    }
  }
}

}  // namespace ecostat::test
