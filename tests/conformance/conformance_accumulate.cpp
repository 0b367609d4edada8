// Conformance: event accumulation (unit totals, group x month tables) and group_sum, against
// the oracle. Every backend runs these ("[conformance]").
#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "conformance/backend_under_test.hpp"
#include "support/top_rows_check.hpp"

using namespace ecostat;
using namespace ecostat::conformance;

namespace {

template <class T>
std::string mismatch(const std::vector<T>& got, const std::vector<T>& want) {
  std::ostringstream s;
  if (got.size() != want.size()) {
    s << "size " << got.size() << " != " << want.size();
    return s.str();
  }
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i]) {
      s << "index " << i << ": got " << got[i] << ", want " << want[i];
      return s.str();
    }
  return "";
}

std::vector<GroupMap> test_maps(uint32_t n_units) {
  std::vector<GroupMap> maps;
  maps.push_back({"unit", {}, n_units});
  GroupMap mod{"mod7", std::vector<uint32_t>(n_units), 9};  // groups 7 and 8 stay empty
  for (uint32_t u = 0; u < n_units; ++u) mod.group_of_unit[u] = u % 7;
  maps.push_back(mod);
  GroupMap one{"all", std::vector<uint32_t>(n_units, 0), 1};
  maps.push_back(one);
  GroupMap third{"third", std::vector<uint32_t>(n_units), n_units / 3 + 1};
  for (uint32_t u = 0; u < n_units; ++u) third.group_of_unit[u] = u / 3;
  maps.push_back(third);
  return maps;
}

void check_totals(const EventTotals& got, const std::vector<EventBatch>& batches, uint32_t n_units,
                  const std::vector<GroupMap>& maps) {
  const oracle::Totals o = oracle::accumulate(batches);
  CHECK(got.events == o.events);
  CHECK(mismatch(got.unit_total, oracle::unit_totals(o, n_units)) == "");
  if (o.any) {
    CHECK(got.month_first == o.month_min);
    CHECK(got.n_months == uint32_t(o.month_max - o.month_min + 1));
  } else {
    CHECK(got.n_months == 0);
  }
  REQUIRE(got.group_month.size() == maps.size());
  for (size_t i = 0; i < maps.size(); ++i) {
    INFO("map " << maps[i].name);
    const GroupMonthTable want = oracle::group_month(o, n_units, maps[i]);
    const GroupMonthTable& t = got.group_month[i];
    CHECK(t.n_groups == want.n_groups);
    CHECK(t.n_months == want.n_months);
    if (want.n_months) CHECK(t.month_first == want.month_first);
    CHECK(mismatch(t.sums.to_vector(), want.sums.to_vector()) == "");
  }
}

// n events over m units, split into three batches: the second names more units (dictionary
// growth) and months both before and after the first's, the third lies inside.
std::vector<EventBatch> three_batches(size_t n, uint32_t m, bool skewed, uint64_t seed, uint32_t max_count) {
  std::vector<uint32_t> keys = skewed ? skewed_keys(n, m, seed) : uniform_keys(n, m, seed);
  std::mt19937_64 rng(seed * 7 + 1);
  std::vector<EventBatch> b(3);
  const Month base = month_of(2020, 1);
  for (size_t i = 0; i < n; ++i) {
    const int which = i < n / 3 ? 0 : (i < 2 * n / 3 ? 1 : 2);
    uint32_t u = keys[i];
    Month mo;
    switch (which) {
      case 0: u = u % std::max<uint32_t>(1, m / 4); mo = Month(base + 6 + rng() % 5); break;   // 2020-07..11
      case 1: mo = Month(base + rng() % 24); break;                                            // 2020-01..2021-12
      default: u = u % std::max<uint32_t>(1, m / 2); mo = Month(base + 8 + rng() % 3); break;  // inside
    }
    const uint32_t c = max_count == 0 ? 0 : static_cast<uint32_t>(1 + rng() % max_count);
    b[which].push(u, mo, c);
  }
  return b;
}

// Without month tables (AccumulatorPlan::month_tables = false) an accumulator keeps unit totals
// alone (the device backends: one u64 per unit, the hot units in shared memory). Checked against
// the oracle on the same batches, so each case below runs both plans.
void check_unit_totals_only(const std::vector<EventBatch>& batches, uint32_t n_units) {
  INFO("unit totals only");
  AccumulatorPlan plan;
  plan.month_tables = false;
  auto acc = backend().make_accumulator(plan);
  for (const EventBatch& b : batches) acc->add(b);
  check_totals(acc->finish(n_units, {}), batches, n_units, {});
}

