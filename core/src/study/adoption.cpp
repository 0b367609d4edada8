// Relative adoption: a model's cumulative downloads at age a against the top models of its
// size class at the same age (docs/study-adoption.md).
#include <algorithm>

#include "ecostat/errors.hpp"
#include "study_internal.hpp"

namespace ecostat::study {

void compute_adoption(const Context& ctx, AdoptionStudy* out) {
  const StudySpec& spec = ctx.spec.study;
  const RepoTable& repos = ctx.repos;
  const uint32_t n = repos.size();
  out->top = spec.adoption_top;
  const size_t slash = spec.adoption_ratio.find('/');
  out->numerator = spec.adoption_ratio.substr(0, slash);
  out->denominator = spec.adoption_ratio.substr(slash + 1);
  if (!ctx.unit_month || ctx.unit_month->n_months == 0) {
    out->reason = "needs download records with dates (--downloads)";
    return;
  }
  out->computed = true;
  const GroupMonthTable& t = *ctx.unit_month;
  const uint32_t n_months = t.n_months;
  std::vector<int32_t> month_end(n_months);
  for (uint32_t mi = 0; mi < n_months; ++mi) month_end[mi] = last_day_of_month(static_cast<Month>(t.month_first + mi));
  out->data_end_day = month_end.back();

  const GroupMap& bucket_map = ctx.groups.map("size_bucket");
  const GroupKeys& bucket_keys = ctx.groups.keys("size_bucket");
  const uint32_t unknown_bucket = bucket_keys.unknown_id();
  const uint32_t n_classes = bucket_map.n_groups - (unknown_bucket == kNone ? 0 : 1);

  // The population: models with a size class and a creation date.
  std::vector<uint32_t> pop;
  for (uint32_t u = 0; u < n; ++u) {
    if (!is_model(repos, u)) continue;
    const bool sized = repos.parameters[u] > 0, dated = repos.created_day[u] != kNoDay;
    if (!sized) ++out->without_size;
    else if (!dated) ++out->without_created;
    else pop.push_back(u);
  }
  out->models = pop.size();

  // C_u(a): downloads of the months that ended by day created + a.
  const std::vector<uint32_t>& ages = spec.adoption_ages;
  const size_t A = ages.size();
  std::vector<uint64_t> cum(pop.size() * A, 0);
  std::vector<uint8_t> reached(pop.size() * A, 0);
  std::vector<size_t> pop_index(n, SIZE_MAX);
  for (size_t i = 0; i < pop.size(); ++i) pop_index[pop[i]] = i;
  for_each_unit_series(t, n, [&](uint32_t u, const uint64_t* series) {
    const size_t i = pop_index[u];
    if (i == SIZE_MAX) return;
    const int64_t created = repos.created_day[u];
    uint64_t c = 0;
    uint32_t mi = 0;
    for (size_t a = 0; a < A; ++a) {
      const int64_t limit = created + ages[a];
      while (mi < n_months && month_end[mi] <= limit) c += series[mi++];
      cum[i * A + a] = c;
      reached[i * A + a] = limit <= out->data_end_day;
    }
  });

  // Per class and age: the reference values v1 (median of the top k) and v2 (k-th largest).
  const uint32_t k = spec.adoption_top;
  std::vector<double> v1(size_t(n_classes) * A, kNaN), v2(size_t(n_classes) * A, kNaN);
  // Each class's members (indices into pop, in pop order), so that a (class, age) pass reads
  // its own members only instead of the whole population.
  std::vector<std::vector<size_t>> members(n_classes);
  for (size_t i = 0; i < pop.size(); ++i) {
    const uint32_t cl = bucket_map.group_of_unit[pop[i]];
    if (cl < n_classes) members[cl].push_back(i);
  }
  for (uint32_t cl = 0; cl < n_classes; ++cl)
    for (size_t a = 0; a < A; ++a) {
      AdoptionClassAge row;
      row.size_class = bucket_keys.key(cl);
      row.age = ages[a];
      std::vector<std::pair<uint64_t, uint32_t>> vals;  // (C, unit)
      for (size_t i : members[cl])
        if (reached[i * A + a]) vals.emplace_back(cum[i * A + a], pop[i]);
      row.eligible = vals.size();
      const size_t top = std::min<size_t>(k, vals.size());
      std::partial_sort(vals.begin(), vals.begin() + top, vals.end(), [&](const auto& x, const auto& y) {
        if (x.first != y.first) return x.first > y.first;
        return repos.ids.at(x.second) < repos.ids.at(y.second);
      });
      std::vector<double> top_values;
      for (size_t i = 0; i < top; ++i) {
        top_values.push_back(static_cast<double>(vals[i].first));
        row.top.emplace_back(repos.ids.at(vals[i].second), vals[i].first);
      }
      row.v1 = median(top_values);
      if (vals.size() >= k) row.v2 = static_cast<double>(vals[k - 1].first);  // the k-th largest
      std::vector<double> r1, r2;
      for (const auto& [c, u] : vals) {
        if (row.v1 > 0) r1.push_back(static_cast<double>(c) / row.v1);
        if (row.v2 > 0) r2.push_back(static_cast<double>(c) / row.v2);
      }
      row.ratio_v1_median = median(r1);
      row.ratio_v2_median = median(r2);
      v1[size_t(cl) * A + a] = row.v1;
      v2[size_t(cl) * A + a] = row.v2;
      out->classes.push_back(std::move(row));
    }

  // The ratio of two classes' reference medians.
  auto class_of = [&](const std::string& label) -> uint32_t {
    for (uint32_t cl = 0; cl < n_classes; ++cl)
      if (bucket_keys.key(cl) == label) return cl;
    return kNone;
  };
  const uint32_t num = class_of(out->numerator), den = class_of(out->denominator);
  for (size_t a = 0; a < A; ++a) {
    AdoptionRatio r;
    r.age = ages[a];
    if (num != kNone) r.numerator_v1 = v1[size_t(num) * A + a];
    if (den != kNone) r.denominator_v1 = v1[size_t(den) * A + a];
    if (r.denominator_v1 > 0 && !std::isnan(r.numerator_v1)) r.ratio = r.numerator_v1 / r.denominator_v1;
    out->ratios.push_back(r);
  }

  // Models listed with their own ratios: those named, else the top by total downloads.
  std::vector<size_t> listed;  // indices into pop
  std::vector<size_t> index_of(n, SIZE_MAX);
  for (size_t i = 0; i < pop.size(); ++i) index_of[pop[i]] = i;
  if (!spec.adoption_models.empty()) {
    for (const auto& id : spec.adoption_models) {
      const uint32_t u = repos.ids.find(id);
      if (u == kNone) throw UsageError("adoption models: no repository '" + id + "'");
      if (index_of[u] == SIZE_MAX)
        throw UsageError("adoption models: '" + id + "' has no parameter count or no creation date");
      listed.push_back(index_of[u]);
    }
  } else {
    std::vector<size_t> order(pop.size());
    for (size_t i = 0; i < pop.size(); ++i) order[i] = i;
    auto total = [&](size_t i) { return pop[i] < ctx.totals.size() ? ctx.totals[pop[i]] : 0; };
    const size_t keep_n = spec.adoption_limit == 0 ? order.size() : std::min(order.size(), spec.adoption_limit);
    std::partial_sort(order.begin(), order.begin() + keep_n, order.end(), [&](size_t x, size_t y) {
      if (total(x) != total(y)) return total(x) > total(y);
      return repos.ids.at(pop[x]) < repos.ids.at(pop[y]);
    });
    const size_t keep = spec.adoption_limit == 0 ? order.size() : std::min(order.size(), spec.adoption_limit);
    listed.assign(order.begin(), order.begin() + keep);
  }
  for (size_t i : listed) {
    const uint32_t u = pop[i];
    const uint32_t cl = bucket_map.group_of_unit[u];
    AdoptionModel m;
    m.id = repos.ids.at(u);
    m.size_class = bucket_keys.key(cl);
    m.created_day = repos.created_day[u];
    m.total = u < ctx.totals.size() ? ctx.totals[u] : 0;
    for (size_t a = 0; a < A; ++a) {
      AdoptionModelAge x;
      x.age = ages[a];
      x.reached = reached[i * A + a];
      if (x.reached) {
        x.cumulative = cum[i * A + a];
        const double r1 = v1[size_t(cl) * A + a], r2 = v2[size_t(cl) * A + a];
        if (r1 > 0) x.v1_ratio = static_cast<double>(x.cumulative) / r1;
        if (r2 > 0) x.v2_ratio = static_cast<double>(x.cumulative) / r2;
      }
      m.ages.push_back(x);
    }
    out->listed.push_back(std::move(m));
  }
}

}  // namespace ecostat::study
