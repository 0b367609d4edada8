// Concentration: spec validation, the plan of ranks, finalize() and u128 helpers, against
// answers computed by hand.
#include <catch2/catch.hpp>

#include <cmath>

#include "ecostat/concentration.hpp"
#include "ecostat/errors.hpp"

using namespace ecostat;

namespace {

// x = {0, 0, 1, 2, 7}; sorted the same; n = 5, S = 10.
//   sum i x_(i) = 3*1 + 4*2 + 5*7 = 46
//   Gini = 2*46 / (5*10) - 6/5 = 1.84 - 1.2 = 0.64
//   (mean absolute difference: sum over ordered pairs |x_i - x_j| = 2 * (0+1+1+2+2+7+7+1+6+5) = 64,
//    64 / (2 * 5^2 * 2) = 0.64, the same)
//   HHI = (0 + 0 + 1 + 4 + 49) / 100 = 0.54
//   top 1 = 7/10, top 2 = 9/10, top 10 -> k = 5 -> 1.0
//   top 1% -> k = ceil(0.05) = 1 -> 0.7; top 10% -> ceil(0.5) = 1 -> 0.7; top 50% -> ceil(2.5) = 3 -> 1.0
//   percentiles, h = 4 q / 100: q=0 h=0 -> 0; q=25 h=1 -> 0; q=50 h=2 -> 1;
//     q=90 h=3.6 -> 2 + 0.6 * (7 - 2) = 5; q=99 h=3.96 -> 2 + 0.96 * 5 = 6.8; q=100 -> 7
//   below 0 -> 0 (0.0), below 1 -> 2 (0.4), below 2 -> 3 (0.6), below 200 -> 5 (1.0)
//   Lorenz, K = 6: c_j = j -> (0,0) (0.2,0) (0.4,0) (0.6,0.1) (0.8,0.3) (1,1)
ConcentrationSpec hand_spec() {
  ConcentrationSpec s;
  s.top_k = {1, 2, 10};
  s.top_pct = {1.0, 10.0, 50.0};
  s.percentiles = {0.0, 25.0, 50.0, 90.0, 99.0, 100.0};
  s.below = {0, 1, 2, 200};
  s.lorenz_points = 6;
  return s;
}

ConcentrationRaw hand_raw() {
  ConcentrationRaw r;
  r.n = 5;
  r.total = 10;
  r.rank_weighted = 46;
  r.sum_squares = 54;
  r.top_sums = {7, 9, 10, 7, 7, 10};
  r.percentile_values = {0, 0, 0, 1, 1, 2, 2, 7, 2, 7, 7, 7};
  r.below_counts = {0, 2, 3, 5};
  r.lorenz_sums = {0, 0, 0, 1, 3, 10};
  return r;
}

}  // namespace

