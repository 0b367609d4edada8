// The study inside the engine: what run_job hands it, and the pieces the writers call.
#pragma once
#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ecostat/backend.hpp"
#include "ecostat/engine.hpp"
#include "ecostat/records.hpp"
#include "ecostat/lineage.hpp"
#include "ecostat/records.hpp"
#include "ecostat/study.hpp"
#include "group_maps.hpp"

namespace ecostat::study {

// Sets RepoTable::parameters from the table (before any group map is built); counts sources.
ParameterSources apply_parameter_table(RepoTable& repos, const ParameterTable& table, const std::string& prefer);

// The month tables the study needs from the accumulator, to pass to finish() after the
// job's own: `model` (identity: the unit x month table) when size, adoption or lifetime run,
// and each year group that the job's month groups lack. names[i] names maps[i].
std::vector<GroupMap> month_maps(const EngineOptions& spec, GroupMapBuilder& groups, const std::vector<std::string>& month_groups,
                                 std::vector<std::string>* names);
// Whether month_maps can return any map for this spec (kept next to it: the same conditions).
bool needs_month_maps(const EngineOptions& spec);
// Whether a part reads the whole month table of `group` (so it must not come back as top rows).
bool reads_month_table(const EngineOptions& spec, const std::string& group);

struct Context {
  const EngineOptions& spec;
  const RepoTable& repos;
  const LineageGraph& graph;
  GroupMapBuilder& groups;
  Backend& backend;
  const std::vector<uint64_t>& totals;  // per unit, the job's measure
  bool have_downloads = false;
  const GroupMonthTable* unit_month = nullptr;               // identity table, or null
  std::map<std::string, const GroupMonthTable*> group_month;  // by group name (year groups)
  int32_t events_last_month = -1;                             // last month of the events; -1 when none
  // The parts run at once (study::run): their backend calls go through group_sum below.
  mutable std::mutex backend_lock;
};

// ctx.backend.group_sum, one part at a time.
inline std::vector<uint64_t> group_sum(const Context& ctx, const std::vector<uint64_t>& values, const GroupMap& map) {
  std::lock_guard<std::mutex> lk(ctx.backend_lock);
  return ctx.backend.group_sum(values, map);
}

void run(const Context& ctx, StudyResults* out);
void compute_size(const Context& ctx, SizeStudy* out);
void compute_adoption(const Context& ctx, AdoptionStudy* out);
void compute_lifetime(const Context& ctx, LifetimeStudy* out);
void compute_growth(const Context& ctx, GrowthStudy* out);
void compute_attribution_time(const Context& ctx, AttributionStudy* out);

// Units of kind `model` (placeholders included: a parent or a download names a model).
inline bool is_model(const RepoTable& r, uint32_t u) { return r.kind[u] == RepoKind::model; }
// Year of a month (e.g. 2024).
inline int year_of(Month m) { return 1970 + m / 12; }

// Calls f(u, series) for every unit u < n_units with its n_months values of the unit x month
// table (month-major in memory) as one contiguous array: the table is transposed in blocks of
// units, so the reads stay sequential however many units there are.
template <class F>
void for_each_unit_series(const GroupMonthTable& t, uint32_t n_units, F&& f) {
  constexpr uint32_t kBlock = 2048;
  const uint32_t M = t.n_months;
  std::vector<uint64_t> buf(size_t(kBlock) * M);
  for (uint32_t u0 = 0; u0 < n_units; u0 += kBlock) {
    const uint32_t b = std::min(kBlock, n_units - u0);
    std::fill(buf.begin(), buf.end(), 0);
    for (uint32_t m = 0; m < M; ++m) {
      const uint64_t* row = t.sums.data() + size_t(m) * t.n_groups;
      for (uint32_t i = 0; i < b && u0 + i < t.n_groups; ++i) buf[size_t(i) * M + m] = row[u0 + i];
    }
    for (uint32_t i = 0; i < b; ++i) f(u0 + i, buf.data() + size_t(i) * M);
  }
}

// Writers.
void add_json(nlohmann::ordered_json& doc, const Results& r);
std::string to_text(const Results& r, size_t rows);
void write_csv(const Results& r, const std::string& dir);

}  // namespace ecostat::study
