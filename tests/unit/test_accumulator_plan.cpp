// The accumulator plan (AccumulatorPlan, Session::Ends): without month tables the CPU backend
// keeps unit totals only, with the same totals, month range, event count and bound checks as the
// unit x month accumulator; month tables asked anyway are refused, and a finish-only session
// keeps the full table whenever its options ask for a month table.
#include <catch2/catch.hpp>

#include <random>

#include "ecostat/backend.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/session.hpp"

using namespace ecostat;

namespace {

// Batches of random events over `units` units and months 600..647, some batches naming more units.
std::vector<EventBatch> random_batches(uint32_t units, size_t batches, size_t per_batch, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<EventBatch> out;
  for (size_t k = 0; k < batches; ++k) {
    EventBatch b;
    const uint32_t bound = units * uint32_t(k + 1) / uint32_t(batches);
    for (size_t i = 0; i < per_batch; ++i) {
      // Skewed: a few hot units (the popular models) and a long tail.
      const uint32_t u = (rng() % 4 == 0) ? rng() % 16 % bound : rng() % bound;
      b.push(u, Month(600 + rng() % 48), rng() % 1000);
    }
    out.push_back(std::move(b));
  }
  return out;
}

AccumulatorPlan totals_only() {
  AccumulatorPlan p;
  p.month_tables = false;
  return p;
}

}  // namespace

TEST_CASE("accumulator plan: unit totals alone equal the unit x month accumulator's", "[cpu][plan]") {
  const uint32_t units = 50000;
  // Small batches take the one-thread path; batches of 2^17 events the threaded one.
  for (size_t per_batch : {size_t(1000), size_t(1) << 17}) {
    const auto batches = random_batches(units, 4, per_batch, uint32_t(per_batch));
    for (unsigned threads : {1u, 2u, 7u}) {
      INFO(threads << " threads, batches of " << per_batch);
      auto backend = make_cpu_backend(threads);
      auto full = backend->make_accumulator();
      auto totals = backend->make_accumulator(totals_only());
      for (const auto& b : batches) {
        full->add(b);
        totals->add(b);
      }
      const EventTotals want = full->finish(units + 3, {});
      const EventTotals got = totals->finish(units + 3, {});
      CHECK(got.unit_total == want.unit_total);
      CHECK(got.events == want.events);
      CHECK(got.month_first == want.month_first);
      CHECK(got.n_months == want.n_months);
      uint64_t sum = 0;
      for (uint64_t v : got.unit_total) sum += v;
      CHECK(sum > 0);
    }
  }
}

TEST_CASE("accumulator plan: totals-only refuses month tables and keeps the bound checks", "[cpu][plan]") {
  auto backend = make_cpu_backend(2);
  auto acc = backend->make_accumulator(totals_only());
  EventBatch b;
  b.push(3, 600, 5);
  acc->add(b);
  CHECK_THROWS_AS(acc->finish(4, {GroupMap{"model", {}, 4}}), UsageError);

  auto empty = backend->make_accumulator(totals_only());
  const EventTotals none = empty->finish(2, {});
  CHECK(none.unit_total == std::vector<uint64_t>{0, 0});
  CHECK(none.n_months == 0);
  CHECK(none.events == 0);

  auto bad = backend->make_accumulator(totals_only());
  EventBatch out_of_bounds;
  out_of_bounds.push(1, 600, 1);
  out_of_bounds.unit_bound = 1;  // names unit 1
  CHECK_THROWS_WITH(bad->add(out_of_bounds), Catch::Contains("lies outside its batch's bounds"));

  auto past = backend->make_accumulator(totals_only());
  EventBatch far;
  far.push(9, 600, 1);
  past->add(far);
  CHECK_THROWS_WITH(past->finish(5, {}), Catch::Contains("events name unit 9"));

  // The stream ends at finish(), as for the month-table accumulators.
  auto ended = backend->make_accumulator(totals_only());
  ended->add(b);
  CHECK(ended->finish(4, {}).unit_total == std::vector<uint64_t>{0, 0, 0, 5});
  CHECK_THROWS_WITH(ended->finish(4, {}), Catch::Contains("finish() called twice"));
  CHECK_THROWS_WITH(ended->add(b), Catch::Contains("add() after finish()"));
}

