// A deliberately simple, independent oracle for the conformance suite and the unit tests.
// It shares no code with any backend nor with core's finalize()/ConcentrationPlan: sorted
// vectors, std::map, BFS from every node, straightforward loops in long double. Only the data
// types (EventBatch, GroupMap, LineageGraph, ...) are shared. Slow on purpose: test sizes only.
#pragma once
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "ecostat/backend.hpp"
#include "ecostat/concentration.hpp"
#include "ecostat/lineage.hpp"
#include "ecostat/records.hpp"

namespace ecostat::oracle {

// ---- Concentration -----------------------------------------------------------------------
struct Conc {
  uint64_t n = 0;
  u128 total = 0, rank_weighted = 0, sum_squares = 0;  // exact
  long double gini = 0;      // 2 sum i x_(i) / (n S) - (n + 1) / n
  long double gini_mad = -1; // sum_i sum_j |x_i - x_j| / (2 n^2 mean); -1 when not computed
  long double hhi = 0;       // sum (x_i / S)^2
  std::vector<uint64_t> top_k_count;        // min(k, n) per spec.top_k
  std::vector<u128> top_k_sum;              // sum of the k largest
  std::vector<long double> top_k_share;
  std::vector<uint64_t> top_pct_count;      // ceil(p n / 100) clamped to [1, n] (0 when n = 0)
  std::vector<u128> top_pct_sum;
  std::vector<long double> top_pct_share;
  std::vector<long double> percentile;      // numpy linear; NaN when n = 0
  std::vector<uint64_t> percentile_lo_value, percentile_hi_value;  // x at floor(h), at min(floor(h)+1, n-1)
  std::vector<uint64_t> below_count;
  std::vector<long double> below_fraction;
  std::vector<uint64_t> lorenz_count;       // round(j n / (K - 1))
  std::vector<u128> lorenz_sum;             // sum of the lorenz_count smallest
  std::vector<std::pair<long double, long double>> lorenz;
};

// mad_check: also compute gini_mad by the O(n^2) mean-absolute-difference formula.
Conc concentration(std::vector<uint64_t> values, const ConcentrationSpec& spec, bool mad_check = false);
// One Conc per segment (segment_of[i] < n_segments); empty segments give n = 0.
std::vector<Conc> concentration_segmented(const std::vector<uint64_t>& values,
                                          const std::vector<uint32_t>& segment_of, uint32_t n_segments,
                                          const ConcentrationSpec& spec);

// ---- Group sums and accumulation ---------------------------------------------------------
// out[g] = sum of values[u] with group g (identity when the map is empty); result has
// max(n_groups, values.size()) entries for identity maps, n_groups otherwise.
std::vector<uint64_t> group_sum(const std::vector<uint64_t>& values, const GroupMap& map);

struct Totals {
  std::map<uint32_t, uint64_t> unit;                         // unit -> total
  std::map<std::pair<uint32_t, Month>, uint64_t> unit_month;  // (unit, month) -> total
  bool any = false;           // a non-empty batch was seen
  Month month_min = 0, month_max = 0;  // union of the non-empty batches' header ranges
  uint64_t events = 0;
};
Totals accumulate(const std::vector<EventBatch>& batches);
// Dense per-unit totals (size n_units) and the dense group x month table of one map,
// laid out as GroupMonthTable: [(m - month_min) * n_groups + g].
std::vector<uint64_t> unit_totals(const Totals& t, uint32_t n_units);
GroupMonthTable group_month(const Totals& t, uint32_t n_units, const GroupMap& map);

// ---- Lineage -----------------------------------------------------------------------------
// Roots by walking primary parents, depth by counting hops, children as a set, descendants by
// BFS from every node over a child adjacency list; the families from those, in node order.
LineageRaw lineage(const LineageGraph& g, LineageOutput output = LineageOutput::per_node);

// Cycle breaking by the documented rule, with components found by mutual reachability
// (BFS from every node: O(n (n + E)), small graphs only).
LineageGraph build_graph(uint32_t n_nodes, const std::vector<BaseEdge>& edges, CycleReport* report);

}  // namespace ecostat::oracle
