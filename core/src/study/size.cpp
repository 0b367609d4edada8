// Model size: download-weighted mean and median parameter count per year, the unweighted
// ones, and the share of downloads by size bucket (docs/study-size.md).
#include <map>

#include "study_internal.hpp"

namespace ecostat::study {

namespace {

// One window's row from per-unit downloads `d` (non-models already zero).
SizeRow size_row(const Context& ctx, const std::vector<uint64_t>& d, const GroupMap& bucket_map,
                 const GroupKeys& bucket_keys, int year) {
  SizeRow row;
  row.year = year;
  const RepoTable& repos = ctx.repos;
  std::vector<std::pair<uint64_t, uint64_t>> vw;
  std::vector<double> unweighted;
  for (uint32_t u = 0; u < repos.size(); ++u) {
    if (d[u] == 0) continue;
    row.downloads += d[u];
    const uint64_t p = repos.parameters[u];
    if (p == 0) continue;
    row.downloads_with_size += d[u];
    vw.emplace_back(p, d[u]);
    unweighted.push_back(static_cast<double>(p));
  }
  row.models = unweighted.size();
  row.weighted_mean = weighted_mean(vw);
  row.weighted_median = weighted_median(std::move(vw));
  const Summary s = summarise(unweighted);
  row.mean = s.mean;
  row.median = s.median;
  const std::vector<uint64_t> sums = group_sum(ctx, d, bucket_map);  // buckets, then unknown
  for (uint32_t b = 0; b < bucket_map.n_groups; ++b) {
    const uint64_t v = b < sums.size() ? sums[b] : 0;
    row.buckets.push_back({std::string(bucket_keys.key(b)), v, row.downloads ? static_cast<double>(v) / static_cast<double>(row.downloads) : 0.0});
  }
  return row;
}

}  // namespace

void compute_size(const Context& ctx, SizeStudy* out) {
  const RepoTable& repos = ctx.repos;
  const uint32_t n = repos.size();
  out->computed = true;
  const GroupMap& bucket_map = ctx.groups.map("size_bucket");
  const GroupKeys& bucket_keys = ctx.groups.keys("size_bucket");
  out->bucket_labels.clear();
  for (uint32_t b = 0; b < bucket_map.n_groups; ++b) out->bucket_labels.emplace_back(bucket_keys.key(b));
  for (uint32_t u = 0; u < n; ++u)
    if (is_model(repos, u)) {
      ++out->models;
      out->models_with_size += repos.parameters[u] > 0;
    }

  // Over the job's measure (all time, or what --measure chose).
  std::vector<uint64_t> d(n, 0);
  for (uint32_t u = 0; u < n; ++u) d[u] = is_model(repos, u) && u < ctx.totals.size() ? ctx.totals[u] : 0;
  out->overall = size_row(ctx, d, bucket_map, bucket_keys, 0);

  // Per calendar year of the download records.
  if (ctx.unit_month && ctx.unit_month->n_months > 0) {
    const GroupMonthTable& t = *ctx.unit_month;
    const Month first = t.month_first, last = static_cast<Month>(t.month_first + t.n_months - 1);
    for (int y = year_of(first); y <= year_of(last); ++y) {
      std::fill(d.begin(), d.end(), 0);
      bool any = false;
      for (uint32_t mi = 0; mi < t.n_months; ++mi) {
        const Month m = static_cast<Month>(first + mi);
        if (year_of(m) != y) continue;
        const uint64_t* row = t.sums.data() + size_t(mi) * t.n_groups;
        for (uint32_t u = 0; u < n && u < t.n_groups; ++u)
          if (row[u] && is_model(repos, u)) d[u] += row[u], any = true;
      }
      if (any) out->by_year.push_back(size_row(ctx, d, bucket_map, bucket_keys, y));
    }
  }

  // Unweighted, by the year the models were created.
  std::map<int, std::vector<double>> by_created;
  for (uint32_t u = 0; u < n; ++u)
    if (is_model(repos, u) && repos.parameters[u] > 0 && repos.created_day[u] != kNoDay)
      by_created[year_of(month_of_day(repos.created_day[u]))].push_back(static_cast<double>(repos.parameters[u]));
  for (const auto& [y, v] : by_created) {
    const Summary s = summarise(v);
    out->by_created_year.push_back({y, s.n, s.mean, s.median});
  }
}

}  // namespace ecostat::study
