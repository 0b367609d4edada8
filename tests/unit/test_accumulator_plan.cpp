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