TEST_CASE("accumulator plan: a finish-only session without month tables gives the same results", "[cpu][plan]") {
  EngineOptions o;
  o.backend = "cpu";
  o.threads = 2;
  o.share_groups = {"model"};
  o.month_groups = {};
  o.study.parts.clear();
  auto run = [&](Session::Ends ends) {
    Session s(o, ends);
    EventBatch b;
    for (uint32_t i = 0; i < 40; ++i) {
      const uint32_t u = s.repositories().ensure("org/m" + std::to_string(i % 13), true);
      b.push(u, Month(600 + i % 5), 10 + i);
    }
    s.add_downloads(b);
    return s.finish();
  };
  const Results a = run(Session::Ends::finish_or_partial), b = run(Session::Ends::finish_only);
  REQUIRE(a.share.size() == 1);
  REQUIRE(b.share.size() == 1);
  REQUIRE(a.share[0].rows.size() == 13);
  REQUIRE(b.share[0].rows.size() == 13);
  for (size_t i = 0; i < 13; ++i) {
    CHECK(a.share[0].rows[i].key == b.share[0].rows[i].key);
    CHECK(a.share[0].rows[i].downloads == b.share[0].rows[i].downloads);
  }
  CHECK(a.input.events == b.input.events);
  CHECK(b.share_month.empty());

  Session partial_refused(o, Session::Ends::finish_only);
  CHECK_THROWS_AS(partial_refused.to_partial(), UsageError);

  // Month tables asked: a finish-only session keeps the unit x month table and fills them.
  o.month_groups = {"model"};
  Session with_months(o, Session::Ends::finish_only);
  EventBatch m;
  m.push(with_months.repositories().ensure("org/x", true), 600, 7);
  with_months.add_downloads(m);
  const Results r = with_months.finish();
  REQUIRE(r.share_month.size() == 1);
  REQUIRE(r.share_month[0].rows.size() == 1);
  CHECK(r.share_month[0].rows[0].downloads == 7);
}

namespace {

// A map of `covered` units into `groups` groups (a multiplicative scatter, as organisations are).
GroupMap scatter_map(const std::string& name, uint32_t covered, uint32_t groups) {
  GroupMap m{name, {}, groups};
  for (uint32_t u = 0; u < covered; ++u) m.group_of_unit.push_back(uint32_t((uint64_t(u) * 2654435761u) % groups));
  return m;
}

// The same map over more units: the later units in groups that did not exist before.
GroupMap extended(GroupMap m, uint32_t units, uint32_t extra_groups) {
  for (uint32_t u = uint32_t(m.group_of_unit.size()); u < units; ++u)
    m.group_of_unit.push_back(m.n_groups + u % extra_groups);
  m.n_groups += extra_groups;
  return m;
}

}  // namespace

