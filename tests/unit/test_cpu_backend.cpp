// The CPU backend by hand, and with 1..4 threads giving identical results (the conformance
// suite covers it against the oracle with the default thread count).
#include <catch2/catch.hpp>

#include <random>

#include "ecostat/backend.hpp"
#include "ecostat/errors.hpp"
#include "oracle/oracle.hpp"
#include "support/top_rows_check.hpp"

using namespace ecostat;

namespace {

EventBatch batch(std::initializer_list<std::array<uint32_t, 3>> events) {
  EventBatch b;
  for (auto& e : events) b.push(e[0], static_cast<Month>(e[1]), e[2]);
  return b;
}

}  // namespace

TEST_CASE("cpu backend: info and probe", "[cpu]") {
  auto b = make_cpu_backend(3);
  const BackendInfo i = b->info();
  CHECK(i.name == "cpu");
  CHECK(i.device == "3 CPU threads");
  CHECK(i.compiled);
  CHECK(i.available);
  CHECK(i.status == "ok");
  CHECK(make_cpu_backend(1)->info().device == "1 CPU thread");
  const BackendInfo p = probe_cpu_backend();
  CHECK(p.available);
  CHECK(p.name == "cpu");
}

TEST_CASE("cpu backend: accumulate by hand, with unit and month growth", "[cpu]") {
  for (unsigned threads : {1u, 2u}) {
    auto b = make_cpu_backend(threads);
    auto acc = b->make_accumulator();
    // Batch 1: units 0 and 2, months 600 and 601.
    acc->add(batch({{0, 600, 5}, {2, 601, 7}, {0, 600, 1}}));
    // Batch 2: a larger unit (5) and an earlier month (598) and a later one (609).
    acc->add(batch({{5, 598, 3}, {0, 609, 10}, {2, 600, 2}}));
    acc->add(EventBatch{});
    GroupMap id{"unit", {}, 0};
    GroupMap parity{"parity", {0, 1, 0, 1, 0, 1, 0}, 3};  // group 2 empty
    const EventTotals t = acc->finish(7, {id, parity});
    CHECK(t.events == 6);
    CHECK(t.unit_total == std::vector<uint64_t>{16, 0, 9, 0, 0, 3, 0});
    CHECK(t.month_first == 598);
    CHECK(t.n_months == 12);  // 598..609
    REQUIRE(t.group_month.size() == 2);
    const GroupMonthTable& u = t.group_month[0];
    CHECK(u.n_groups == 7);
    CHECK(u.sums.size() == 7 * 12);
    CHECK(u.at(0, 600) == 6);
    CHECK(u.at(2, 601) == 7);
    CHECK(u.at(2, 600) == 2);
    CHECK(u.at(5, 598) == 3);
    CHECK(u.at(0, 609) == 10);
    CHECK(u.at(6, 605) == 0);
    const GroupMonthTable& p = t.group_month[1];
    CHECK(p.n_groups == 3);
    CHECK(p.at(0, 600) == 8);   // units 0 and 2
    CHECK(p.at(1, 598) == 3);   // unit 5
    CHECK(p.at(0, 601) == 7);
    CHECK(p.at(2, 600) == 0);
    uint64_t all = 0;
    for (uint64_t v : p.sums) all += v;
    CHECK(all == 28);
  }
}

TEST_CASE("cpu backend: accumulator errors", "[cpu]") {
  auto b = make_cpu_backend(2);
  SECTION("an event beyond its batch's unit_bound") {
    auto acc = b->make_accumulator();
    EventBatch e = batch({{3, 600, 1}});
    e.unit_bound = 2;
    CHECK_THROWS_AS(acc->add(e), Error);
  }
  SECTION("an event outside its batch's month range") {
    auto acc = b->make_accumulator();
    EventBatch e = batch({{1, 600, 1}});
    e.month_max = 599;
    e.month_min = 590;
    CHECK_THROWS_AS(acc->add(e), Error);
  }
  SECTION("finish with fewer units than the events named") {
    auto acc = b->make_accumulator();
    acc->add(batch({{9, 600, 1}}));
    CHECK_THROWS_AS(acc->finish(5, {}), Error);
  }
  SECTION("a group map shorter than the units, or naming a group out of range") {
    auto acc = b->make_accumulator();
    acc->add(batch({{1, 600, 1}}));
    CHECK_THROWS_AS(acc->finish(3, {{"short", {0, 0}, 1}}), Error);
    auto acc2 = b->make_accumulator();
    acc2->add(batch({{1, 600, 1}}));
    CHECK_THROWS_AS(acc2->finish(3, {{"bad", {0, 4, 0}, 2}}), Error);
  }
}

