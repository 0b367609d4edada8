// The study's small definitions against hand-computed answers: medians, weighted medians and
// means, lifetimes of series (incl. the real KBLab series), year-over-year factors, tag
// patterns, windows, calendar helpers and parameter validation.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "ecostat/engine.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/study.hpp"

using namespace ecostat;

TEST_CASE("study: median is numpy's", "[study]") {
  CHECK(std::isnan(study::median({})));
  CHECK(study::median({3}) == 3);
  CHECK(study::median({5, 1}) == 3);
  CHECK(study::median({9, 1, 5}) == 5);
  CHECK(study::median({4, 1, 3, 2}) == 2.5);
  const Summary s = study::summarise({1, 2, 6});
  CHECK(s.n == 3);
  CHECK(s.mean == 3);
  CHECK(s.median == 2);
}

TEST_CASE("study: the weighted median by selection equals the walk over a sort", "[study]") {
  // The definition, as it was computed before: sort by (value, weight), walk to half the total.
  auto by_sort = [](std::vector<std::pair<uint64_t, uint64_t>> vw) {
    unsigned __int128 total = 0, cum = 0;
    for (const auto& x : vw) total += x.second;
    if (total == 0) return std::nan("");
    std::sort(vw.begin(), vw.end());
    for (const auto& [v, w] : vw) {
      cum += w;
      if (w > 0 && 2 * cum >= total) return static_cast<double>(v);
    }
    return std::nan("");
  };
  uint64_t x = 0x9E3779B97F4A7C15ull;
  auto next = [&] { return x ^= x << 13, x ^= x >> 7, x ^= x << 17; };
  for (int round = 0; round < 3000; ++round) {
    std::vector<std::pair<uint64_t, uint64_t>> vw(next() % 60);
    const uint64_t values = 1 + next() % 12, heavy = next() % 3;  // many ties; zero, small, huge weights
    for (auto& p : vw) {
      p.first = next() % values;
      const uint64_t r = next();
      p.second = r % 4 == 0 ? 0 : heavy == 2 ? r >> 2 : r % 5;
    }
    const double want = by_sort(vw), got = study::weighted_median(vw);
    INFO("round " << round);
    if (std::isnan(want)) CHECK(std::isnan(got));
    else CHECK(got == want);
  }
}

TEST_CASE("study: lower weighted median and exact weighted mean", "[study]") {
  // values 0.5B (w 30), 2B (w 230), 150B (w 10): W = 270, half 135, cumulative 30, 260 -> 2B
  CHECK(study::weighted_median({{150000000000ull, 10}, {500000000ull, 30}, {2000000000ull, 230}}) == 2e9);
  // exactly half reached by the first value: 2 * cum >= W -> the first value
  CHECK(study::weighted_median({{1, 5}, {9, 5}}) == 1);
  CHECK(study::weighted_median({{1, 4}, {9, 5}}) == 9);
  CHECK(study::weighted_median({{7, 0}, {3, 2}}) == 3);  // zero weights never chosen
  CHECK(std::isnan(study::weighted_median({{7, 0}})));
  CHECK(std::isnan(study::weighted_median({})));
  // (230 * 2e9 + 10 * 150e9 + 30 * 0.5e9) / 270 = 1975e9 / 270
  CHECK(study::weighted_mean({{2000000000ull, 230}, {150000000000ull, 10}, {500000000ull, 30}}) ==
        Approx(1975e9 / 270).epsilon(1e-15));
  // exact numerator beyond 2^64: 1e12 * 4e9 + 1 * 1
  const double wm = study::weighted_mean({{1000000000000ull, 4000000000ull}, {1, 1}});
  CHECK(wm == Approx((4e21 + 1) / 4000000001.0).epsilon(1e-15));
  CHECK(std::isnan(study::weighted_mean({{5, 0}})));
}

