// The study's parameters, calendar helpers and the small statistics it is built from.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>

#include "ecostat/engine.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/study.hpp"

namespace ecostat {

// ---- calendar ---------------------------------------------------------------------------------
std::string day_label(int32_t day) {
  return day == kNoDay ? "" : iso_date(day);
}

int32_t last_day_of_month(Month m) {
  const int y = 1970 + m / 12;
  const unsigned mo = m % 12 + 1;
  return mo == 12 ? days_from_civil(y + 1, 1, 1) - 1 : days_from_civil(y, mo + 1, 1) - 1;
}

// "YYYY", "YYYY-MM" or "YYYY-MM-DD"; `end` picks the last day of a year or month.
static int32_t parse_window_side(const std::string& s, bool end) {
  int y = 0, m = 0, d = 0;
  char tail = 0;
  const int n = std::sscanf(s.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail);
  const size_t len = s.size();
  auto bad = [&]() -> int32_t { throw UsageError("bad date '" + s + "' in a window (expected YYYY, YYYY-MM or YYYY-MM-DD)"); };
  for (char c : s)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '-')) bad();
  if (n == 1 && len == 4) return end ? days_from_civil(y, 12, 31) : days_from_civil(y, 1, 1);
  if (n == 2 && len == 7 && m >= 1 && m <= 12)
    return end ? last_day_of_month(month_of(y, m)) : days_from_civil(y, static_cast<unsigned>(m), 1);
  if (n == 3 && len == 10 && m >= 1 && m <= 12 && d >= 1 &&
      days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)) <= last_day_of_month(month_of(y, m)))
    return days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  return bad();
}

std::pair<int32_t, int32_t> parse_day_window(const std::string& s) {
  if (s.empty()) return {kNoDay, kNoDay};
  const size_t colon = s.find(':');
  if (colon == std::string::npos || s.find(':', colon + 1) != std::string::npos)
    throw UsageError("bad window '" + s + "' (expected FROM:TO, either side may be empty)");
  const std::string a = s.substr(0, colon), b = s.substr(colon + 1);
  const int32_t from = a.empty() ? kNoDay : parse_window_side(a, false);
  const int32_t to = b.empty() ? kNoDay : parse_window_side(b, true);
  if (from != kNoDay && to != kNoDay && to < from) throw UsageError("window '" + s + "' ends before it starts");
  return {from, to};
}

// ---- parameters -------------------------------------------------------------------------------
std::vector<TagCategory> default_tag_categories() {
  return {
      {"robotics", {"task_categories:robotics", "robotics", "lerobot"}},
      {"speech", {"task_categories:automatic-speech-recognition", "automatic-speech-recognition",
                  "task_categories:text-to-speech", "text-to-speech"}},
      {"text-generation", {"task_categories:text-generation", "text-generation"}},
  };
}

TagCategory parse_tag_category(const std::string& s) {
  const size_t eq = s.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 >= s.size())
    throw UsageError("bad tag category '" + s + "' (expected NAME=PATTERN|PATTERN...)");
  TagCategory c;
  c.name = s.substr(0, eq);
  size_t start = eq + 1;
  while (start <= s.size()) {
    size_t bar = s.find('|', start);
    if (bar == std::string::npos) bar = s.size();
    const std::string p = s.substr(start, bar - start);
    if (p.empty() || p == "*") throw UsageError("bad tag category '" + s + "': an empty pattern");
    c.patterns.push_back(p);
    start = bar + 1;
  }
  return c;
}

bool StudySpec::enabled(const std::string& part) const {
  return std::find(parts.begin(), parts.end(), part) != parts.end();
}

void StudySpec::validate() const {
  static const std::set<std::string> known{"size", "adoption", "lifetime", "growth", "attribution"};
  for (const auto& p : parts)
    if (!known.count(p))
      throw UsageError("unknown study part '" + p + "' (expected size, adoption, lifetime, growth, attribution or none)");
  if (adoption_top == 0) throw UsageError("adoption top must be at least 1");
  {
    const size_t slash = adoption_ratio.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 >= adoption_ratio.size() ||
        adoption_ratio.find('/', slash + 1) != std::string::npos)
      throw UsageError("bad adoption ratio '" + adoption_ratio + "' (expected CLASS/CLASS, e.g. 1-9B/>=100B)");
  }
  for (size_t i = 1; i < adoption_ages.size(); ++i)
    if (adoption_ages[i] <= adoption_ages[i - 1]) throw UsageError("adoption ages must increase");
  if (!(lifetime_fraction > 0.0 && lifetime_fraction <= 1.0))
    throw UsageError("lifetime fraction must be in (0, 1]");
  parse_day_window(lifetime_window);
  for (const auto& k : lifetime_kinds) {
    bool ok = false;
    const RepoKind kind = parse_repo_kind(k, &ok);
    if (!ok || kind == RepoKind::unknown) throw UsageError("lifetime kinds: unknown kind '" + k + "'");
  }
  const auto& groups = all_group_names();
  for (const auto& g : growth_groups)
    if (g == "model" || std::find(groups.begin(), groups.end(), g) == groups.end())
      throw UsageError("growth groups: unknown group '" + g + "' (any share group but model)");
  for (const auto& g : year_groups)
    if (std::find(groups.begin(), groups.end(), g) == groups.end())
      throw UsageError("year groups: unknown group '" + g + "'");
  std::set<std::string> names;
  for (const auto& c : tag_categories) {
    if (c.name.empty() || c.patterns.empty()) throw UsageError("a tag category needs a name and a pattern");
    if (!names.insert(c.name).second) throw UsageError("tag category '" + c.name + "' given twice");
  }
}

