// Concentration over per-unit totals: what a backend computes (exact integers at planned
// ranks of the sorted totals) and how core turns that into ratios, once for every backend,
// so that ratios agree across backends.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ecostat/types.hpp"

namespace ecostat {

struct ConcentrationSpec {
  std::vector<uint64_t> top_k{1, 10, 100, 200, 1000};
  std::vector<double> top_pct{0.01, 0.1, 1.0, 10.0};      // percent of units
  std::vector<double> percentiles{50.0, 90.0, 99.0};       // 0..100, linear interpolation
  std::vector<uint64_t> below{200};                        // count units with total < threshold
  uint32_t lorenz_points = 101;                            // K points incl. (0,0) and (1,1)
  void validate() const;                                   // throws UsageError
};

// Ranks (0-based, ascending order) a backend must read for n values, derived from the spec.
struct ConcentrationPlan {
  uint64_t n = 0;
  std::vector<uint64_t> top_counts;       // k for each top_k then each top_pct entry (clamped to n)
  std::vector<uint64_t> percentile_ranks; // lo and hi rank per percentile: [lo0, hi0, lo1, hi1, ...]
  std::vector<uint64_t> lorenz_counts;    // number of smallest values summed for each Lorenz point
  static ConcentrationPlan make(uint64_t n, const ConcentrationSpec& spec);
};

// Exact integer aggregates over one population (or one segment), sorted ascending x_(1..n).
struct ConcentrationRaw {
  uint64_t n = 0;
  u128 total = 0;                    // S
  u128 rank_weighted = 0;            // sum_i i * x_(i), i = 1..n
  u128 sum_squares = 0;              // sum_i x_i^2
  std::vector<u128> top_sums;        // sum of the k largest, for each plan.top_counts
  std::vector<uint64_t> percentile_values;  // x at each plan.percentile_ranks
  std::vector<uint64_t> below_counts;       // #{x < threshold} for each spec.below
  std::vector<u128> lorenz_sums;     // sum of the c smallest, for each plan.lorenz_counts
  bool operator==(const ConcentrationRaw& o) const;
};

// The ratios a user reads. Computed from ConcentrationRaw by finalize(), on the host.
struct ConcentrationStats {
  uint64_t n = 0;
  u128 total = 0;
  double gini = 0, hhi = 0;
  std::vector<std::pair<uint64_t, double>> top_k;        // (k requested, share)
  std::vector<std::pair<double, double>> top_pct;        // (p percent, share)
  std::vector<std::pair<double, double>> percentiles;    // (q, value)
  struct Below { uint64_t threshold, count; double fraction; };
  std::vector<Below> below;
  std::vector<std::pair<double, double>> lorenz;         // (i/n, cumulative share)
};

ConcentrationStats finalize(const ConcentrationRaw& raw, const ConcentrationSpec& spec);

double to_double(u128 v);
std::string to_string(u128 v);

}  // namespace ecostat
