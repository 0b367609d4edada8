// Conformance: concentration (whole population and segmented) against the oracle: exact
// integers, ratios after finalize() to 1e-12 relative. Every backend runs these.
#include <random>

#include "conformance/backend_under_test.hpp"
#include "ecostat/engine.hpp"
#include "ecostat/session.hpp"

using namespace ecostat;
using namespace ecostat::conformance;

namespace {

ConcentrationSpec full_spec() {
  ConcentrationSpec s;
  s.top_k = {1, 10, 100, 200, 1000};
  s.top_pct = {0.01, 0.1, 1.0, 10.0, 50.0, 100.0};
  s.percentiles = {0.0, 0.5, 25.0, 50.0, 90.0, 99.0, 100.0};  // (n-1) q / 100 exact in long double
  s.below = {0, 1, 200, 1000};
  s.lorenz_points = 101;
  return s;
}

enum class Dist { counts, heavy, uniform, zeros, equal, huge };
const char* dist_name(Dist d) {
  switch (d) {
    case Dist::counts: return "event counts per unit (skewed keys)";
    case Dist::heavy: return "heavy tail";
    case Dist::uniform: return "uniform 0..999";
    case Dist::zeros: return "all zero";
    case Dist::equal: return "all equal";
    default: return "huge (sum > 2^64)";
  }
}

std::vector<uint64_t> make_values(size_t n, Dist d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> U(0.0, 1.0);
  std::vector<uint64_t> v(n, 0);
  switch (d) {
    case Dist::counts:  // downloads-like: many units at zero, a few very large
      for (uint32_t k : skewed_keys(8 * n, static_cast<uint32_t>(std::max<size_t>(n, 1)), seed))
        if (n) ++v[k];
      break;
    case Dist::heavy:
      for (auto& x : v) {
        double r = U(rng);
        x = static_cast<uint64_t>(1e9 * r * r * r * r * r * r * r * r);
      }
      break;
    case Dist::uniform:
      for (auto& x : v) x = rng() % 1000;
      break;
    case Dist::zeros: break;
    case Dist::equal:
      for (auto& x : v) x = 4242;
      break;
    case Dist::huge: {
      // Values near 2^bits with n * 2^(2 bits) < 2^127: S exceeds 2^64 while the u128 sum of
      // squares stays exact.
      unsigned lg = 0;
      while ((size_t(1) << lg) < n) ++lg;
      const unsigned bits = (127 - lg) / 2;
      for (auto& x : v) x = (uint64_t(1) << (bits - 1)) + (rng() >> (65 - bits));
      if (n) v[0] = bits == 64 ? UINT64_MAX : (uint64_t(1) << bits) - 1;
      break;
    }
  }
  return v;
}

}  // namespace

TEST_CASE("concentration: sizes around warp and block edges, every distribution", "[conformance]") {
  const ConcentrationSpec spec = full_spec();
  const size_t sizes[] = {0, 1, 31, 32, 33, 63, 64, 65, 1000, 1u << 20};
  for (size_t n : sizes) {
    for (Dist d : {Dist::counts, Dist::heavy, Dist::uniform, Dist::zeros, Dist::equal, Dist::huge}) {
      if (n == (1u << 20) && (d == Dist::zeros || d == Dist::equal)) continue;  // nothing new at that size
      INFO("n = " << n << ", " << dist_name(d));
      const auto values = make_values(n, d, n * 13 + static_cast<int>(d));
      const auto raws = backend().concentration(values, {}, 1, spec);
      REQUIRE(raws.size() == 1);
      check_concentration(raws[0], oracle::concentration(values, spec, n <= 2000), spec);
    }
  }
}

TEST_CASE("concentration: Lorenz with fewer values than points, custom specs", "[conformance]") {
  for (uint32_t K : {2u, 3u, 7u, 101u}) {
    for (size_t n : {0, 1, 2, 5, 6, 7, 100}) {
      ConcentrationSpec spec;
      spec.lorenz_points = K;
      spec.top_k = {1, 2, 3, 1000000};
      spec.top_pct = {1.0, 33.0, 100.0};
      spec.percentiles = {50.0};
      spec.below = {};
      INFO("K = " << K << ", n = " << n);
      const auto values = make_values(n, Dist::heavy, n + K);
      const auto raws = backend().concentration(values, {}, 1, spec);
      REQUIRE(raws.size() == 1);
      check_concentration(raws[0], oracle::concentration(values, spec, true), spec);
    }
  }
}