// ---- statistics -------------------------------------------------------------------------------
Yoy yoy_factor(uint64_t previous, uint64_t current) {
  Yoy y;
  if (previous == 0) {
    y.is_new = current > 0;
    y.defined = false;
    return y;
  }
  y.defined = true;
  y.factor = static_cast<double>(static_cast<long double>(current) / static_cast<long double>(previous));
  return y;
}

SeriesLifetime lifetime_of_series(const uint64_t* v, size_t n, double fraction) {
  SeriesLifetime s;
  for (size_t i = 0; i < n; ++i) {
    s.active_months += v[i] > 0;
    if (v[i] > s.peak) s.peak = v[i], s.peak_index = static_cast<uint32_t>(i);
  }
  if (s.peak == 0) return s;
  // v >= f * peak for an integer v is v >= ceil(f * peak): one long double product per series.
  const long double exact = static_cast<long double>(fraction) * static_cast<long double>(s.peak);
  const long double up = std::ceil(exact);
  const uint64_t threshold = up >= 18446744073709551615.0L ? UINT64_MAX : static_cast<uint64_t>(up);
  auto above = [&](size_t i) { return v[i] >= threshold; };
  for (size_t i = 0; i < n; ++i) s.months_above += above(i);
  size_t lo = s.peak_index, hi = s.peak_index;
  while (lo > 0 && above(lo - 1)) --lo;
  while (hi + 1 < n && above(hi + 1)) ++hi;
  s.span_months = static_cast<uint32_t>(hi - lo + 1);
  if (hi + 1 < n) {  // the month after the run is the first below f * peak
    s.censored = false;
    s.decay_months = static_cast<uint32_t>(hi + 1 - s.peak_index);
  }
  return s;
}

namespace study {

double median(std::vector<double> v) {
  if (v.empty()) return kNaN;
  const size_t n = v.size(), h = n / 2;
  std::nth_element(v.begin(), v.begin() + h, v.end());
  if (n % 2) return v[h];
  const double hi = v[h];
  const double lo = *std::max_element(v.begin(), v.begin() + h);
  return static_cast<double>((static_cast<long double>(lo) + hi) / 2);
}

// The smallest value v whose weight at or below it, W(<= v), is at least half the total (the
// first value a walk in value order reaches half at; a zero weight never moves the walk, so it
// is never the answer). Found by selection, in linear time: the walk over a full sort took
// most of the size study's time (a sort of every model per year).
double weighted_median(std::vector<std::pair<uint64_t, uint64_t>> vw) {
  u128 total = 0;
  for (const auto& [v, w] : vw) total += w;
  if (total == 0) return kNaN;
  const u128 need = (total + 1) / 2;  // 2 * W >= total
  u128 below = 0;  // weight of the values left of [lo, hi), all smaller than those in it
  auto lo = vw.begin(), hi = vw.end();
  while (true) {
    // Three-way partition of [lo, hi) around the middle element's value.
    const uint64_t pivot = (lo + (hi - lo) / 2)->first;
    const auto eq = std::partition(lo, hi, [&](const auto& x) { return x.first < pivot; });
    const auto gt = std::partition(eq, hi, [&](const auto& x) { return x.first == pivot; });
    u128 less = 0, equal = 0;
    for (auto it = lo; it != eq; ++it) less += it->second;
    for (auto it = eq; it != gt; ++it) equal += it->second;
    if (below + less >= need) {
      hi = eq;  // a smaller value reaches half (not empty: its weight is at least need > 0)
    } else if (below + less + equal >= need) {
      return static_cast<double>(pivot);  // equal > 0 here: a pair of this value has weight
    } else {
      below += less + equal;
      lo = gt;
    }
  }
}

double weighted_mean(const std::vector<std::pair<uint64_t, uint64_t>>& vw) {
  u128 num = 0, den = 0;
  for (const auto& [v, w] : vw) {
    num += static_cast<u128>(v) * w;
    den += w;
  }
  if (den == 0) return kNaN;
  // Exact quotient and remainder, so the only rounding is the final one.
  const u128 q = num / den, r = num % den;
  return static_cast<double>(static_cast<long double>(q) + static_cast<long double>(r) / static_cast<long double>(den));
}

bool tag_matches(std::string_view pattern, std::string_view tag) {
  const bool prefix = !pattern.empty() && pattern.back() == '*';
  const size_t n = prefix ? pattern.size() - 1 : pattern.size();
  if (prefix ? tag.size() < n : tag.size() != n) return false;
  for (size_t i = 0; i < n; ++i)
    if (std::tolower(static_cast<unsigned char>(pattern[i])) != std::tolower(static_cast<unsigned char>(tag[i])))
      return false;
  return true;
}

Summary summarise(const std::vector<double>& v) {
  Summary s;
  s.n = v.size();
  if (v.empty()) return s;
  long double sum = 0;
  for (double x : v) sum += x;
  s.mean = static_cast<double>(sum / static_cast<long double>(v.size()));
  s.median = median(v);
  return s;
}

}  // namespace study
}  // namespace ecostat