TEST_CASE("accumulator plan: direct group x month tables equal the unit x month roll-up", "[cpu][plan]") {
  const uint32_t units = 40000;
  for (size_t per_batch : {size_t(1000), size_t(1) << 17}) {
    auto batches = random_batches(units, 4, per_batch, uint32_t(per_batch) + 5);
    // Months outside the first batches' range, earlier and later: the tables are re-laid.
    EventBatch wide;
    for (uint32_t i = 0; i < 3000; ++i) wide.push(i * 13 % units, Month(i % 2 ? 590 + i % 7 : 650 + i % 30), i % 97);
    batches.push_back(wide);
    // Later months only: a large map's table gets rows appended.
    EventBatch later;
    for (uint32_t i = 0; i < 2000; ++i) later.push(i * 17 % units, Month(690 + i % 4), i % 13 + 1);
    batches.push_back(later);
    // Covered: the first 30000 units; the rest appear "later" (placeholders). Family has as many
    // groups as a large map (one shared month-major table filled by owner threads).
    // Three maps (unit records of 4 words), one (2 words) and nine (16 words: a record per line).
    for (size_t set : {3, 1, 9})
    for (uint32_t covered : {units, 30000u, 1u}) {
      std::vector<GroupMap> plan_maps{scatter_map("organisation", covered, 1500), scatter_map("country", covered, 7),
                                      scatter_map("family", covered, (1u << 18) + 5)};
      if (set == 1) plan_maps = {plan_maps[1]};
      for (size_t k = 3; k < set; ++k) plan_maps.push_back(scatter_map("small" + std::to_string(k), covered, uint32_t(3 + k)));
      std::vector<GroupMap> final_maps;
      for (size_t k = 0; k < plan_maps.size(); ++k)
        final_maps.push_back(extended(plan_maps[k], units + 3, k == 1 ? 2 : k == 2 ? 3 : 11));
      if (set == 1) final_maps = {extended(plan_maps[0], units + 3, 2)};
      const size_t country = set == 1 ? 0 : 1;
      for (unsigned threads : {1u, 2u, 7u}) {
        INFO(threads << " threads, batches of " << per_batch << ", " << covered << " units covered, " << set << " maps");
        auto backend = make_cpu_backend(threads);
        auto full = backend->make_accumulator();
        AccumulatorPlan plan;
        plan.month_tables = false;
        plan.direct_maps = plan_maps;
        auto direct = backend->make_accumulator(plan);
        for (const auto& b : batches) {
          full->add(b);
          direct->add(b);
        }
        const EventTotals want = full->finish(units + 3, final_maps);
        const EventTotals got = direct->finish(units + 3, final_maps);
        CHECK(got.unit_total == want.unit_total);
        CHECK(got.events == want.events);
        CHECK(got.month_first == want.month_first);
        CHECK(got.n_months == want.n_months);
        REQUIRE(got.group_month.size() == set);
        for (size_t k = 0; k < set; ++k) {
          CHECK(got.group_month[k].n_groups == want.group_month[k].n_groups);
          CHECK(got.group_month[k].month_first == want.group_month[k].month_first);
          CHECK(got.group_month[k].n_months == want.group_month[k].n_months);
          CHECK(got.group_month[k].sums == want.group_month[k].sums);
        }
        uint64_t late = 0;  // the uncovered units' events do reach the tables
        for (uint32_t g = plan_maps[country].n_groups; g < final_maps[country].n_groups; ++g)
          for (uint32_t m = 0; m < got.n_months; ++m)
            late += got.group_month[country].sums[size_t(m) * final_maps[country].n_groups + g];
        CHECK((late > 0) == (covered < units));
      }
    }
  }
}

TEST_CASE("accumulator plan: direct tables refuse maps they were not planned with", "[cpu][plan]") {
  auto backend = make_cpu_backend(2);
  AccumulatorPlan plan;
  plan.month_tables = false;
  plan.direct_maps = {GroupMap{"country", {0, 1, 0, 1}, 2}};
  auto make = [&] {
    auto acc = backend->make_accumulator(plan);
    EventBatch b;
    b.push(3, 600, 5);
    b.push(1, 601, 2);
    acc->add(b);
    return acc;
  };
  CHECK_THROWS_WITH(make()->finish(4, {GroupMap{"organisation", {0, 0, 0, 0}, 1}}), Catch::Contains("not planned"));
  CHECK_THROWS_WITH(make()->finish(4, {GroupMap{"country", {0, 1, 1, 1}, 2}}), Catch::Contains("puts unit 2 in group 1"));
  CHECK_THROWS_WITH(make()->finish(4, {GroupMap{"country", {0, 1, 0}, 2}}), Catch::Contains("covers 3 of 4 units"));
  CHECK_THROWS_WITH(make()->finish(3, {GroupMap{"country", {0, 1, 0, 1}, 2}}), Catch::Contains("events name unit 3"));
  const EventTotals ok = make()->finish(4, {GroupMap{"country", {0, 1, 0, 1}, 2}});
  REQUIRE(ok.group_month.size() == 1);
  CHECK(ok.group_month[0].at(1, 600) == 5);
  CHECK(ok.group_month[0].at(1, 601) == 2);
  CHECK(ok.group_month[0].at(0, 600) == 0);
  // A map with no entries (identity) or a group outside the map cannot be planned.
  plan.direct_maps = {GroupMap{"model", {}, 4}};
  CHECK_THROWS_AS(backend->make_accumulator(plan), UsageError);
  plan.direct_maps = {GroupMap{"country", {0, 2}, 2}};
  CHECK_THROWS_WITH(backend->make_accumulator(plan), Catch::Contains("puts unit 1 in group 2 of 2"));
  // An event outside its batch's bounds is refused before it is added anywhere.
  plan.direct_maps = {GroupMap{"country", {0, 1, 0, 1}, 2}};
  auto bad = backend->make_accumulator(plan);
  EventBatch out_of_bounds;
  out_of_bounds.push(1, 600, 1);
  out_of_bounds.unit_bound = 1;
  CHECK_THROWS_WITH(bad->add(out_of_bounds), Catch::Contains("lies outside its batch's bounds"));
}

