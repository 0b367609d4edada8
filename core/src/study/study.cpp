// The study's entry points inside the engine: sample extras, the parameters table, the month
// tables it asks the accumulator for, and the run of each part.
#include <algorithm>

#include <functional>
#include <thread>

#include "ecostat/detail/thread_pool.hpp"
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

bool reads_month_table(const EngineOptions& spec, const std::string& group) {
  const StudySpec& s = spec.study;
  if (group == "model" && (s.enabled("size") || s.enabled("adoption") || s.enabled("lifetime"))) return true;
  return s.enabled("attribution") && std::find(s.year_groups.begin(), s.year_groups.end(), group) != s.year_groups.end();
}

bool needs_month_maps(const EngineOptions& spec) {
  const StudySpec& s = spec.study;
  return s.enabled("size") || s.enabled("adoption") || s.enabled("lifetime") ||
         (s.enabled("attribution") && !s.year_groups.empty());
}

// Builds, on this thread, every group map entry the parts will ask GroupMapBuilder for (it
// builds lazily and is not safe to build from two threads): later calls only read.
static void prepare_group_maps(const Context& ctx) {
  const StudySpec& s = ctx.spec.study;
  if (s.enabled("size") || s.enabled("adoption")) ctx.groups.has_member("size_bucket");
  if (s.enabled("growth"))
    for (const auto& g : s.growth_groups) ctx.groups.has_member(g);
  if (s.enabled("attribution")) {
    for (const char* g : {"organisation", "country", "region", "org_type"}) ctx.groups.inherited(g);
    for (const auto& g : s.year_groups) ctx.groups.has_member(g);
  }
}

// The parts are independent (each fills its own result): they run at once on the job's threads.
void run(const Context& ctx, StudyResults* out) {
  const StudySpec& s = ctx.spec.study;
  for (const char* name : {"size", "adoption", "lifetime", "growth", "attribution"})  // the results' order
    if (s.enabled(name)) out->parts.push_back(name);
  std::vector<std::function<void()>> parts;
  auto part = [&](const char* name, std::function<void()> compute) {
    if (s.enabled(name)) parts.push_back(std::move(compute));
  };
  // Started longest first (lifetime, then adoption: measured at 2x10^7), so that two threads end
  // together instead of one running the longest part last.
  part("lifetime", [&] { compute_lifetime(ctx, &out->lifetime); });
  part("adoption", [&] { compute_adoption(ctx, &out->adoption); });
  part("size", [&] { compute_size(ctx, &out->size); });
  part("growth", [&] { compute_growth(ctx, &out->growth); });
  part("attribution", [&] { compute_attribution_time(ctx, &out->attribution); });
  prepare_group_maps(ctx);
  const unsigned threads = ctx.spec.threads ? ctx.spec.threads : std::max(1u, std::thread::hardware_concurrency());
  detail::ThreadPool pool(std::min<unsigned>(threads, static_cast<unsigned>(parts.size())));
  pool.run(parts.size(), [&](size_t i, unsigned) { parts[i](); });
}

}  // namespace ecostat::study