TEST_CASE("concentration: segmented, with empty segments", "[conformance]") {
  const ConcentrationSpec spec = full_spec();
  struct Case {
    size_t n;
    uint32_t segments;
    const char* what;
  };
  const Case cases[] = {
      {0, 3, "no values, three empty segments"},
      {1000, 9, "nine segments, two empty"},
      {50000, 3000, "many small segments, many empty"},
      {1u << 20, 3, "large segments (70% / 30% / empty)"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const auto values = make_values(c.n, Dist::counts, c.n + 99);
    std::vector<uint32_t> seg(c.n);
    std::mt19937_64 rng(c.n);
    for (size_t i = 0; i < c.n; ++i) {
      static const uint32_t nine[] = {0, 1, 2, 3, 5, 6, 7};  // 4 and 8 stay empty
      if (c.segments == 3)
        seg[i] = (rng() % 10) < 7 ? 0 : 1;
      else if (c.segments == 9)
        seg[i] = nine[rng() % 7];
      else
        seg[i] = static_cast<uint32_t>((rng() % (c.segments / 2)) * 2);  // even segments only
    }
    const auto raws = backend().concentration(values, seg, c.segments, spec);
    const auto want = oracle::concentration_segmented(values, seg, c.segments, spec);
    REQUIRE(raws.size() == want.size());
    for (uint32_t s = 0; s < c.segments; ++s) {
      INFO("segment " << s);
      check_concentration(raws[s], want[s], spec);
    }
  }
}

TEST_CASE("concentration: one segment through segment_of equals the unsegmented call", "[conformance]") {
  const ConcentrationSpec spec = full_spec();
  const auto values = make_values(4097, Dist::heavy, 77);
  const auto a = backend().concentration(values, {}, 1, spec);
  const auto b = backend().concentration(values, std::vector<uint32_t>(values.size(), 0), 1, spec);
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  CHECK(a[0] == b[0]);
}

// The engine's own path: a GPU backend computes the model concentration over download records
// where the unit totals are, at the accumulator's finish (EventTotals::unit_concentration); with
// an event above 2^32-1 (added to the totals after finish) the Backend is asked instead. Either
// way the figures are the CPU backend's, units without downloads (zeros) included.
TEST_CASE("concentration: the engine's model concentration over download records equals the CPU backend's",
          "[conformance]") {
  for (bool wide : {false, true}) {
    INFO((wide ? "with an event above 2^32-1" : "u32 counts"));
    auto run = [&](const std::string& name) {
      EngineOptions o;
      o.backend = name;
      o.threads = 2;
      o.concentration = full_spec();
      o.study.parts.clear();
      Session s(o, Session::Ends::finish_only);
      for (uint32_t i = 0; i < 3000; ++i) s.repositories().ensure("org" + std::to_string(i % 37) + "/m" + std::to_string(i), true);
      const std::vector<uint32_t> units = skewed_keys(60000, 2500, 17);
      std::mt19937_64 rng(17);
      EventBatch b;
      for (uint32_t u : units) b.push(u, Month(600 + rng() % 12), 1 + static_cast<uint32_t>(rng() % 100));
      if (wide) b.push_wide(5, 603, uint64_t(1) << 40);
      s.add_downloads(b);
      return s.finish();
    };
    const Results got = run(backend_name()), want = run("cpu");
    // How the accumulator fitted its memory reaches the results: a device one, in one pass.
    CHECK(got.accumulator.device == (backend_name() != "cpu"));
    CHECK_FALSE(want.accumulator.device);
    if (got.accumulator.device) {
      CHECK(got.accumulator.finish_passes == 1);
      CHECK_FALSE(got.accumulator.partitioned);
      CHECK(got.accumulator.chunk_events > 0);
    }
    const ConcentrationStats& g = got.concentration.at("model");
    const ConcentrationStats& w = want.concentration.at("model");
    CHECK(g.n == 3000);
    CHECK(g.n == w.n);
    CHECK((g.total == w.total));
    CHECK(g.gini == w.gini);
    CHECK(g.hhi == w.hhi);
    CHECK(g.top_k == w.top_k);
    CHECK(g.percentiles == w.percentiles);
    CHECK(g.lorenz == w.lorenz);
    REQUIRE(g.below.size() == w.below.size());
    for (size_t i = 0; i < g.below.size(); ++i) CHECK(g.below[i].count == w.below[i].count);
  }
}
