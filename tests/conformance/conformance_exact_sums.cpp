// Exactness at the top of the range (issue 9, item 3) on the backend under test: HHI's sum of
// squares in u128 when the squares exceed u64, a wrapped sum of squares detected by finalize()
// rather than reported, and accumulators given batches whose only events are wide (counts
// above u32 travel in EventBatch::wide, which no backend reads).
#include "conformance/backend_under_test.hpp"

#include "ecostat/errors.hpp"

using namespace ecostat;
using namespace ecostat::conformance;

namespace {
ConcentrationSpec small_spec() {
  ConcentrationSpec spec;
  spec.top_k = {1};
  spec.top_pct = {50.0};
  spec.percentiles = {50.0};
  spec.below = {1};
  spec.lorenz_points = 3;
  return spec;
}
}  // namespace

TEST_CASE("concentration: HHI is exact when the squares exceed u64", "[conformance]") {
  const ConcentrationSpec spec = small_spec();
  const uint64_t q = uint64_t(1) << 62;  // S = 3 * 2^62 fits in u64; each square is 2^124
  const std::vector<uint64_t> values{q, 0, q, q};
  auto raws = backend().concentration(values, {}, 1, spec);
  REQUIRE(raws.size() == 1);
  CHECK(raws[0].total == u128(3) * q);
  CHECK(raws[0].sum_squares == u128(3) * (u128(1) << 124));
  check_concentration(raws[0], oracle::concentration(values, spec), spec);
  CHECK(finalize(raws[0], spec).hhi == Approx(1.0 / 3.0).epsilon(1e-15));

  // segmented: the same three values in segment 1, a small one alone in segment 0
  const std::vector<uint64_t> seg_values{q, 7, q, q};
  auto seg = backend().concentration(seg_values, {1, 0, 1, 1}, 2, spec);
  REQUIRE(seg.size() == 2);
  CHECK(seg[1].sum_squares == u128(3) * (u128(1) << 124));
  CHECK(finalize(seg[1], spec).hhi == Approx(1.0 / 3.0).epsilon(1e-15));
  CHECK(finalize(seg[0], spec).hhi == 1.0);
}

TEST_CASE("concentration: a sum of squares past 2^128 is an error, not a wrong HHI", "[conformance]") {
  // 3 x (2^64-1): S needs 66 bits, the sum of squares 130 (it wraps in u128). The engine never
  // passes such totals (it checks that they sum within u64); a direct caller gets an error.
  const ConcentrationSpec spec = small_spec();
  const std::vector<uint64_t> values(3, UINT64_MAX);
  auto raws = backend().concentration(values, {}, 1, spec);
  REQUIRE(raws.size() == 1);
  CHECK(raws[0].total == u128(3) * UINT64_MAX);  // S itself is exact
  CHECK_THROWS_AS(finalize(raws[0], spec), Error);
}

TEST_CASE("accumulate: a batch with only wide events adds nothing on the backend", "[conformance]") {
  auto acc = backend().make_accumulator();
  EventBatch b;
  b.push_wide(2, month_of(2024, 5), uint64_t(1) << 40);
  REQUIRE(b.size() == 0);
  acc->add(b);  // no event for the backend: no growth, no error
  EventBatch c;
  c.push(1, month_of(2024, 3), 7);
  c.push_wide(3, month_of(2024, 9), uint64_t(5) << 32);
  acc->add(c);
  GroupMap identity;
  identity.name = "model";
  GroupMap two;
  two.name = "two";
  two.group_of_unit = {0, 1, 0, 1};
  two.n_groups = 2;
  EventTotals t = acc->finish(4, {identity, two});
  CHECK(t.events == 1);
  CHECK(t.unit_total == std::vector<uint64_t>{0, 7, 0, 0});
  // The range is the union of the non-empty batches' headers (docs/metrics.md): c's header
  // covers its wide event's month, b (size 0) is skipped; the engine widens for such months.
  CHECK(t.month_first == month_of(2024, 3));
  CHECK(t.n_months == 7);
  REQUIRE(t.group_month.size() == 2);
  CHECK(t.group_month[1].at(1, month_of(2024, 3)) == 7);
}
