// The study's entry points inside the engine: sample extras, the parameters table, the month
// tables it asks the accumulator for, and the run of each part.
#include <algorithm>

#include "study_internal.hpp"

namespace ecostat::study {

ParameterSources apply_parameter_table(RepoTable& repos, const ParameterTable& table, const std::string& prefer) {
  ParameterSources s;
  s.prefer = prefer;
  const bool prefer_table = prefer != "safetensors";
  std::vector<uint8_t> source(repos.size(), 0);  // 1 safetensors, 2 table
  for (uint32_t u = 0; u < repos.size(); ++u) source[u] = repos.parameters[u] > 0 ? 1 : 0;
  s.table_rows = table.ids.size();
  for (uint32_t i = 0; i < table.ids.size(); ++i) {
    const uint32_t u = repos.ids.find(table.ids.at(i));
    if (u == kNone) {
      ++s.table_unmatched;
      continue;
    }
    const uint64_t p = table.total[i];
    if (repos.parameters[u] == 0) {
      repos.parameters[u] = p;
      source[u] = 2;
    } else if (repos.parameters[u] != p) {
      ++s.table_overrides;
      if (prefer_table) {
        repos.parameters[u] = p;
        source[u] = 2;
      }
    }
  }
  for (uint8_t x : source) {
    s.from_safetensors += x == 1;
    s.from_table += x == 2;
  }
  return s;
}

std::vector<GroupMap> month_maps(const EngineOptions& spec, GroupMapBuilder& groups, const std::vector<std::string>& month_groups,
                                 std::vector<std::string>* names) {
  std::vector<GroupMap> maps;
  const StudySpec& s = spec.study;
  auto want = [&](const std::string& g) {
    if (std::find(month_groups.begin(), month_groups.end(), g) != month_groups.end()) return;  // the job's own
    if (std::find(names->begin(), names->end(), g) != names->end()) return;
    maps.push_back(groups.map(g));
    names->push_back(g);
  };
  if (s.enabled("size") || s.enabled("adoption") || s.enabled("lifetime")) want("model");  // identity: unit x month
  if (s.enabled("attribution"))
    for (const auto& g : s.year_groups) want(g);
  return maps;
}

bool needs_month_maps(const EngineOptions& spec) {
  const StudySpec& s = spec.study;
  return s.enabled("size") || s.enabled("adoption") || s.enabled("lifetime") ||
         (s.enabled("attribution") && !s.year_groups.empty());
}

void run(const Context& ctx, StudyResults* out) {
  const StudySpec& s = ctx.spec.study;
  for (const char* part : {"size", "adoption", "lifetime", "growth", "attribution"})
    if (s.enabled(part)) out->parts.push_back(part);
  if (s.enabled("size")) compute_size(ctx, &out->size);
  if (s.enabled("adoption")) compute_adoption(ctx, &out->adoption);
  if (s.enabled("lifetime")) compute_lifetime(ctx, &out->lifetime);
  if (s.enabled("growth")) compute_growth(ctx, &out->growth);
  if (s.enabled("attribution")) compute_attribution_time(ctx, &out->attribution);
}

}  // namespace ecostat::study