TEST_CASE("concentration plan for x = {0,0,1,2,7}", "[concentration]") {
  const ConcentrationPlan p = ConcentrationPlan::make(5, hand_spec());
  CHECK(p.n == 5);
  CHECK(p.top_counts == std::vector<uint64_t>{1, 2, 5, 1, 1, 3});
  CHECK(p.percentile_ranks == std::vector<uint64_t>{0, 1, 1, 2, 2, 3, 3, 4, 3, 4, 4, 4});
  CHECK(p.lorenz_counts == std::vector<uint64_t>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("finalize on x = {0,0,1,2,7}", "[concentration]") {
  const ConcentrationStats s = finalize(hand_raw(), hand_spec());
  CHECK(s.n == 5);
  CHECK(s.gini == Approx(0.64).epsilon(1e-15));
  CHECK(s.hhi == Approx(0.54).epsilon(1e-15));
  REQUIRE(s.top_k.size() == 3);
  CHECK(s.top_k[0].first == 1);
  CHECK(s.top_k[0].second == Approx(0.7).epsilon(1e-15));
  CHECK(s.top_k[1].second == Approx(0.9).epsilon(1e-15));
  CHECK(s.top_k[2].first == 10);
  CHECK(s.top_k[2].second == 1.0);
  REQUIRE(s.top_pct.size() == 3);
  CHECK(s.top_pct[0].second == Approx(0.7).epsilon(1e-15));
  CHECK(s.top_pct[1].second == Approx(0.7).epsilon(1e-15));
  CHECK(s.top_pct[2].second == 1.0);
  REQUIRE(s.percentiles.size() == 6);
  CHECK(s.percentiles[0].second == 0.0);
  CHECK(s.percentiles[1].second == 0.0);
  CHECK(s.percentiles[2].second == 1.0);
  CHECK(s.percentiles[3].second == Approx(5.0).epsilon(1e-15));
  CHECK(s.percentiles[4].second == Approx(6.8).epsilon(1e-15));
  CHECK(s.percentiles[5].second == 7.0);
  REQUIRE(s.below.size() == 4);
  CHECK(s.below[1].count == 2);
  CHECK(s.below[1].fraction == Approx(0.4).epsilon(1e-15));
  CHECK(s.below[3].fraction == 1.0);
  CHECK(s.below[0].fraction == 0.0);
  REQUIRE(s.lorenz.size() == 6);
  const double lx[] = {0, 0.2, 0.4, 0.6, 0.8, 1}, ly[] = {0, 0, 0, 0.1, 0.3, 1};
  for (int j = 0; j < 6; ++j) {
    CHECK(s.lorenz[j].first == Approx(lx[j]).epsilon(1e-15));
    CHECK(s.lorenz[j].second == Approx(ly[j]).epsilon(1e-15));
  }
}

TEST_CASE("top-p% counts are exact: ceil(p n / 100), at least 1", "[concentration]") {
  ConcentrationSpec s;
  s.top_k = {};
  s.top_pct = {1.0, 0.1, 0.01, 10.0, 100.0, 1e-7, 0.3, 7.0};
  const auto p100 = ConcentrationPlan::make(100, s).top_counts;
  CHECK(p100 == std::vector<uint64_t>{1, 1, 1, 10, 100, 1, 1, 7});
  const auto p1000 = ConcentrationPlan::make(1000, s).top_counts;
  CHECK(p1000 == std::vector<uint64_t>{10, 1, 1, 100, 1000, 1, 3, 70});
  const auto p21 = ConcentrationPlan::make(2100000, s).top_counts;  // 0.01% of 2.1M = 210 exactly
  CHECK(p21 == std::vector<uint64_t>{21000, 2100, 210, 210000, 2100000, 1, 6300, 147000});
  const auto p0 = ConcentrationPlan::make(0, s).top_counts;
  CHECK(p0 == std::vector<uint64_t>(8, 0));
  // 0.3% of 1001 = 3.003 -> 4; 7% of 1001 = 70.07 -> 71
  const auto p1001 = ConcentrationPlan::make(1001, s).top_counts;
  CHECK(p1001[6] == 4);
  CHECK(p1001[7] == 71);
}

TEST_CASE("percentile ranks and Lorenz counts at the edges", "[concentration]") {
  ConcentrationSpec s;
  s.percentiles = {0.0, 50.0, 100.0, 90.0};
  s.lorenz_points = 3;
  auto p1 = ConcentrationPlan::make(1, s);
  CHECK(p1.percentile_ranks == std::vector<uint64_t>{0, 0, 0, 0, 0, 0, 0, 0});
  CHECK(p1.lorenz_counts == std::vector<uint64_t>{0, 1, 1});  // round(0.5) = 1 (halves up)
  auto p11 = ConcentrationPlan::make(11, s);                  // (n-1) * 0.9 = 9 exactly
  CHECK(p11.percentile_ranks == std::vector<uint64_t>{0, 1, 5, 6, 10, 10, 9, 10});
  CHECK(p11.lorenz_counts == std::vector<uint64_t>{0, 6, 11});  // 5.5 -> 6
  auto p0 = ConcentrationPlan::make(0, s);
  CHECK(p0.percentile_ranks.empty());
  CHECK(p0.lorenz_counts == std::vector<uint64_t>{0, 0, 0});
}

TEST_CASE("finalize: n = 0, all zeros, n = 1", "[concentration]") {
  ConcentrationSpec s;
  s.top_k = {1, 5};
  s.top_pct = {10.0};
  s.percentiles = {50.0};
  s.below = {1};
  s.lorenz_points = 5;
  SECTION("n = 0") {
    ConcentrationRaw r;
    r.top_sums = {0, 0, 0};
    r.below_counts = {0};
    r.lorenz_sums = {0, 0, 0, 0, 0};
    const auto st = finalize(r, s);
    CHECK(st.gini == 0.0);
    CHECK(st.hhi == 0.0);
    CHECK(st.top_k[0].second == 0.0);
    CHECK(std::isnan(st.percentiles[0].second));
    CHECK(st.below[0].fraction == 0.0);
    for (int j = 0; j < 5; ++j) {  // the diagonal
      CHECK(st.lorenz[j].first == j / 4.0);
      CHECK(st.lorenz[j].second == j / 4.0);
    }
  }
  SECTION("three zeros") {
    ConcentrationRaw r;
    r.n = 3;
    r.top_sums = {0, 0, 0};
    r.percentile_values = {0, 0};
    r.below_counts = {3};
    r.lorenz_sums = {0, 0, 0, 0, 0};
    const auto st = finalize(r, s);
    CHECK(st.gini == 0.0);
    CHECK(st.hhi == 0.0);
    CHECK(st.top_pct[0].second == 0.0);
    CHECK(st.percentiles[0].second == 0.0);
    CHECK(st.below[0].fraction == 1.0);
    // counts round(j * 3 / 4) = 0, 1 (0.75), 2 (1.5), 2 (2.25), 3: the diagonal at c / n
    CHECK(st.lorenz[1].first == Approx(1.0 / 3).epsilon(1e-15));
    CHECK(st.lorenz[1].second == st.lorenz[1].first);
    CHECK(st.lorenz[4].second == 1.0);
  }
  SECTION("n = 1: Gini 0, HHI 1") {
    ConcentrationRaw r;
    r.n = 1;
    r.total = 42;
    r.rank_weighted = 42;
    r.sum_squares = 42 * 42;
    r.top_sums = {42, 42, 42};
    r.percentile_values = {42, 42};
    r.below_counts = {0};
    r.lorenz_sums = {0, 0, 42, 42, 42};  // counts 0, 0 (0.25), 1 (0.5 up), 1, 1
    CHECK(ConcentrationPlan::make(1, s).lorenz_counts == std::vector<uint64_t>{0, 0, 1, 1, 1});
    const auto st = finalize(r, s);
    CHECK(st.gini == 0.0);
    CHECK(st.hhi == 1.0);
    CHECK(st.percentiles[0].second == 42.0);
  }
  SECTION("a result that does not match the plan is an error") {
    ConcentrationRaw r;
    r.n = 3;
    CHECK_THROWS_AS(finalize(r, s), Error);
  }
}

TEST_CASE("Gini stays exact when values are huge", "[concentration]") {
  // x = {2^62, 3 * 2^62}: S = 2^64, sum i x_(i) = 2^62 + 6 * 2^62 = 7 * 2^62,
  // G = 2 * 7 * 2^62 / (2 * 2^64) - 3/2 = 7/4 - 3/2 = 0.25.
  ConcentrationSpec s;
  s.top_k = {};
  s.top_pct = {};
  s.percentiles = {};
  s.below = {};
  s.lorenz_points = 2;
  ConcentrationRaw r;
  r.n = 2;
  r.total = u128(1) << 64;
  r.rank_weighted = u128(7) << 62;
  r.sum_squares = (u128(10)) << 124;
  r.lorenz_sums = {0, r.total};
  const auto st = finalize(r, s);
  CHECK(st.gini == 0.25);
  CHECK(st.hhi == 0.625);  // (1 + 9) / 16
}

TEST_CASE("percentile with a non-integer position between two ranks", "[concentration]") {
  // n = 1001, q = 33.3: h = 1000 * 33.3 / 100 = 333 exactly (taken to 9 decimals).
  ConcentrationSpec s;
  s.percentiles = {33.3, 12.345678901};
  const auto p = ConcentrationPlan::make(1001, s);
  CHECK(p.percentile_ranks[0] == 333);
  CHECK(p.percentile_ranks[1] == 334);
  CHECK(p.percentile_ranks[2] == 123);  // h = 123.45678901
  CHECK(p.percentile_ranks[3] == 124);
}

TEST_CASE("spec validation", "[concentration]") {
  auto bad = [](auto edit) {
    ConcentrationSpec s;
    edit(s);
    return s;
  };
  CHECK_NOTHROW(ConcentrationSpec{}.validate());
  CHECK_THROWS_AS(bad([](ConcentrationSpec& s) { s.top_k = {0}; }).validate(), UsageError);
  CHECK_THROWS_AS(bad([](ConcentrationSpec& s) { s.top_pct = {0.0}; }).validate(), UsageError);
  CHECK_THROWS_AS(bad([](ConcentrationSpec& s) { s.top_pct = {100.5}; }).validate(), UsageError);
  CHECK_THROWS_AS(bad([](ConcentrationSpec& s) { s.top_pct = {NAN}; }).validate(), UsageError);
  CHECK_THROWS_AS(bad([](ConcentrationSpec& s) { s.percentiles = {-1.0}; }).validate(), UsageError);
  CHECK_THROWS_AS(bad([](ConcentrationSpec& s) { s.percentiles = {101.0}; }).validate(), UsageError);
  CHECK_THROWS_AS(bad([](ConcentrationSpec& s) { s.percentiles = {INFINITY}; }).validate(), UsageError);
  CHECK_THROWS_AS(bad([](ConcentrationSpec& s) { s.lorenz_points = 1; }).validate(), UsageError);
  CHECK_NOTHROW(bad([](ConcentrationSpec& s) { s.lorenz_points = 2; }).validate());
  CHECK_NOTHROW(bad([](ConcentrationSpec& s) { s.percentiles = {0.0, 100.0}; }).validate());
}

TEST_CASE("u128 helpers", "[concentration]") {
  CHECK(to_string(u128(0)) == "0");
  CHECK(to_string(u128(12345)) == "12345");
  CHECK(to_string(u128(1) << 64) == "18446744073709551616");
  CHECK(to_string(~u128(0)) == "340282366920938463463374607431768211455");
  CHECK(to_double(u128(1) << 64) == 18446744073709551616.0);
  CHECK(to_double(u128(0)) == 0.0);
  CHECK(to_double((u128(1) << 100) + 1) == std::ldexp(1.0, 100));
}

TEST_CASE("ConcentrationRaw equality compares every field", "[concentration]") {
  ConcentrationRaw a = hand_raw(), b = hand_raw();
  CHECK(a == b);
  b.lorenz_sums[3] = 2;
  CHECK_FALSE(a == b);
  b = hand_raw();
  b.rank_weighted += 1;
  CHECK_FALSE(a == b);
}
