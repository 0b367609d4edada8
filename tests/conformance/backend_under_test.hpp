// The backend the conformance suite runs against: ECOSTAT_TEST_BACKEND (cpu, cuda, hip,
// auto), default cpu. ECOSTAT_TEST_CPU_THREADS sets the CPU backend's threads (default: all).
// Also the suite's shared helpers: data generators and the comparison against the oracle.
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "ecostat/backend.hpp"
#include "ecostat/concentration.hpp"
#include "oracle/oracle.hpp"

namespace ecostat::conformance {

inline std::string backend_name() {
  const char* e = std::getenv("ECOSTAT_TEST_BACKEND");
  return (e && *e) ? e : "cpu";
}

// One backend for the whole run, never destroyed: a GPU runtime may already be torn down
// when static destructors run.
inline Backend& backend() {
  static Backend* b = [] {
    const char* t = std::getenv("ECOSTAT_TEST_CPU_THREADS");
    unsigned threads = (t && *t) ? static_cast<unsigned>(std::strtoul(t, nullptr, 10)) : 0;
    return select_backend(backend_name(), threads).release();
  }();
  return *b;
}

// ---- generators ---------------------------------------------------------------------------
// Keys in [0, m) with P(key < x) = (x / m)^(1/4), scrambled by an affine permutation so that
// the hot keys are spread over the id range (as in the benchmark workload).
inline std::vector<uint32_t> skewed_keys(size_t n, uint32_t m, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> U(0.0, 1.0);
  std::vector<uint32_t> k(n);
  uint64_t a = 2654435761ull % m;
  if (m > 1)
    while (a == 0 || std::gcd<uint64_t, uint64_t>(a, m) != 1) a = (a + 1) % m;
  else
    a = 0;
  for (auto& x : k) {
    double r = U(rng);
    uint64_t raw = static_cast<uint64_t>(static_cast<double>(m) * r * r * r * r);
    if (raw >= m) raw = m - 1;
    x = static_cast<uint32_t>((raw * a + 12345) % m);
  }
  return k;
}

inline std::vector<uint32_t> uniform_keys(size_t n, uint32_t m, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<uint32_t> U(0, m - 1);
  std::vector<uint32_t> k(n);
  for (auto& x : k) x = U(rng);
  return k;
}

// ---- comparison ---------------------------------------------------------------------------
// Ratios agree to 1e-12 relative; values within 1e-15 of zero on both sides count as equal
// (a Gini of exactly 0 against a long double residue of 1e-19).
inline bool close(double got, long double want, double rel = 1e-12) {
  if (std::isnan(got) || std::isnan(static_cast<double>(want))) return std::isnan(got) && std::isnan(static_cast<double>(want));
  const long double g = got, d = std::fabs(g - want);
  if (d <= 1e-15L) return true;
  return d <= rel * std::max(std::fabs(g), std::fabs(want));
}

// Compares one backend result (integers exactly, ratios after finalize) with the oracle.
// Percentile ranks are compared through their values only when `exact_percentiles` (the spec's
// percentiles are such that (n-1) q / 100 is computed exactly by the oracle).
inline void check_concentration(const ConcentrationRaw& raw, const oracle::Conc& o, const ConcentrationSpec& spec,
                                bool exact_percentiles = true) {
  REQUIRE(raw.n == o.n);
  CHECK(to_string(raw.total) == to_string(o.total));
  CHECK(to_string(raw.rank_weighted) == to_string(o.rank_weighted));
  CHECK(to_string(raw.sum_squares) == to_string(o.sum_squares));
  REQUIRE(raw.top_sums.size() == spec.top_k.size() + spec.top_pct.size());
  for (size_t i = 0; i < spec.top_k.size(); ++i) CHECK(to_string(raw.top_sums[i]) == to_string(o.top_k_sum[i]));
  for (size_t i = 0; i < spec.top_pct.size(); ++i)
    CHECK(to_string(raw.top_sums[spec.top_k.size() + i]) == to_string(o.top_pct_sum[i]));
  if (o.n > 0 && exact_percentiles) {
    REQUIRE(raw.percentile_values.size() == 2 * spec.percentiles.size());
    for (size_t i = 0; i < spec.percentiles.size(); ++i) {
      CHECK(raw.percentile_values[2 * i] == o.percentile_lo_value[i]);
      CHECK(raw.percentile_values[2 * i + 1] == o.percentile_hi_value[i]);
    }
  }
  CHECK(raw.below_counts == o.below_count);
  REQUIRE(raw.lorenz_sums.size() == o.lorenz_sum.size());
  for (size_t j = 0; j < o.lorenz_sum.size(); ++j) CHECK(to_string(raw.lorenz_sums[j]) == to_string(o.lorenz_sum[j]));

  const ConcentrationStats st = finalize(raw, spec);
  CHECK(close(st.gini, o.gini));
  if (o.gini_mad >= 0) CHECK(close(st.gini, o.gini_mad));
  CHECK(close(st.hhi, o.hhi));
  for (size_t i = 0; i < spec.top_k.size(); ++i) CHECK(close(st.top_k[i].second, o.top_k_share[i]));
  for (size_t i = 0; i < spec.top_pct.size(); ++i) CHECK(close(st.top_pct[i].second, o.top_pct_share[i]));
  for (size_t i = 0; i < spec.percentiles.size(); ++i) CHECK(close(st.percentiles[i].second, o.percentile[i]));
  for (size_t i = 0; i < spec.below.size(); ++i) {
    CHECK(st.below[i].count == o.below_count[i]);
    CHECK(close(st.below[i].fraction, o.below_fraction[i]));
  }
  REQUIRE(st.lorenz.size() == o.lorenz.size());
  for (size_t j = 0; j < o.lorenz.size(); ++j) {
    CHECK(close(st.lorenz[j].first, o.lorenz[j].first));
    CHECK(close(st.lorenz[j].second, o.lorenz[j].second));
  }
}

}  // namespace ecostat::conformance