TEST_CASE("study: lifetime of a series", "[study]") {
  SECTION("peak, months above, the run holding the peak, decay") {
    const std::vector<uint64_t> v{10, 100, 40, 60, 20, 0, 0};
    const SeriesLifetime s = lifetime_of_series(v.data(), v.size(), 0.5);
    CHECK(s.peak == 100);
    CHECK(s.peak_index == 1);
    CHECK(s.active_months == 5);
    CHECK(s.months_above == 2);  // 100, 60
    CHECK(s.span_months == 1);
    CHECK_FALSE(s.censored);
    CHECK(s.decay_months == 1);  // month 2 (40) is the first below 50
  }
  SECTION("exactly f * peak counts as at or above, a run reaching the end is censored") {
    const std::vector<uint64_t> v{0, 4, 8, 4, 4};
    const SeriesLifetime s = lifetime_of_series(v.data(), v.size(), 0.5);
    CHECK(s.peak == 8);
    CHECK(s.months_above == 4);
    CHECK(s.span_months == 4);
    CHECK(s.censored);
  }
  SECTION("ties: the first month at the peak, f = 1") {
    const std::vector<uint64_t> v{3, 7, 7, 1};
    const SeriesLifetime s = lifetime_of_series(v.data(), v.size(), 1.0);
    CHECK(s.peak_index == 1);
    CHECK(s.months_above == 2);
    CHECK(s.span_months == 2);
    CHECK(s.decay_months == 2);
  }
  SECTION("no downloads") {
    const std::vector<uint64_t> v{0, 0};
    const SeriesLifetime s = lifetime_of_series(v.data(), v.size(), 0.5);
    CHECK(s.peak == 0);
    CHECK(s.months_above == 0);
    CHECK(lifetime_of_series(nullptr, 0, 0.5).peak == 0);
  }
}

namespace {
// The real KBLab series of tests/fixtures/study/kblab_models_subset.csv, one value per month
// from the first reading's month to 2026-08, months without a reading 0.
std::map<std::string, std::vector<uint64_t>> kblab_series() {
  std::ifstream f(std::string(ECOSTAT_FIXTURES) + "/study/kblab_models_subset.csv");
  REQUIRE(f);
  std::string line;
  std::getline(f, line);
  REQUIRE(line == "model_url,downloads,organization,model_name,date");
  std::map<std::string, std::map<int, uint64_t>> by_month;
  while (std::getline(f, line)) {
    std::vector<std::string> c;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) c.push_back(cell);
    REQUIRE(c.size() == 5);
    const int month = std::stoi(c[4].substr(0, 4)) * 12 + std::stoi(c[4].substr(5, 2)) - 1;
    by_month[c[2] + "/" + c[3]][month] += std::stoull(c[1]);
  }
  std::map<std::string, std::vector<uint64_t>> out;
  const int end = 2026 * 12 + 7;
  for (const auto& [id, months] : by_month)
    for (int m = months.begin()->first; m <= end; ++m) out[id].push_back(months.count(m) ? months.at(m) : 0);
  return out;
}
}  // namespace

TEST_CASE("study: lifetime of the real KBLab series", "[study][kblab]") {
  const auto series = kblab_series();
  REQUIRE(series.size() == 3);
  struct Want { uint32_t months, peak_index, above, span, decay, active; uint64_t peak; };
  // Worked out independently in Python (tests/fixtures/study/README.md).
  const std::map<std::string, Want> want{
      {"KBLab/kb-whisper-large", {19, 7, 5, 2, 1, 19, 32855}},                 // peak 2025-09
      {"KBLab/kb-whisper-small", {19, 2, 1, 1, 1, 19, 28958}},                 // peak 2025-04
      {"KBLab/wav2vec2-base-voxpopuli-sv-swedish", {54, 36, 5, 2, 1, 52, 131}}  // peak 2025-03
  };
  for (const auto& [id, w] : want) {
    INFO(id);
    const auto& v = series.at(id);
    REQUIRE(v.size() == w.months);
    const SeriesLifetime s = lifetime_of_series(v.data(), v.size(), 0.5);
    CHECK(s.peak == w.peak);
    CHECK(s.peak_index == w.peak_index);
    CHECK(s.months_above == w.above);
    CHECK(s.span_months == w.span);
    CHECK_FALSE(s.censored);
    CHECK(s.decay_months == w.decay);
    CHECK(s.active_months == w.active);
  }
}

TEST_CASE("study: year-over-year factors, a first year from zero is new", "[study]") {
  Yoy y = yoy_factor(0, 5);
  CHECK(y.is_new);
  CHECK_FALSE(y.defined);
  y = yoy_factor(0, 0);
  CHECK_FALSE(y.is_new);
  CHECK_FALSE(y.defined);
  y = yoy_factor(4, 6);
  CHECK(y.defined);
  CHECK(y.factor == 1.5);
  CHECK(yoy_factor(3, 0).factor == 0.0);
}

