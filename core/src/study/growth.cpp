// Growth: repositories created per group and per tag category, per month and year, cumulative,
// with year-over-year factors (docs/study-growth.md).
#include <algorithm>
#include <functional>

#include "study_internal.hpp"

namespace ecostat::study {

namespace {

constexpr int kKinds = 4;  // RepoKind model, dataset, space, unknown

// Fills the derived series of one row from its monthly counts.
void finish_series(GrowthSeries* s, const GrowthStudy& g) {
  s->cumulative.resize(s->monthly.size());
  s->yearly.assign(g.n_years, 0);
  uint64_t c = 0;
  for (size_t i = 0; i < s->monthly.size(); ++i) {
    c += s->monthly[i];
    s->cumulative[i] = c;
    s->yearly[year_of(static_cast<Month>(g.month_first + i)) - g.year_first] += s->monthly[i];
  }
  s->total = c;
  s->cumulative_yearly.resize(g.n_years);
  c = 0;
  for (uint32_t y = 0; y < g.n_years; ++y) {
    const uint64_t before = c;
    c += s->yearly[y];
    s->cumulative_yearly[y] = c;
    s->yoy.push_back(yoy_factor(y ? s->yearly[y - 1] : 0, s->yearly[y]));
    s->yoy_cumulative.push_back(yoy_factor(before, c));
  }
}

}  // namespace

void compute_growth(const Context& ctx, GrowthStudy* out) {
  const StudySpec& spec = ctx.spec.study;
  const RepoTable& repos = ctx.repos;
  const uint32_t n = repos.size();
  // Only repositories with a record (placeholders have no creation date anyway).
  int32_t lo = INT32_MAX, hi = INT32_MIN;
  std::vector<uint32_t> month_index(n, kNone);
  for (uint32_t u = 0; u < n; ++u) {
    if (repos.placeholder[u]) continue;
    if (repos.created_day[u] == kNoDay) {
      ++out->undated;
      continue;
    }
    ++out->dated;
    const int32_t m = month_of_day(repos.created_day[u]);
    lo = std::min(lo, m), hi = std::max(hi, m);
  }
  if (out->dated == 0) {
    out->reason = "no repository record has a creation date";
    return;
  }
  out->computed = true;
  hi = std::max(hi, ctx.events_last_month);
  out->month_first = static_cast<Month>(lo);
  out->n_months = static_cast<uint32_t>(hi - lo + 1);
  out->year_first = year_of(out->month_first);
  out->n_years = static_cast<uint32_t>(year_of(static_cast<Month>(hi)) - out->year_first + 1);
  out->last_year_months = static_cast<uint32_t>(hi % 12 + 1 - (out->n_years == 1 ? lo % 12 : 0));
  for (uint32_t u = 0; u < n; ++u)
    if (!repos.placeholder[u] && repos.created_day[u] != kNoDay)
      month_index[u] = static_cast<uint32_t>(month_of_day(repos.created_day[u]) - lo);

  auto series = [&](const std::string& key, const std::string& kind) {
    GrowthSeries s;
    s.key = key;
    s.kind = kind;
    s.monthly.assign(out->n_months, 0);
    return s;
  };

  // Totals per kind, then over all kinds.
  {
    std::vector<GrowthSeries> per_kind;
    for (int k = 0; k < kKinds; ++k) per_kind.push_back(series("all", repo_kind_name(static_cast<RepoKind>(k))));
    GrowthSeries all = series("all", "all");
    for (uint32_t u = 0; u < n; ++u)
      if (month_index[u] != kNone) {
        ++per_kind[static_cast<int>(repos.kind[u])].monthly[month_index[u]];
        ++all.monthly[month_index[u]];
      }
    for (auto& s : per_kind) {
      finish_series(&s, *out);
      if (s.total) out->totals.push_back(std::move(s));
    }
    finish_series(&all, *out);
    out->totals.push_back(std::move(all));
  }

  // One table per growth group: totals per group and kind through the backend's group_sum,
  // then monthly series for the groups listed.
  std::vector<std::vector<uint64_t>> ones(kKinds, std::vector<uint64_t>(n, 0));
  for (uint32_t u = 0; u < n; ++u)
    if (month_index[u] != kNone) ones[static_cast<int>(repos.kind[u])][u] = 1;
  auto build_table = [&](const std::string& name, uint32_t n_groups, const std::vector<std::vector<uint64_t>>& per_kind_totals,
                         const std::function<std::string(uint32_t)>& key_of,
                         const std::function<void(uint32_t u, const std::function<void(uint32_t)>&)>& groups_of_unit) {
    GrowthTable table;
    table.group = name;
    std::vector<uint64_t> total(n_groups, 0);
    for (int k = 0; k < kKinds; ++k)
      for (uint32_t g = 0; g < n_groups && g < per_kind_totals[k].size(); ++g) total[g] += per_kind_totals[k][g];
    std::vector<uint32_t> order;
    for (uint32_t g = 0; g < n_groups; ++g)
      if (total[g]) order.push_back(g);
    table.groups = order.size();
    std::vector<std::string> keys(n_groups);
    for (uint32_t g : order) keys[g] = key_of(g);
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      if (total[a] != total[b]) return total[a] > total[b];
      return keys[a] < keys[b];
    });
    if (spec.growth_limit && order.size() > spec.growth_limit) {
      order.resize(spec.growth_limit);
      table.truncated = true;
    }
    std::vector<uint32_t> slot(n_groups, kNone);
    std::vector<GrowthSeries> rows;
    for (uint32_t i = 0; i < order.size(); ++i) {
      slot[order[i]] = i;
      for (int k = 0; k < kKinds; ++k) rows.push_back(series(keys[order[i]], repo_kind_name(static_cast<RepoKind>(k))));
    }
    for (uint32_t u = 0; u < n; ++u) {
      if (month_index[u] == kNone) continue;
      groups_of_unit(u, [&](uint32_t g) {
        if (slot[g] != kNone) ++rows[size_t(slot[g]) * kKinds + static_cast<int>(repos.kind[u])].monthly[month_index[u]];
      });
    }
    for (auto& s : rows) {
      finish_series(&s, *out);
      if (s.total) table.rows.push_back(std::move(s));
    }
    return table;
  };

  for (const auto& name : spec.growth_groups) {
    const GroupMap& map = ctx.groups.map(name);
    const GroupKeys& keys = ctx.groups.keys(name);
    std::vector<std::vector<uint64_t>> per_kind(kKinds);
    for (int k = 0; k < kKinds; ++k) per_kind[k] = group_sum(ctx, ones[k], map);
    const uint32_t n_groups = map.group_of_unit.empty() ? n : map.n_groups;
    out->tables.push_back(build_table(
        name, n_groups, per_kind, [&](uint32_t g) { return std::string(keys.key(g)); },
        [&](uint32_t u, const std::function<void(uint32_t)>& f) { f(map.group_of_unit.empty() ? u : map.group_of_unit[u]); }));
  }

  // Tag categories: a repository may be in several.
  {
    const auto& cats = spec.tag_categories;
    const uint32_t C = static_cast<uint32_t>(cats.size());
    auto matching = [&](const Dictionary& dict) {
      std::vector<std::vector<uint32_t>> m(dict.size());
      for (uint32_t t = 0; t < dict.size(); ++t)
        for (uint32_t c = 0; c < C; ++c)
          for (const auto& p : cats[c].patterns)
            if (tag_matches(p, dict.at(t))) {
              m[t].push_back(c);
              break;
            }
      return m;
    };
    const auto by_tag = matching(repos.tags), by_pipeline = matching(repos.pipeline_tags);
    std::vector<uint8_t> seen(C, 0);
    auto each_category = [&](uint32_t u, const std::function<void(uint32_t)>& f) {
      std::fill(seen.begin(), seen.end(), 0);
      for (uint32_t i = repos.tag_offsets[u]; i < repos.tag_offsets[u + 1]; ++i)
        for (uint32_t c : by_tag[repos.tag_ids[i]]) seen[c] = 1;
      if (repos.pipeline_tag[u] != kNone)
        for (uint32_t c : by_pipeline[repos.pipeline_tag[u]]) seen[c] = 1;
      for (uint32_t c = 0; c < C; ++c)
        if (seen[c]) f(c);
    };
    std::vector<std::vector<uint64_t>> per_kind(kKinds, std::vector<uint64_t>(C, 0));
    for (uint32_t u = 0; u < n; ++u)
      if (month_index[u] != kNone) each_category(u, [&](uint32_t c) { ++per_kind[static_cast<int>(repos.kind[u])][c]; });
    out->tables.push_back(build_table(
        "tag_category", C, per_kind, [&](uint32_t c) { return cats[c].name; }, each_category));
  }
}

}  // namespace ecostat::study
