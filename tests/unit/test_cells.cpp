// Cells, the u64 tables of month tables: zero when made (small ones from calloc, large ones as
// fresh zero pages), values kept when grown, cells shrunk away zero again when grown back, deep
// copies, bounds-checked at().
#include <catch2/catch.hpp>

#include <sstream>
#include <stdexcept>

#include "ecostat/cells.hpp"

using ecostat::Cells;

namespace {
bool all_zero(const Cells& c, size_t from = 0) {
  for (size_t i = from; i < c.size(); ++i)
    if (c[i] != 0) return false;
  return true;
}
}  // namespace

TEST_CASE("cells: made zero, small and large", "[cells]") {
  for (size_t n : {size_t(0), size_t(5), size_t(1) << 17, (size_t(1) << 20) + 3}) {
    INFO(n << " cells");
    Cells c(n);
    CHECK(c.size() == n);
    CHECK(c.empty() == (n == 0));
    CHECK(all_zero(c));
    if (n) {
      c[n - 1] = 7;
      CHECK(c.at(n - 1) == 7);
    }
    c.assign(n + 2, 3);
    CHECK(c.size() == n + 2);
    CHECK(c[0] == 3);
    CHECK(c[n + 1] == 3);
    c.assign(n, 0);
    CHECK(all_zero(c));
  }
}

TEST_CASE("cells: extend keeps the values and zeroes what it adds, even after a shrink", "[cells]") {
  // Small (calloc) and large (mapped: grown by remapping its pages).
  for (size_t n : {size_t(100), size_t(1) << 18}) {
    INFO(n << " cells");
    Cells c(n);
    for (size_t i = 0; i < n; ++i) c[i] = i + 1;
    c.shrink(n / 2);
    CHECK(c.size() == n / 2);
    c.extend(n);  // the cells shrunk away held values: they must come back zero
    CHECK(c.size() == n);
    CHECK(c[n / 2 - 1] == n / 2);
    CHECK(all_zero(c, n / 2));
    for (size_t i = n / 2; i < n; ++i) c[i] = 9;
    c.shrink(n - 10);
    c.extend(4 * n + 1);  // past what it holds: new pages
    CHECK(c.size() == 4 * n + 1);
    CHECK(c[0] == 1);
    CHECK(c[n - 11] == 9);
    CHECK(all_zero(c, n - 10));
    CHECK_THROWS_AS(c.extend(1), std::logic_error);
    CHECK_THROWS_AS(c.shrink(4 * n + 2), std::logic_error);
  }
}

TEST_CASE("cells: copies are deep, moves leave an empty table, at() checks bounds", "[cells]") {
  Cells a{1, 2, 3};
  Cells b = a;
  b[1] = 20;
  CHECK(a[1] == 2);
  CHECK(a != b);
  b = a;
  CHECK(a == b);
  CHECK(a.to_vector() == std::vector<uint64_t>{1, 2, 3});
  CHECK(Cells(std::vector<uint64_t>{1, 2, 3}) == a);
  Cells c = std::move(b);
  CHECK(c == a);
  CHECK(b.empty());  // NOLINT: moved-from state is specified
  CHECK_THROWS_AS(a.at(3), std::out_of_range);
  const Cells big(size_t(1) << 18);
  Cells big_copy = big;
  big_copy[5] = 1;
  CHECK(big[5] == 0);
}

TEST_CASE("cells: printed as a count, a sum and the first cells", "[cells]") {
  std::ostringstream os;
  os << Cells{1, 2, 3};
  CHECK(os.str() == "3 cells, sum 6: 1 2 3");
  std::ostringstream big;
  big << Cells(size_t(1) << 20);
  CHECK(big.str() == "1048576 cells, sum 0: 0 0 0 0 0 0 0 0 ...");
}
