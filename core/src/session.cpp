// The push-style session: producers fill the tables and push download batches; finish()
// reduces, to_partial() stops before the reduction (docs/library.md).
#include "ecostat/session.hpp"

#include <algorithm>

#include "ecostat/errors.hpp"
#include "engine_internal.hpp"
#include "study/study_internal.hpp"

namespace ecostat {

struct Session::State {
  EngineOptions options;
  std::unique_ptr<Backend> backend;
  BackendInfo info;
  std::unique_ptr<EventAccumulator> accumulator;
  RepoTable repos;
  AttributionTable attribution;
  ParameterTable params;
  InputSummary input;
  std::vector<WideEvent> wide;  // counts above u32: the backends never see them
  AccumulatorReport accumulator_report;  // set when the accumulator finishes
  std::string downloads_source;  // for messages, set when the stream ends
  bool batches_added = false;
  bool finish_only = false;  // Ends::finish_only: to_partial() is refused
  bool spent = false;
  std::vector<Timing> timings;
  detail::StageTimer timer{timings};

  bool have_downloads() const {
    if (batches_added) return true;
    for (const FileSummary& f : input.files)
      if (f.role == "downloads") return true;
    return false;
  }
  void check_live(const char* call) const {
    if (spent) throw Error(std::string("Session::") + call + ": the session is finished");
  }
  // The accumulator's tables for `maps`, with the wide events added exactly.
  EventTotals month_tables(uint32_t n_units, const std::vector<GroupMap>& maps) {
    // Wide events are added to the tables after finish(): that needs every cell, not top rows
    // (a wide event may lift a group into a month's top).
    const bool top_rows_asked = std::any_of(maps.begin(), maps.end(), [](const GroupMap& m) { return m.top_rows > 0; });
    if (!wide.empty() && top_rows_asked) {
      std::vector<GroupMap> whole = maps;
      for (GroupMap& m : whole) m.top_rows = 0;
      return month_tables(n_units, whole);
    }
    EventTotals totals = accumulator->finish(n_units, maps);
    accumulator_report = accumulator->report();
    accumulator.reset();  // its unit x month table is not needed again: free it before the share rows
    if (!wide.empty()) totals.unit_concentration.reset();  // computed without the wide events
    add_wide_events(totals, wide, maps, repos.ids, downloads_source);
    return totals;
  }
};

Session::Session(const EngineOptions& options, Ends ends) : s_(std::make_unique<State>()) {
  options.validate();
  s_->options = options;
  s_->backend = select_backend(options.backend, options.threads, options.device);
  s_->info = s_->backend->info();
  AccumulatorPlan plan;  // reduce() asks month tables only for these (and a partial for all)
  plan.month_tables = ends == Ends::finish_or_partial || !options.month_groups.empty() || study::needs_month_maps(options);
  // The model concentration over download records: a GPU backend computes it at finish, where
  // the unit totals are (reduce() uses it when the measure is records).
  const bool model_concentration = std::find(options.concentration_units.begin(), options.concentration_units.end(),
                                             "model") != options.concentration_units.end();
  if (model_concentration && (options.measure == Measure::automatic || options.measure == Measure::records))
    plan.unit_concentration = options.concentration;
  s_->finish_only = ends == Ends::finish_only;
  s_->accumulator = s_->backend->make_accumulator(plan);
  s_->timer.mark("select_backend");
}

Session::~Session() = default;

const EngineOptions& Session::options() const { return s_->options; }
const BackendInfo& Session::backend() const { return s_->info; }
RepoTable& Session::repositories() { return s_->repos; }
AttributionTable& Session::attribution() { return s_->attribution; }
ParameterTable& Session::parameters() { return s_->params; }
InputSummary& Session::input() { return s_->input; }
void Session::mark(const std::string& stage) { s_->timer.mark(stage); }

void Session::add_downloads(const EventBatch& batch) {
  s_->check_live("add_downloads");
  if (batch.unit_bound > s_->repos.size())
    throw Error("Session::add_downloads: the batch names unit " + std::to_string(batch.unit_bound - 1) + " but only " +
                std::to_string(s_->repos.size()) + " repositories exist (add them with repositories().ensure first)");
  s_->batches_added = true;
  if (batch.size() > 0) {
    s_->accumulator->expect_units(uint32_t(s_->repos.size()));
    s_->accumulator->add(batch);
  }
  s_->wide.insert(s_->wide.end(), batch.wide.begin(), batch.wide.end());
}

Results Session::finish() {
  s_->check_live("finish");
  s_->spent = true;
  s_->downloads_source = detail::source_of(s_->input, "downloads");
  const bool have_downloads = s_->have_downloads();
  Results res;
  res.backend = s_->info;
  res.concentration_spec = s_->options.concentration;
  res.input = std::move(s_->input);
  detail::ReduceInput in{s_->options, *s_->backend, s_->repos, s_->attribution, s_->params, have_downloads,
                         [this](uint32_t n, const std::vector<GroupMap>& maps) { return s_->month_tables(n, maps); }};
  res.timings = std::move(s_->timings);
  detail::StageTimer timer(res.timings);
  detail::reduce(in, res, timer);
  res.accumulator = s_->accumulator_report;
  return res;
}

Partial Session::to_partial() {
  s_->check_live("to_partial");
  if (s_->finish_only)
    throw UsageError("Session::to_partial: the session was made with Session::Ends::finish_only (a partial needs the "
                     "unit x month table it did not keep)");
  const bool have_downloads = s_->have_downloads();
  s_->spent = true;
  s_->downloads_source = detail::source_of(s_->input, "downloads");
  Partial p;
  const uint32_t n = s_->repos.size();
  // The unit x month table: the identity map (group = unit).
  const std::vector<GroupMap> identity{GroupMap{"model", {}, n}};
  EventTotals totals = s_->month_tables(n, identity);
  p.unit_total = std::move(totals.unit_total);
  p.unit_total.resize(n, 0);
  p.month_first = totals.month_first;
  p.n_months = totals.n_months;
  p.events = totals.events;
  // The non-zero cells, by unit then month, reading the month-major table in order twice
  // (count per unit, then place) instead of striding across it once per unit.
  const GroupMonthTable& um = totals.group_month.at(0);
  std::vector<uint64_t> start(size_t(n) + 1, 0);
  for (uint32_t mi = 0; mi < um.n_months; ++mi)
    for (uint32_t u = 0; u < n; ++u) start[u + 1] += um.sums[size_t(mi) * n + u] != 0;
  for (uint32_t u = 0; u < n; ++u) start[u + 1] += start[u];
  p.unit_month.resize(start[n]);
  for (uint32_t mi = 0; mi < um.n_months; ++mi)
    for (uint32_t u = 0; u < n; ++u)
      if (const uint64_t v = um.sums[size_t(mi) * n + u]) p.unit_month[start[u]++] = {u, Month(um.month_first + mi), v};
  p.repos = std::move(s_->repos);
  p.attribution = std::move(s_->attribution);
  p.params = std::move(s_->params);
  p.input = std::move(s_->input);
  detail::canonical_input_order(&p.input);
  p.have_downloads = have_downloads;
  return p;
}

}  // namespace ecostat