EventTotals run_batches(const std::vector<EventBatch>& batches, uint32_t n_units, const std::vector<GroupMap>& maps) {
  check_unit_totals_only(batches, n_units);
  auto acc = backend().make_accumulator();
  for (const EventBatch& b : batches) acc->add(b);
  return acc->finish(n_units, maps);
}

}  // namespace

TEST_CASE("accumulate: sizes around warp and block edges, skewed and uniform keys", "[conformance]") {
  const size_t sizes[] = {0, 1, 31, 32, 33, 63, 64, 65, 1000, 1u << 20};
  for (size_t n : sizes) {
    for (bool skewed : {true, false}) {
      const uint32_t m = n >= (1u << 20) ? (1u << 16) : 97;
      INFO("n = " << n << (skewed ? " skewed" : " uniform"));
      auto batches = three_batches(n, m, skewed, n * 31 + skewed, 64);
      const uint32_t n_units = m + 5;  // units never named: zeros
      const auto maps = test_maps(n_units);
      check_totals(run_batches(batches, n_units, maps), batches, n_units, maps);
    }
  }
}

TEST_CASE("accumulate: one event per batch, many batches, months growing both ways", "[conformance]") {
  std::vector<EventBatch> batches;
  const Month mid = month_of(2022, 6);
  for (int i = 0; i < 40; ++i) {
    EventBatch b;
    const int dm = (i % 2 ? 1 : -1) * (i / 2);
    b.push(static_cast<uint32_t>(i * 3), Month(mid + dm), static_cast<uint32_t>(i + 1));
    batches.push_back(b);
    batches.push_back(EventBatch{});  // empty batches change nothing
  }
  const uint32_t n_units = 200;
  const auto maps = test_maps(n_units);
  check_totals(run_batches(batches, n_units, maps), batches, n_units, maps);
}

TEST_CASE("accumulate: counts near 0xffffffff sum exactly in u64", "[conformance]") {
  std::vector<EventBatch> batches(2);
  std::mt19937_64 rng(5);
  for (int i = 0; i < 200000; ++i)
    batches[i % 2].push(static_cast<uint32_t>(rng() % 5), Month(600 + rng() % 3), 0xffffffffu - uint32_t(rng() % 3));
  const uint32_t n_units = 5;
  const auto maps = test_maps(n_units);
  const EventTotals t = run_batches(batches, n_units, maps);
  check_totals(t, batches, n_units, maps);
  uint64_t sum = 0;
  for (uint64_t v : t.unit_total) sum += v;
  CHECK(sum > (uint64_t(1) << 40));
}

TEST_CASE("accumulate: zero counts, a loose unit_bound, no events", "[conformance]") {
  SECTION("zero counts") {
    auto batches = three_batches(5000, 300, true, 11, 0);  // every count 0
    const auto maps = test_maps(301);
    check_totals(run_batches(batches, 301, maps), batches, 301, maps);
  }
  SECTION("unit_bound larger than any unit") {
    EventBatch b;
    b.push(3, 700, 9);
    b.push(1, 702, 4);
    b.unit_bound = 1000;
    const auto maps = test_maps(1000);
    check_totals(run_batches({b}, 1000, maps), {b}, 1000, maps);
  }
  SECTION("no events at all") {
    const auto maps = test_maps(17);
    const EventTotals t = run_batches({EventBatch{}, EventBatch{}}, 17, maps);
    check_totals(t, {}, 17, maps);
    CHECK(t.unit_total == std::vector<uint64_t>(17, 0));
    for (const auto& g : t.group_month) CHECK(g.sums.empty());
  }
  SECTION("no batch at all, no units") {
    const EventTotals t = run_batches({}, 0, {{"unit", {}, 0}});
    CHECK(t.events == 0);
    CHECK(t.n_months == 0);
    CHECK(t.unit_total.empty());
    REQUIRE(t.group_month.size() == 1);
    CHECK(t.group_month[0].n_groups == 0);
  }
}