TEST_CASE("cpu backend: 1, 2, 3, 4 and 8 threads give identical tables", "[cpu]") {
  // Batches large enough for the multi-threaded paths.
  std::mt19937_64 rng(42);
  std::vector<EventBatch> batches(4);
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 150000; ++i) {
      const double r = std::generate_canonical<double, 53>(rng);
      const uint32_t u = static_cast<uint32_t>(20000.0 * r * r * r * r) * (k + 1) / 2;
      batches[k].push(u, static_cast<Month>(620 + (k % 2 ? -1 : 1) * int(rng() % (5 + 3 * k))), uint32_t(rng() % 1000));
    }
  const uint32_t n_units = 50000;
  GroupMap mod{"mod", std::vector<uint32_t>(n_units), 13};
  for (uint32_t u = 0; u < n_units; ++u) mod.group_of_unit[u] = u % 11;
  const std::vector<GroupMap> maps = {{"unit", {}, 0}, mod};
  std::vector<EventTotals> res;
  for (unsigned t : {1u, 2u, 3u, 4u, 8u}) {  // direct, filtered (2-4) and partitioned (8) paths
    auto acc = make_cpu_backend(t)->make_accumulator();
    for (auto& b : batches) acc->add(b);
    res.push_back(acc->finish(n_units, maps));
  }
  const oracle::Totals o = oracle::accumulate(batches);
  CHECK(res[0].unit_total == oracle::unit_totals(o, n_units));
  CHECK(res[0].group_month[1].sums == oracle::group_month(o, n_units, mod).sums);
  for (size_t i = 1; i < res.size(); ++i) {
    CHECK(res[i].unit_total == res[0].unit_total);
    CHECK(res[i].month_first == res[0].month_first);
    CHECK(res[i].n_months == res[0].n_months);
    for (size_t m = 0; m < maps.size(); ++m) CHECK(res[i].group_month[m].sums == res[0].group_month[m].sums);
  }
}

// Units past the table's are laid out with headroom (4x), and a re-lay copies only the cells of
// units below the bounds seen. Bounds that grow by steps past the headroom, earlier and later
// months, and a finish with more units than any event named (a repository table's) and with
// more than the table holds must all give the oracle's tables, on the direct and the threaded
// paths, without expect_units() and with it rising batch by batch (a downloads-only session's).
TEST_CASE("cpu backend: units growing past the table's headroom, without a hint or with a rising one", "[cpu]") {
  std::mt19937_64 rng(5);
  std::vector<EventBatch> batches;
  for (const uint32_t bound : {1u, 3u, 40u, 41u, 9000u, 200000u}) {
    EventBatch b;
    for (int i = 0; i < 70000; ++i)
      b.push(static_cast<uint32_t>(rng() % bound), static_cast<Month>(600 + int(rng() % 7) - int(bound % 5)),
             uint32_t(rng() % 100));
    b.unit_bound = bound;  // the declared bound, whether or not its last unit appears
    batches.push_back(std::move(b));
  }
  const oracle::Totals o = oracle::accumulate(batches);
  for (const bool rising_hint : {false, true})
  for (const uint32_t n_units : {200000u, 250000u, 1000000u})
    for (unsigned threads : {1u, 2u, 8u}) {
      INFO(n_units << " units at finish, " << threads << " threads, rising hint " << rising_hint);
      auto acc = make_cpu_backend(threads)->make_accumulator();
      for (const auto& b : batches) {
        if (rising_hint) acc->expect_units(b.unit_bound);
        acc->add(b);
      }
      GroupMap mod{"mod", std::vector<uint32_t>(n_units), 7};
      for (uint32_t u = 0; u < n_units; ++u) mod.group_of_unit[u] = u % 7;
      const EventTotals t = acc->finish(n_units, {{"unit", {}, 0}, mod});
      CHECK(t.unit_total == oracle::unit_totals(o, n_units));
      CHECK((t.group_month[0].sums == oracle::group_month(o, n_units, {"unit", {}, 0}).sums));
      CHECK((t.group_month[1].sums == oracle::group_month(o, n_units, mod).sums));
    }
}

