// Concentration: the spec's validation, the plan of ranks a backend reads, and finalize(),
// which turns a backend's exact integers into ratios once, on the host, for every backend.
// Definitions: docs/metrics.md, "Concentration".
#include "ecostat/concentration.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "ecostat/errors.hpp"

namespace ecostat {

namespace {

// Percentages are taken to 9 decimal places: p percent = P / kPctScale percent, so that
// ranks derived from them are exact integer arithmetic (p = 1, n = 100 gives k = 1 exactly,
// and no floating-point noise moves a rank across an integer).
constexpr uint64_t kPctScale = 1000000000ull;           // 1e9 steps per percent
constexpr uint64_t kPctDenominator = 100 * kPctScale;   // 100 percent

uint64_t quantize_percent(double p) {
  long double scaled = static_cast<long double>(p) * static_cast<long double>(kPctScale);
  return static_cast<uint64_t>(std::llround(scaled));
}

// ceil(p / 100 * n), clamped to [0, n], at least 1 when n > 0 and p > 0.
uint64_t top_pct_count(uint64_t n, double p) {
  if (n == 0) return 0;
  u128 num = static_cast<u128>(quantize_percent(p)) * n;
  u128 k = (num + kPctDenominator - 1) / kPctDenominator;
  if (k > n) k = n;
  if (k == 0 && p > 0) k = 1;
  return static_cast<uint64_t>(k);
}

// Position of percentile q among n >= 1 sorted values: h = (n - 1) * q / 100 exactly,
// lo = floor(h), hi = min(lo + 1, n - 1), frac = h - lo = frac_num / kPctDenominator.
struct PercentilePos {
  uint64_t lo, hi, frac_num;
};
PercentilePos percentile_pos(uint64_t n, double q) {
  u128 num = static_cast<u128>(quantize_percent(q)) * (n - 1);
  uint64_t lo = static_cast<uint64_t>(num / kPctDenominator);
  uint64_t frac = static_cast<uint64_t>(num % kPctDenominator);
  if (lo > n - 1) lo = n - 1, frac = 0;  // cannot happen for q <= 100; defensive
  uint64_t hi = std::min<uint64_t>(lo + 1, n - 1);
  return {lo, hi, frac};
}

// round(j * n / (K - 1)) with halves rounded up, exactly.
uint64_t lorenz_count(uint64_t j, uint64_t n, uint64_t k_points) {
  u128 den = k_points - 1;
  u128 num = static_cast<u128>(j) * n;
  return static_cast<uint64_t>((2 * num + den) / (2 * den));
}

long double ld(u128 v) { return static_cast<long double>(v); }

}  // namespace

void ConcentrationSpec::validate() const {
  for (uint64_t k : top_k)
    if (k == 0) throw UsageError("concentration: top_k entries must be >= 1");
  for (double p : top_pct)
    if (!std::isfinite(p) || p <= 0 || p > 100)
      throw UsageError("concentration: top_pct entries must be in (0, 100], got " + std::to_string(p));
  for (double q : percentiles)
    if (!std::isfinite(q) || q < 0 || q > 100)
      throw UsageError("concentration: percentiles must be in [0, 100], got " + std::to_string(q));
  if (lorenz_points < 2 || lorenz_points > (1u << 20))
    throw UsageError("concentration: lorenz_points must be in [2, 1048576], got " +
                     std::to_string(lorenz_points));
}

ConcentrationPlan ConcentrationPlan::make(uint64_t n, const ConcentrationSpec& spec) {
  spec.validate();
  ConcentrationPlan plan;
  plan.n = n;
  plan.top_counts.reserve(spec.top_k.size() + spec.top_pct.size());
  for (uint64_t k : spec.top_k) plan.top_counts.push_back(std::min(k, n));
  for (double p : spec.top_pct) plan.top_counts.push_back(top_pct_count(n, p));
  if (n > 0) {
    plan.percentile_ranks.reserve(2 * spec.percentiles.size());
    for (double q : spec.percentiles) {
      PercentilePos pos = percentile_pos(n, q);
      plan.percentile_ranks.push_back(pos.lo);
      plan.percentile_ranks.push_back(pos.hi);
    }
  }
  plan.lorenz_counts.resize(spec.lorenz_points);
  for (uint32_t j = 0; j < spec.lorenz_points; ++j) plan.lorenz_counts[j] = lorenz_count(j, n, spec.lorenz_points);
  return plan;
}

bool ConcentrationRaw::operator==(const ConcentrationRaw& o) const {
  return n == o.n && total == o.total && rank_weighted == o.rank_weighted && sum_squares == o.sum_squares &&
         top_sums == o.top_sums && percentile_values == o.percentile_values && below_counts == o.below_counts &&
         lorenz_sums == o.lorenz_sums;
}

ConcentrationStats finalize(const ConcentrationRaw& raw, const ConcentrationSpec& spec) {
  const ConcentrationPlan plan = ConcentrationPlan::make(raw.n, spec);
  if (raw.top_sums.size() != plan.top_counts.size() ||
      raw.percentile_values.size() != plan.percentile_ranks.size() ||
      raw.below_counts.size() != spec.below.size() || raw.lorenz_sums.size() != plan.lorenz_counts.size())
    throw Error("concentration: a backend returned a result that does not match its plan");

  const uint64_t n = raw.n;
  const u128 S = raw.total;
  const long double ldS = ld(S), ldn = static_cast<long double>(n);
  auto share = [&](u128 part) -> double {
    return S == 0 ? 0.0 : static_cast<double>(ld(part) / ldS);
  };

  ConcentrationStats st;
  st.n = n;
  st.total = S;

  // Gini = (2 * sum i x_(i) - (n + 1) S) / (n S); the numerator is exact in u128 whenever it
  // fits (always, for S < 2^64 and n < 2^62), so the only rounding is the final division.
  if (n > 0 && S > 0) {
    u128 two_rw, n1S, num;
    bool overflow = __builtin_mul_overflow(raw.rank_weighted, static_cast<u128>(2), &two_rw) ||
                    __builtin_mul_overflow(static_cast<u128>(n) + 1, S, &n1S);
    long double g;
    if (!overflow) {
      bool negative = two_rw < n1S;  // impossible for sorted input; kept for a faithful value
      num = negative ? n1S - two_rw : two_rw - n1S;
      g = ld(num) / (ldn * ldS);
      if (negative) g = -g;
    } else {
      g = 2.0L * ld(raw.rank_weighted) / (ldn * ldS) - (ldn + 1.0L) / ldn;
    }
    st.gini = static_cast<double>(g);
    // sum x^2 >= S^2 / n (Cauchy-Schwarz). A smaller u128 means it wrapped: possible only when
    // S > 2^64-1, which the engine never passes (its totals are checked); a direct caller with
    // such values gets an error, never a wrong HHI.
    if (S > UINT64_MAX && ld(raw.sum_squares) < (ldS / ldn) * ldS * (1.0L - 1e-15L))
      throw Error("concentration: the sum of squares of values totalling " + to_string(S) +
                  " exceeds 2^128, so HHI cannot be exact");
    st.hhi = static_cast<double>(ld(raw.sum_squares) / (ldS * ldS));
  }

  size_t t = 0;
  for (uint64_t k : spec.top_k) st.top_k.emplace_back(k, share(raw.top_sums[t++]));
  for (double p : spec.top_pct) st.top_pct.emplace_back(p, share(raw.top_sums[t++]));

  for (size_t i = 0; i < spec.percentiles.size(); ++i) {
    double q = spec.percentiles[i];
    double value = std::numeric_limits<double>::quiet_NaN();
    if (n > 0) {
      PercentilePos pos = percentile_pos(n, q);
      long double a = static_cast<long double>(raw.percentile_values[2 * i]);
      long double b = static_cast<long double>(raw.percentile_values[2 * i + 1]);
      long double frac = static_cast<long double>(pos.frac_num) / static_cast<long double>(kPctDenominator);
      value = static_cast<double>(pos.frac_num == 0 ? a : a + frac * (b - a));
    }
    st.percentiles.emplace_back(q, value);
  }

  for (size_t i = 0; i < spec.below.size(); ++i) {
    uint64_t c = raw.below_counts[i];
    st.below.push_back({spec.below[i], c, n == 0 ? 0.0 : static_cast<double>(static_cast<long double>(c) / ldn)});
  }

  // Lorenz: point j = (c_j / n, L(c_j) / S). With n = 0 the points are (j/(K-1), j/(K-1));
  // with S = 0 (every value zero, perfect equality) they are (c_j/n, c_j/n): the diagonal.
  const uint64_t K = plan.lorenz_counts.size();
  for (uint64_t j = 0; j < K; ++j) {
    uint64_t c = plan.lorenz_counts[j];
    double x, y;
    if (n == 0) {
      x = y = static_cast<double>(static_cast<long double>(j) / static_cast<long double>(K - 1));
    } else {
      x = static_cast<double>(static_cast<long double>(c) / ldn);
      y = S == 0 ? x : static_cast<double>(ld(raw.lorenz_sums[j]) / ldS);
    }
    st.lorenz.emplace_back(x, y);
  }
  return st;
}

double to_double(u128 v) { return static_cast<double>(v); }

std::string to_string(u128 v) {
  if (v == 0) return "0";
  char buf[48];
  int i = sizeof(buf);
  while (v > 0) {
    buf[--i] = static_cast<char>('0' + static_cast<int>(v % 10));
    v /= 10;
  }
  return std::string(buf + i, sizeof(buf) - i);
}

}  // namespace ecostat