TEST_CASE("accumulate: maps asking top rows get them, or the whole table", "[conformance]") {
  // Skewed units with ties (counts 1..3 and a few large ones), and a month with only two events.
  // Small enough that the tables fit the 6 MiB cap CI runs these cases under (scripts/emu-check.sh).
  const uint32_t n_units = 8000;
  std::vector<EventBatch> batches = three_batches(1u << 18, n_units - 5, true, 77, 3);
  batches[2].push(7, month_of(2019, 6), 5);
  batches[2].push(9, month_of(2019, 6), 5);
  for (uint32_t u = 0; u < 40; ++u) batches[1].push(u * 97, month_of(2020, 3), 100000 + u % 4);  // units < 3880
  std::vector<GroupMap> maps = test_maps(n_units);
  const uint32_t ks[] = {3, 1, 2, 50};  // unit, mod7, all, third
  for (size_t i = 0; i < maps.size(); ++i) maps[i].top_rows = ks[i];
  maps[1].always_group = 8;   // an empty group: never a row
  maps[3].always_group = 17;  // a small group of third: a row whenever it has downloads
  GroupMap whole_units = maps[0];
  whole_units.name = "unit (whole)";
  whole_units.top_rows = 0;
  maps.push_back(whole_units);  // the same map without top rows: always the whole table
  auto acc = backend().make_accumulator();
  for (const EventBatch& b : batches) acc->add(b);
  const EventTotals got = acc->finish(n_units, maps);
  const oracle::Totals o = oracle::accumulate(batches);
  CHECK(got.events == o.events);
  REQUIRE(got.group_month.size() == maps.size());
  for (size_t i = 0; i < maps.size(); ++i) {
    INFO("map " << maps[i].name);
    test::check_top_rows(got.group_month[i], oracle::group_month(o, n_units, maps[i]), maps[i].top_rows,
                         maps[i].always_group);
  }
  CHECK_FALSE(got.group_month.back().top_only);
}

TEST_CASE("accumulate: a plan asking the unit totals' concentration gets the Backend's figures", "[conformance]") {
  // The GPU backends compute it at finish, on the device where the totals are
  // (EventTotals::unit_concentration); the CPU backend leaves it to Backend::concentration. Skewed
  // units with zeros among them (units past n_units - 300 never named), under both plans.
  const uint32_t n_units = 5000;
  const std::vector<EventBatch> batches = three_batches(200000, n_units - 300, true, 91, 50);
  ConcentrationSpec spec;
  spec.top_k = {1, 10, 4999, 6000};
  spec.below = {0, 5, 1000};
  const bool gpu = backend_name() != "cpu";
  // Under a memory cap the table may be summed in passes: then the totals are never whole on the
  // device and the figures are left to the Backend.
  const bool capped = std::getenv("ECOSTAT_DEVICE_MEMORY_LIMIT") != nullptr;
  for (bool month_tables : {true, false}) {
    INFO((month_tables ? "month tables" : "unit totals only"));
    AccumulatorPlan plan;
    plan.month_tables = month_tables;
    plan.unit_concentration = spec;
    auto acc = backend().make_accumulator(plan);
    for (const EventBatch& b : batches) acc->add(b);
    const EventTotals t = acc->finish(n_units, {});
    check_totals(t, batches, n_units, {});
    const ConcentrationRaw want = make_cpu_backend(1)->concentration(t.unit_total, {}, 1, spec).at(0);
    CHECK(backend().concentration(t.unit_total, {}, 1, spec).at(0) == want);
    if (gpu && !capped) CHECK(t.unit_concentration.has_value());
    if (!gpu) CHECK_FALSE(t.unit_concentration.has_value());
    if (t.unit_concentration) CHECK(*t.unit_concentration == want);
  }
  SECTION("not asked, or no events: unset") {
    auto plain = backend().make_accumulator();
    for (const EventBatch& b : batches) plain->add(b);
    CHECK_FALSE(plain->finish(n_units, {}).unit_concentration.has_value());
    AccumulatorPlan plan;
    plan.unit_concentration = spec;
    CHECK_FALSE(backend().make_accumulator(plan)->finish(n_units, {}).unit_concentration.has_value());
  }
}

TEST_CASE("group_sum: sizes, empty groups, identity", "[conformance]") {
  const size_t sizes[] = {0, 1, 31, 32, 33, 63, 64, 65, 1000, 1u << 20};
  for (size_t n : sizes) {
    INFO("n = " << n);
    std::mt19937_64 rng(n + 3);
    std::vector<uint64_t> values(n);
    for (auto& v : values) v = rng() >> (rng() % 64);  // every magnitude, zeros included
    for (auto& v : values) v >>= 4;                    // sums stay below 2^64
    const auto keys = skewed_keys(n, 1000, n);
    GroupMap skew{"skewed", keys, 1003};                // groups 1000..1002 empty
    GroupMap id{"unit", {}, static_cast<uint32_t>(n)};
    GroupMap wide{"wide", uniform_keys(n, uint32_t(n / 2 + 1), n + 1), uint32_t(n / 2 + 1)};
    for (const GroupMap* m : {&skew, &id, &wide}) {
      INFO("map " << m->name);
      CHECK(mismatch(backend().group_sum(values, *m), oracle::group_sum(values, *m)) == "");
    }
  }
}