TEST_CASE("cpu backend: a large map asking top rows gets top rows, on any thread count", "[cpu]") {
  // 300,000 units in 200,000 groups (a month row of 1.6 MB, past the 1 MiB where the CPU backend
  // keeps top rows): skewed counts with ties, a group that is always listed, and one month with a
  // single event. The same maps without top rows give the whole tables to check against.
  const uint32_t n_units = 300000, n_groups = 200000;
  std::mt19937_64 rng(7);
  std::vector<EventBatch> batches(3);
  for (int k = 0; k < 3; ++k)
    for (int i = 0; i < 120000; ++i) {
      const double r = std::generate_canonical<double, 53>(rng);
      batches[k].push(static_cast<uint32_t>(n_units * r * r * r), static_cast<Month>(600 + int(rng() % 7)),
                      uint32_t(1 + rng() % 3));
    }
  batches[2].push(5, 590, 4);  // a month with one event
  GroupMap big{"big", std::vector<uint32_t>(n_units), n_groups};
  for (uint32_t u = 0; u < n_units; ++u) big.group_of_unit[u] = (u * 7919u) % n_groups;
  big.top_rows = 25;
  big.always_group = big.group_of_unit[n_units - 1];  // a unit the skew rarely reaches
  GroupMap small{"small", std::vector<uint32_t>(n_units), 1000};
  for (uint32_t u = 0; u < n_units; ++u) small.group_of_unit[u] = u % 1000;
  small.top_rows = 10;  // a row of 8 KB: kept whole
  GroupMap big_whole = big, small_whole = small;
  big_whole.top_rows = small_whole.top_rows = 0;
  const std::vector<GroupMap> maps = {big, small, big_whole, small_whole};
  for (unsigned t : {1u, 2u, 3u, 8u}) {
    INFO(t << " threads");
    auto acc = make_cpu_backend(t)->make_accumulator();
    for (auto& b : batches) acc->add(b);
    const EventTotals got = acc->finish(n_units, maps);
    REQUIRE(got.group_month.size() == 4);
    CHECK(got.group_month[0].top_only);
    CHECK_FALSE(got.group_month[1].top_only);
    CHECK_FALSE(got.group_month[2].top_only);
    CHECK(got.n_months == 17);  // 590..606
    test::check_top_rows(got.group_month[0], got.group_month[2], big.top_rows, big.always_group);
    test::check_top_rows(got.group_month[1], got.group_month[3], small.top_rows, small.always_group);
    CHECK((got.group_month[2].sums == oracle::group_month(oracle::accumulate(batches), n_units, big_whole).sums));
  }
}

TEST_CASE("cpu backend: group_sum by hand", "[cpu]") {
  auto b = make_cpu_backend(2);
  const std::vector<uint64_t> v = {5, 0, 7, 1, 2};
  CHECK(b->group_sum(v, {"g", {1, 1, 0, 3, 1}, 4}) == std::vector<uint64_t>{7, 7, 0, 1});
  CHECK(b->group_sum(v, {"unit", {}, 5}) == v);
  CHECK(b->group_sum({}, {"g", {}, 3}) == std::vector<uint64_t>{0, 0, 0});
  CHECK_THROWS_AS(b->group_sum(v, {"bad", {0, 0, 9, 0, 0}, 4}), Error);
  // Large: per-thread partial tables.
  std::vector<uint64_t> big(300000);
  GroupMap m{"m", std::vector<uint32_t>(big.size()), 17};
  for (size_t i = 0; i < big.size(); ++i) big[i] = i * 3 + 1, m.group_of_unit[i] = uint32_t(i % 16);
  CHECK(b->group_sum(big, m) == oracle::group_sum(big, m));
}

