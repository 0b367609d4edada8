// Attribution over time: download share by country, region, organisation type (any group) per
// calendar year, summed from the accumulator's month tables; and what the inheritance option
// changed (docs/study-attribution-time.md).
#include <algorithm>

#include "study_internal.hpp"

namespace ecostat::study {

namespace {

// The `unknown` row is listed (even at 0 in a year) when some unit is unattributed, as in the
// share tables; a group no unit falls in does not exist and gets no row.
ShareYearTable share_year_table(const std::string& name, const GroupKeys& keys, const std::vector<uint8_t>& has_member,
                                const GroupMonthTable& tab, size_t limit) {
  const bool unknown_exists = keys.unknown_id() != kNone && has_member[keys.unknown_id()];
  ShareYearTable t;
  t.group = name;
  if (tab.n_months == 0) return t;
  const int y0 = year_of(tab.month_first);
  const int y1 = year_of(static_cast<Month>(tab.month_first + tab.n_months - 1));
  std::vector<uint64_t> sums(tab.n_groups);
  std::vector<uint32_t> order;
  for (int y = y0; y <= y1; ++y) {
    std::fill(sums.begin(), sums.end(), 0);
    for (uint32_t mi = 0; mi < tab.n_months; ++mi) {
      if (year_of(static_cast<Month>(tab.month_first + mi)) != y) continue;
      const uint64_t* row = tab.sums.data() + size_t(mi) * tab.n_groups;
      for (uint32_t g = 0; g < tab.n_groups; ++g) sums[g] += row[g];
    }
    uint64_t total = 0;
    order.clear();
    for (uint32_t g = 0; g < tab.n_groups; ++g) {
      total += sums[g];
      if (sums[g]) order.push_back(g);
    }
    if (total == 0) continue;
    t.year_totals.emplace_back(y, total);
    auto by_downloads = [&](uint32_t a, uint32_t b) {
      if (sums[a] != sums[b]) return sums[a] > sums[b];
      return keys.key(a) < keys.key(b);
    };
    const size_t keep = (limit == 0 || limit >= order.size()) ? order.size() : limit;
    std::partial_sort(order.begin(), order.begin() + keep, order.end(), by_downloads);
    t.truncated |= keep < order.size();
    bool unknown_listed = false;
    auto share = [&](uint32_t g) { return static_cast<double>(sums[g]) / static_cast<double>(total); };
    for (size_t i = 0; i < keep; ++i) {
      unknown_listed |= order[i] == keys.unknown_id();
      t.rows.push_back({std::string(keys.key(order[i])), y, sums[order[i]], share(order[i])});
    }
    if (!unknown_listed && unknown_exists) {
      const uint32_t g = keys.unknown_id();
      t.rows.push_back({std::string(keys.key(g)), y, sums[g], share(g)});
    }
  }
  return t;
}

}  // namespace

void compute_attribution_time(const Context& ctx, AttributionStudy* out) {
  out->inherit = ctx.spec.inherit_attribution;
  for (const char* g : {"organisation", "country", "region", "org_type"})
    out->inherited.emplace_back(g, ctx.groups.inherited(g));
  for (const auto& g : ctx.spec.study.year_groups) {
    auto it = ctx.group_month.find(g);
    if (it == ctx.group_month.end() || !it->second) continue;  // no download records
    out->share_year.push_back(share_year_table(g, ctx.groups.keys(g), ctx.groups.has_member(g), *it->second, ctx.spec.share_limit));
  }
}

}  // namespace ecostat::study
