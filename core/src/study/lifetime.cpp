// Engagement lifetime from monthly download series: peak, months at or above f * peak, the run
// holding the peak, and the months from the peak to the first fall below (docs/study-lifetime.md).
#include <algorithm>
#include <map>
#include <tuple>

#include "study_internal.hpp"

namespace ecostat::study {

namespace {

// A model that qualifies, before the listing (LifetimeModel without its id: about 50 bytes, not
// 80, for every model of the Hub). The release year is kept, not derived from the day in the
// sort's comparisons (that was a calendar conversion 40 times per model).
struct Candidate {
  uint32_t unit = 0;
  int32_t release_day = kNoDay;
  int32_t release_year = 0;
  Month peak_month = 0;
  uint32_t peak_age_months = 0;
  SeriesLifetime life;
};

struct Acc {
  std::vector<double> above, span, peak_age, decay;
  uint64_t models = 0, censored = 0;
  void add(const Candidate& m) {
    ++models;
    above.push_back(m.life.months_above);
    span.push_back(m.life.span_months);
    peak_age.push_back(m.peak_age_months);
    if (m.life.censored) ++censored;
    else decay.push_back(m.life.decay_months);
  }
  LifetimeAggregate result(int year) const {
    LifetimeAggregate a;
    a.year = year;
    a.models = models;
    a.months_above = summarise(above);
    a.span_months = summarise(span);
    a.peak_age_months = summarise(peak_age);
    a.decay_months = summarise(decay);
    a.censored = censored;
    return a;
  }
};

}  // namespace

void compute_lifetime(const Context& ctx, LifetimeStudy* out) {
  const StudySpec& spec = ctx.spec.study;
  const RepoTable& repos = ctx.repos;
  out->fraction = spec.lifetime_fraction;
  std::tie(out->window_from, out->window_to) = parse_day_window(spec.lifetime_window);
  if (!ctx.unit_month || ctx.unit_month->n_months == 0) {
    out->reason = "needs download records with dates (--downloads)";
    return;
  }
  out->computed = true;
  const GroupMonthTable& t = *ctx.unit_month;
  const Month first = t.month_first, last = static_cast<Month>(t.month_first + t.n_months - 1);
  std::vector<uint8_t> kind_on(4, 0);
  for (const auto& k : spec.lifetime_kinds) kind_on[static_cast<int>(parse_repo_kind(k))] = 1;

  std::vector<Candidate> models;  // compact: a LifetimeModel (with its id) only for the listed ones
  for_each_unit_series(t, repos.size(), [&](uint32_t u, const uint64_t* table_series) {
    if (!kind_on[static_cast<int>(repos.kind[u])]) return;
    ++out->candidates;
    const int32_t release = repos.created_day[u];
    if (release == kNoDay) {
      ++out->no_release_date;
      return;
    }
    if ((out->window_from != kNoDay && release < out->window_from) || (out->window_to != kNoDay && release > out->window_to)) {
      ++out->outside_window;
      return;
    }
    const Month rm = month_of_day(release);
    Month start = rm;
    if (rm < first) {
      ++out->left_censored;
      if (!spec.lifetime_left_censored) return;
      start = first;
    }
    // The series: from the start month to the last month of the data.
    const uint64_t* series = start <= last ? table_series + (start - first) : nullptr;
    const size_t len = start <= last ? size_t(last - start + 1) : 0;
    Candidate m;
    m.life = lifetime_of_series(series, len, spec.lifetime_fraction);
    if (m.life.peak == 0 || m.life.active_months < std::max<uint32_t>(1, spec.lifetime_min_months)) {
      ++out->too_short;
      return;
    }
    m.unit = u;
    m.release_day = release;
    m.release_year = year_of(rm);
    m.peak_month = static_cast<Month>(start + m.life.peak_index);
    m.peak_age_months = static_cast<uint32_t>(m.peak_month - rm);
    models.push_back(m);
  });

  {
    Acc all;
    for (const auto& m : models) all.add(m);
    out->overall = all.result(0);
  }
  // By release year, in one pass (a stable sort of every candidate by year took about 100 ms
  // of the 2x10^7 job; the summaries do not depend on the order).
  {
    std::map<int, Acc> by_year;
    for (const auto& m : models) by_year[m.release_year].add(m);
    for (const auto& [y, acc] : by_year) out->by_release_year.push_back(acc.result(y));
  }

  const size_t keep = spec.lifetime_limit ? std::min(models.size(), spec.lifetime_limit) : models.size();
  std::partial_sort(models.begin(), models.begin() + keep, models.end(), [&](const Candidate& a, const Candidate& b) {
    if (a.life.peak != b.life.peak) return a.life.peak > b.life.peak;
    return repos.ids.at(a.unit) < repos.ids.at(b.unit);
  });
  out->listed.reserve(keep);
  for (size_t i = 0; i < keep; ++i) {
    const Candidate& c = models[i];
    LifetimeModel m;
    m.id = repos.ids.at(c.unit);
    m.unit = c.unit;
    m.release_day = c.release_day;
    m.peak_month = c.peak_month;
    m.peak_age_months = c.peak_age_months;
    m.life = c.life;
    out->listed.push_back(std::move(m));
  }
}

}  // namespace ecostat::study