TEST_CASE("cpu backend: concentration by hand on {0,0,1,2,7}", "[cpu]") {
  ConcentrationSpec s;
  s.top_k = {1, 2, 10};
  s.top_pct = {1.0, 10.0, 50.0};
  s.percentiles = {0.0, 25.0, 50.0, 90.0, 99.0, 100.0};
  s.below = {0, 1, 2, 200};
  s.lorenz_points = 6;
  ConcentrationRaw want;  // see test_concentration.cpp for the arithmetic
  want.n = 5;
  want.total = 10;
  want.rank_weighted = 46;
  want.sum_squares = 54;
  want.top_sums = {7, 9, 10, 7, 7, 10};
  want.percentile_values = {0, 0, 0, 1, 1, 2, 2, 7, 2, 7, 7, 7};
  want.below_counts = {0, 2, 3, 5};
  want.lorenz_sums = {0, 0, 0, 1, 3, 10};
  for (unsigned t : {1u, 2u}) {
    auto b = make_cpu_backend(t);
    auto r = b->concentration({7, 0, 2, 0, 1}, {}, 1, s);
    REQUIRE(r.size() == 1);
    CHECK(r[0] == want);
    // Segmented: segment 1 holds the same values, segments 0 and 2 are empty.
    r = b->concentration({7, 0, 2, 0, 1}, {1, 1, 1, 1, 1}, 3, s);
    REQUIRE(r.size() == 3);
    CHECK(r[1] == want);
    CHECK(r[0].n == 0);
    CHECK(r[2].n == 0);
    CHECK(r[0].lorenz_sums == std::vector<u128>(6, 0));
    CHECK(r[0].percentile_values.empty());
  }
  auto b = make_cpu_backend(2);
  CHECK_THROWS_AS(b->concentration({1, 2}, {0, 3}, 2, s), Error);
  CHECK_THROWS_AS(b->concentration({1, 2}, {0}, 2, s), Error);
  s.lorenz_points = 1;
  CHECK_THROWS_AS(b->concentration({1, 2}, {}, 1, s), UsageError);
}

TEST_CASE("cpu backend: concentration identical across thread counts (radix sort paths)", "[cpu]") {
  ConcentrationSpec s;
  std::mt19937_64 rng(9);
  for (int shape = 0; shape < 3; ++shape) {
    std::vector<uint64_t> v(600000);
    for (auto& x : v) {
      switch (shape) {
        case 0: x = rng() % 5000; break;                   // few bits: one or two passes
        case 1: x = rng() >> (12 + rng() % 52); break;     // every magnitude < 2^52: five passes
        default: x = (uint64_t(7) << 40) | (rng() & 0xff);  // constant high digits: skipped passes
      }
    }
    std::vector<uint32_t> seg(v.size());
    for (size_t i = 0; i < v.size(); ++i) seg[i] = i % 10 < 6 ? 0 : uint32_t(1 + rng() % 1000);
    const auto r1 = make_cpu_backend(1)->concentration(v, {}, 1, s);
    const auto s1 = make_cpu_backend(1)->concentration(v, seg, 1002, s);
    for (unsigned t : {2u, 3u}) {
      auto b = make_cpu_backend(t);
      CHECK(b->concentration(v, {}, 1, s) == r1);
      CHECK(b->concentration(v, seg, 1002, s) == s1);
    }
    const oracle::Conc o = oracle::concentration(v, s);
    CHECK(r1[0].lorenz_sums == o.lorenz_sum);
    CHECK(r1[0].rank_weighted == o.rank_weighted);
  }
}