TEST_CASE("accumulator plan: a batch refused for a bad event leaves the direct tables whole", "[cpu][plan]") {
  // The refused batch's months (590-600) come before every later batch's: the tables laid out
  // for them must lie within the month range finish() reports, or its copy would index outside.
  const GroupMap country{"country", {0, 1, 0, 1}, 2};
  const GroupMap family{"family", {0, 1, 2, 3}, (1u << 18) + 1};
  for (unsigned threads : {1u, 2u}) {
    for (size_t per_batch : {size_t(1), size_t(1) << 17}) {  // the one-thread pass, and owner threads
      INFO(threads << " threads, batches of " << per_batch);
      AccumulatorPlan plan;
      plan.month_tables = false;
      plan.direct_maps = {country, family};
      auto acc = make_cpu_backend(threads)->make_accumulator(plan);
      EventBatch bad;
      for (size_t i = 0; i < per_batch; ++i) bad.push(1, 590, 4);
      bad.push(2, 600, 1);
      bad.unit_bound = 2;  // names unit 2
      CHECK_THROWS_WITH(acc->add(bad), Catch::Contains("lies outside its batch's bounds"));
      EventBatch good;
      for (size_t i = 0; i < per_batch; ++i) {
        good.push(3, 620, 5);
        good.push(0, 621, 7);
      }
      acc->add(good);
      const EventTotals t = acc->finish(4, {country, family});
      CHECK(t.month_first == 590);  // the refused batch's months are in the range
      CHECK(t.n_months == 32);
      CHECK(t.unit_total[3] == 5 * per_batch);
      CHECK(t.unit_total[0] == 7 * per_batch);
      REQUIRE(t.group_month.size() == 2);
      CHECK(t.group_month[0].at(1, 620) == 5 * per_batch);
      CHECK(t.group_month[0].at(0, 621) == 7 * per_batch);
      CHECK(t.group_month[1].at(3, 620) == 5 * per_batch);
      CHECK(t.group_month[1].at(0, 621) == 7 * per_batch);
      CHECK(t.group_month[1].at(2, 600) == 0);  // the bad event itself was never added
    }
  }
}

namespace {

// Reference: every (unit, month) sum of the batches, as a model x month table of n_units units.
GroupMonthTable reference_unit_month(const std::vector<EventBatch>& batches, uint32_t n_units) {
  Month lo = UINT16_MAX, hi = 0;
  for (const auto& b : batches)
    for (Month m : b.month) lo = std::min(lo, m), hi = std::max(hi, m);
  GroupMonthTable t;
  t.n_groups = n_units, t.month_first = lo, t.n_months = uint32_t(hi) - lo + 1;
  t.sums = Cells(size_t(t.n_months) * n_units);
  for (const auto& b : batches)
    for (size_t i = 0; i < b.size(); ++i) t.sums[size_t(b.month[i] - lo) * n_units + b.unit[i]] += b.count[i];
  return t;
}

}  // namespace