TEST_CASE("study: tag patterns and categories", "[study]") {
  CHECK(study::tag_matches("lerobot", "LeRobot"));
  CHECK(study::tag_matches("task_categories:*", "task_categories:robotics"));
  CHECK_FALSE(study::tag_matches("robotics", "robotics-extra"));
  CHECK_FALSE(study::tag_matches("task_categories:*", "task_categories"));
  const TagCategory c = parse_tag_category("robots=task_categories:robotics|lerobot*");
  CHECK(c.name == "robots");
  CHECK(c.patterns == std::vector<std::string>{"task_categories:robotics", "lerobot*"});
  CHECK_THROWS_AS(parse_tag_category("robots"), UsageError);
  CHECK_THROWS_AS(parse_tag_category("=a"), UsageError);
  CHECK_THROWS_AS(parse_tag_category("r=a||b"), UsageError);
}

TEST_CASE("study: calendar helpers and windows", "[study]") {
  for (int32_t d : {-1, 0, 59, 365, 11016, 19782, 20000, 24000}) {
    int y;
    unsigned m, dd;
    civil_from_days(d, &y, &m, &dd);
    CHECK(days_from_civil(y, m, dd) == d);
  }
  CHECK(day_label(days_from_civil(2024, 2, 29)) == "2024-02-29");
  CHECK(day_label(kNoDay).empty());
  CHECK(last_day_of_month(month_of(2024, 2)) == days_from_civil(2024, 2, 29));
  CHECK(last_day_of_month(month_of(2023, 12)) == days_from_civil(2023, 12, 31));
  auto w = parse_day_window("2023:2024-05");
  CHECK(w.first == days_from_civil(2023, 1, 1));
  CHECK(w.second == days_from_civil(2024, 5, 31));
  w = parse_day_window(":2024-02-10");
  CHECK(w.first == kNoDay);
  CHECK(w.second == days_from_civil(2024, 2, 10));
  CHECK(parse_day_window("").first == kNoDay);
  for (const char* bad : {"2024", "2024-13:", "x:y", "2024-02-30:", "2025:2024", "1:2:3"})
    CHECK_THROWS_AS(parse_day_window(bad), UsageError);
}

TEST_CASE("study: parameters are validated", "[study]") {
  auto bad = [](auto mutate) {
    JobSpec j;
    mutate(j);
    return j;
  };
  CHECK_NOTHROW(JobSpec().validate());
  CHECK_THROWS_AS(bad([](JobSpec& j) { j.study.parts = {"size", "weather"}; }).validate(), UsageError);
  CHECK_THROWS_AS(bad([](JobSpec& j) { j.study.adoption_top = 0; }).validate(), UsageError);
  CHECK_THROWS_AS(bad([](JobSpec& j) { j.study.adoption_ratio = "1-9B"; }).validate(), UsageError);
  CHECK_THROWS_AS(bad([](JobSpec& j) { j.study.adoption_ratio = "1-9B/huge"; }).validate(), UsageError);
  CHECK_THROWS_AS(bad([](JobSpec& j) { j.study.adoption_ages = {90, 30}; }).validate(), UsageError);
  CHECK_THROWS_AS(bad([](JobSpec& j) { j.study.lifetime_fraction = 0; }).validate(), UsageError);
  CHECK_THROWS_AS(bad([](JobSpec& j) { j.study.lifetime_fraction = 1.5; }).validate(), UsageError);
  CHECK_THROWS_AS(bad([](JobSpec& j) { j.study.lifetime_window = "soon"; }).validate(), UsageError);
  CHECK_THROWS_AS(bad([](JobSpec& j) { j.study.lifetime_kinds = {"widget"}; }).validate(), UsageError);
  CHECK_THROWS_AS(bad([](JobSpec& j) { j.study.growth_groups = {"model"}; }).validate(), UsageError);
  CHECK_THROWS_AS(bad([](JobSpec& j) { j.study.year_groups = {"planet"}; }).validate(), UsageError);
  CHECK_THROWS_AS(bad([](JobSpec& j) { j.study.tag_categories = {{"a", {"x"}}, {"a", {"y"}}}; }).validate(), UsageError);
  CHECK_THROWS_AS(bad([](JobSpec& j) { j.params_prefer = "newest"; }).validate(), UsageError);
  // with other size buckets the default ratio's classes must exist
  CHECK_THROWS_AS(bad([](JobSpec& j) { j.size_bucket_edges = {7000000000ull}; }).validate(), UsageError);
  CHECK_NOTHROW(bad([](JobSpec& j) {
                  j.size_bucket_edges = {7000000000ull};
                  j.study.adoption_ratio = "<7B/>=7B";
                }).validate());
  CHECK_NOTHROW(bad([](JobSpec& j) {
                  j.size_bucket_edges = {7000000000ull};
                  j.study.parts = {"size"};
                }).validate());
}