TEST_CASE("cpu backend: lineage by hand and across thread counts", "[cpu]") {
  // 0 <- 1 <- 3, 0 <- 2 <- 3 (3 merges 1 and 2), 3 <- 4, 0 <- 5 (adapter), 6 alone.
  std::vector<BaseEdge> e = {{1, 0, Relation::finetune, 0}, {2, 0, Relation::quantized, 0}, {3, 1, Relation::merge, 0},
                             {3, 2, Relation::merge, 1},    {4, 3, Relation::finetune, 0},  {5, 0, Relation::adapter, 0}};
  const LineageGraph g = build_lineage_graph(7, e, nullptr);
  auto r = make_cpu_backend(2)->lineage(g);
  CHECK(r.root == std::vector<uint32_t>{0, 0, 0, 0, 0, 0, 6});
  CHECK(r.depth == std::vector<uint32_t>{0, 1, 1, 2, 3, 1, 0});
  CHECK(r.children == std::vector<uint32_t>{3, 1, 1, 1, 0, 0, 0});
  CHECK(r.descendants == std::vector<uint64_t>{5, 2, 2, 1, 0, 0, 0});  // 3 and 4 once under 0
  CHECK(r.descendants_by_relation[0] == std::array<uint64_t, kRelationCount>{2, 1, 1, 1, 0});
  CHECK(r.descendants_by_relation[1] == std::array<uint64_t, kRelationCount>{1, 0, 0, 1, 0});
  // The families (roots with a descendant: 0 only) and the greatest depth, in either output.
  CHECK(r.max_depth == 3);
  CHECK(r.family_root == std::vector<uint32_t>{0});
  CHECK(r.family_descendants == std::vector<uint64_t>{5});
  CHECK(r.family_by_relation == std::vector<std::array<uint64_t, kRelationCount>>{{2, 1, 1, 1, 0}});
  const LineageRaw f = make_cpu_backend(2)->lineage(g, LineageOutput::families);
  CHECK(f.root == r.root);
  CHECK(f.max_depth == 3);
  CHECK(f.family_root == r.family_root);
  CHECK(f.family_by_relation == r.family_by_relation);
  CHECK((f.depth.empty() && f.children.empty() && f.descendants.empty() && f.descendants_by_relation.empty()));

  // Many merges (the parallel walk path), repeated parents in a list.
  std::mt19937_64 rng(3);
  const uint32_t n = 30000;
  std::vector<BaseEdge> big;
  for (uint32_t i = 1; i < n; ++i) {
    const int k = rng() % 4 == 0 ? 3 : 1;
    for (int j = 0; j < k; ++j)
      big.push_back({i, static_cast<uint32_t>(rng() % i), k > 1 ? Relation::merge : Relation::finetune, uint16_t(j)});
  }
  LineageGraph bg = build_lineage_graph(n, big, nullptr);
  // A repeated parent inside one list (build_lineage_graph never emits one; a backend must cope).
  const LineageRaw want = oracle::lineage(bg);
  for (unsigned t : {1u, 2u, 4u}) CHECK(make_cpu_backend(t)->lineage(bg) == want);
  LineageGraph dup;
  dup.n_nodes = 3;
  dup.parent_offsets = {0, 0, 1, 3};
  dup.parents = {0, 1, 1};
  dup.relations = {Relation::finetune, Relation::merge, Relation::merge};
  const LineageRaw d = make_cpu_backend(1)->lineage(dup);
  CHECK(d == oracle::lineage(dup));
  CHECK(d.children == std::vector<uint32_t>{1, 1, 0});
  CHECK(d.descendants == std::vector<uint64_t>{2, 1, 0});
}

TEST_CASE("cpu backend: lineage on a graph with a cycle throws instead of looping", "[cpu]") {
  auto b = make_cpu_backend(1);
  LineageGraph g;  // 0 -> 1 -> 0
  g.n_nodes = 2;
  g.parent_offsets = {0, 1, 2};
  g.parents = {1, 0};
  g.relations = {Relation::finetune, Relation::finetune};
  CHECK_THROWS_AS(b->lineage(g), Error);
  LineageGraph m;  // 2 merges 1 and 0; 0's parent is 2 (a cycle through a merge's second parent)
  m.n_nodes = 3;
  m.parent_offsets = {0, 1, 1, 3};
  m.parents = {2, 1, 0};
  m.relations = {Relation::finetune, Relation::merge, Relation::merge};
  CHECK_THROWS_AS(b->lineage(m), Error);
  LineageGraph bad = g;
  bad.parents = {1, 5};
  CHECK_THROWS_AS(b->lineage(bad), Error);
}