TEST_CASE("accumulator: the unit x month table is handed over as the model x month table", "[cpu][plan]") {
  const uint32_t units = 30000;
  for (size_t per_batch : {size_t(1000), size_t(1) << 17}) {
    // Batches name more and more units; the last adds later months only (rows appended).
    auto batches = random_batches(units, 3, per_batch, uint32_t(per_batch) + 9);
    EventBatch later;
    for (uint32_t i = 0; i < 2000; ++i) later.push(i * 7 % units, Month(660 + i % 5), i % 31 + 1);
    batches.push_back(later);
    // Hints: none (the table grows), more units than the job has (rows closed up at finish),
    // exactly the job's (handed over as it is); finish with more units than any event names.
    for (uint32_t hint : {0u, units + 5000, units + 3}) {
      for (unsigned threads : {1u, 2u, 7u}) {
        INFO(threads << " threads, batches of " << per_batch << ", expect_units(" << hint << ")");
        auto backend = make_cpu_backend(threads);
        auto acc = backend->make_accumulator();
        if (hint) acc->expect_units(hint);
        for (const auto& b : batches) acc->add(b);
        const GroupMap country = scatter_map("country", units + 3, 7);
        const std::vector<GroupMap> maps{GroupMap{"model", {}, 0}, country, GroupMap{"model2", {}, 0}};
        const EventTotals got = acc->finish(units + 3, maps);
        const GroupMonthTable want = reference_unit_month(batches, units + 3);
        REQUIRE(got.group_month.size() == 3);
        CHECK(got.month_first == want.month_first);
        CHECK(got.n_months == want.n_months);
        for (size_t k : {size_t(0), size_t(2)}) {
          CHECK(got.group_month[k].n_groups == units + 3);
          CHECK(got.group_month[k].month_first == want.month_first);
          CHECK(got.group_month[k].sums == want.sums);
        }
        // The country table and the unit totals from the same cells.
        Cells country_want(size_t(want.n_months) * 7);
        std::vector<uint64_t> total_want(units + 3, 0);
        for (uint32_t m = 0; m < want.n_months; ++m)
          for (uint32_t u = 0; u < units + 3; ++u) {
            const uint64_t v = want.sums[size_t(m) * (units + 3) + u];
            country_want[size_t(m) * 7 + country.group_of_unit[u]] += v;
            total_want[u] += v;
          }
        CHECK(got.group_month[1].sums == country_want);
        CHECK(got.unit_total == total_want);
        // finish() ended the stream (and gave the table away, or copied it when it held fewer units).
        CHECK_THROWS_AS(acc->finish(units + 3, maps), Error);
        CHECK_THROWS_AS(acc->add(batches[0]), Error);
      }
    }
  }
}

TEST_CASE("accumulator plan: a large direct map asked twice gets its table twice", "[cpu][plan]") {
  const uint32_t units = 20000;
  const auto batches = random_batches(units, 2, size_t(1) << 17, 77);
  const GroupMap family = scatter_map("family", units, (1u << 18) + 1);  // one shared table
  for (unsigned threads : {1u, 2u}) {
    INFO(threads << " threads");
    auto backend = make_cpu_backend(threads);
    AccumulatorPlan plan;
    plan.month_tables = false;
    plan.direct_maps = {family};
    auto direct = backend->make_accumulator(plan);
    auto full = backend->make_accumulator();
    for (const auto& b : batches) {
      direct->add(b);
      full->add(b);
    }
    const EventTotals got = direct->finish(units, {family, family});
    const EventTotals want = full->finish(units, {family});
    REQUIRE(got.group_month.size() == 2);
    uint64_t cells = 0;
    for (uint64_t v : want.group_month[0].sums) cells += v;
    CHECK(cells > 0);
    CHECK(got.group_month[0].sums == want.group_month[0].sums);
    CHECK(got.group_month[1].sums == want.group_month[0].sums);
  }
}
