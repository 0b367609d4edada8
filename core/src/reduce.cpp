// The reduction: from the tables producers filled and the download month tables to Results
// (share, concentration, lineage, the study). Session::finish and finish(Partial) both end here.
#include <algorithm>
#include <cstring>
#include <thread>

#include "ecostat/errors.hpp"
#include "engine_internal.hpp"
#include "group_maps.hpp"
#include "share_tables.hpp"
#include "study/study_internal.hpp"

namespace ecostat::detail {

namespace {

const char* measure_field(Measure m) {
  return m == Measure::records ? "downloads" : m == Measure::all_time ? "downloads_all_time" : "downloads";
}

// Unit totals of the measure. Their sum (the grand total) is checked to fit in u64, so every
// group sum, family download count and share total, all sums of a subset, fits too.
std::vector<uint64_t> unit_totals_for(Measure m, const RepoTable& repos, const EventTotals& events,
                                      const std::string& source, uint64_t* units_without) {
  const uint32_t n = repos.size();
  std::vector<uint64_t> totals(n, 0);
  *units_without = 0;
  uint64_t grand_total = 0;
  for (uint32_t u = 0; u < n; ++u) {
    switch (m) {
      case Measure::records:
        totals[u] = u < events.unit_total.size() ? events.unit_total[u] : 0;
        break;
      case Measure::all_time:
        totals[u] = repos.downloads_all_time[u];
        *units_without += !repos.has_all_time[u];
        break;
      default:
        totals[u] = repos.downloads_30d[u];
        *units_without += repos.placeholder[u];
        break;
    }
    add_checked(&grand_total, totals[u], source, measure_field(m), repos.ids.at(u), "the total of all repositories");
  }
  return totals;
}

// The values of the groups that exist, in group order.
std::vector<uint64_t> existing_only(const std::vector<uint64_t>& sums, const std::vector<uint8_t>& exists) {
  std::vector<uint64_t> out;
  for (size_t g = 0; g < sums.size(); ++g)
    if (exists[g]) out.push_back(sums[g]);
  return out;
}

}  // namespace

void reduce(ReduceInput& in, Results& res, StageTimer& timer) {
  const EngineOptions& spec = in.options;
  RepoTable& repos = in.repos;
  const AttributionTable& attribution = in.attribution;
  const bool have_downloads = in.have_downloads;
  // Parameter counts from a parameters table, before any size group is built.
  res.study.size.sources = study::apply_parameter_table(repos, in.params, spec.params_prefer);

  // 3. Lineage on the acyclic graph core builds, so that every backend sees the same graph.
  const uint32_t n_units = repos.size();
  CycleReport cycles;
  LineageGraph graph = build_lineage_graph(n_units, repos.edges, &cycles);
  // The engine reads the roots, the greatest depth and the families only: a GPU backend copies
  // back those, not the 60 bytes a node of the per-node arrays.
  const LineageRaw lineage = in.backend.lineage(graph, LineageOutput::families);
  timer.mark("lineage");

  // 4. Group maps (unit -> group), then the month tables in one finish() of the accumulator.
  GroupMapBuilder groups(repos, attribution, lineage.root, spec.size_bucket_edges);
  if (spec.inherit_attribution) groups.inherit_attribution(&graph);
  std::vector<GroupMap> month_maps;
  if (have_downloads)
    for (const auto& g : spec.month_groups) {
      month_maps.push_back(groups.map(g));
      // The share table reads each month's top share_limit rows (and the unknown group's): unless
      // a study part reads the whole table, a GPU backend may return those alone (top_rows).
      if (spec.share_limit > 0 && spec.share_limit <= UINT32_MAX && !study::reads_month_table(spec, g)) {
        month_maps.back().top_rows = static_cast<uint32_t>(spec.share_limit);
        month_maps.back().always_group = groups.keys(g).unknown_id();
      }
    }
  const size_t n_share_month = month_maps.size();
  std::vector<std::string> study_month_names;  // the study's extra tables follow the job's own
  if (have_downloads)
    for (auto& m : study::month_maps(spec, groups, spec.month_groups, &study_month_names)) month_maps.push_back(std::move(m));
  EventTotals events = in.month_tables(n_units, month_maps);
  res.input.events = events.events;
  timer.mark("finish_tables");

  res.measure = spec.measure;
  if (res.measure == Measure::automatic) {
    const bool any_all_time = std::any_of(repos.has_all_time.begin(), repos.has_all_time.end(),
                                          [](uint8_t h) { return h != 0; });
    res.measure = have_downloads ? Measure::records : any_all_time ? Measure::all_time : Measure::d30;
  }
  const std::vector<uint64_t> totals = unit_totals_for(res.measure, repos, events, source_of(res.input, res.measure == Measure::records ? "downloads" : "repos"),
                                                     &res.input.units_without_measure);

  // 5. Share by each group, and by group x month.
  std::map<std::string, std::vector<uint64_t>> group_totals;
  auto totals_of = [&](const std::string& g) -> const std::vector<uint64_t>& {
    auto it = group_totals.find(g);
    if (it == group_totals.end()) it = group_totals.emplace(g, in.backend.group_sum(totals, groups.map(g))).first;
    return it->second;
  };
  // The tables are built on a pool of the job's threads: the share tables one per task (their
  // sums, keys and ranks made first, the ranks sorted on the pool), a month table's months one
  // per task.
  ThreadPool pool(spec.threads ? spec.threads : std::max(1u, std::thread::hardware_concurrency()));
  std::map<std::string, KeyRanks> ranks;  // per group, shared by its share and month tables
  auto ranks_of = [&](const std::string& g, uint32_t n_groups) -> const KeyRanks* {
    if (!worth_ranking(spec.share_limit, n_groups)) return nullptr;
    auto it = ranks.find(g);
    if (it == ranks.end()) it = ranks.emplace(g, key_ranks(groups.keys(g), n_groups, &pool)).first;
    return &it->second;
  };
  struct ShareInput {
    const std::vector<uint64_t>* sums;
    const GroupKeys* keys;
    const std::vector<uint8_t>* exists;
    const KeyRanks* rank;
  };
  std::vector<ShareInput> share_in;
  for (const auto& g : spec.share_groups) {
    const std::vector<uint64_t>& sums = totals_of(g);
    share_in.push_back({&sums, &groups.keys(g), &groups.has_member(g), ranks_of(g, static_cast<uint32_t>(sums.size()))});
  }
  const size_t first_share = res.share.size();
  res.share.resize(first_share + share_in.size());
  pool.run(share_in.size(), [&](size_t i, unsigned) {
    const ShareInput& s = share_in[i];
    res.share[first_share + i] = make_share_table(spec.share_groups[i], *s.keys, *s.exists, *s.sums, spec.share_limit, s.rank);
  });
  for (size_t i = 0; i < n_share_month; ++i) {
    const std::string& g = spec.month_groups[i];
    const GroupMonthTable& tab = events.group_month[i];
    res.share_month.push_back(make_share_month_table(g, groups.keys(g), groups.has_member(g), tab, spec.share_limit,
                                                     ranks_of(g, tab.n_groups), &pool));
  }
  timer.mark("share");

  // 6. Concentration over unit totals (zeros included), for whole populations and within groups.
  // A group unit counts only when it exists (has a member), as in the share tables.
  for (const auto& unit : spec.concentration_units) {
    std::vector<uint64_t> group_values;
    if (unit != "model") group_values = existing_only(totals_of(unit), groups.has_member(unit));
    // Model totals over download records: the accumulator's, when it computed them where the totals
    // were (a GPU backend's device); otherwise the Backend's, from the host vector.
    if (unit == "model" && res.measure == Measure::records && events.unit_concentration) {
      res.concentration[unit] = finalize(*events.unit_concentration, spec.concentration);
      continue;
    }
    auto raw = in.backend.concentration(unit == "model" ? totals : group_values, {}, 1, spec.concentration);
    res.concentration[unit] = finalize(raw.at(0), spec.concentration);
  }
  for (const auto& g : spec.concentration_within) {
    const GroupMap& map = groups.map(g);
    std::vector<uint32_t> segment_of = map.group_of_unit;
    if (segment_of.empty()) {  // identity: each model its own segment
      segment_of.resize(n_units);
      for (uint32_t u = 0; u < n_units; ++u) segment_of[u] = u;
    }
    auto raws = in.backend.concentration(totals, segment_of, map.n_groups, spec.concentration);
    auto& out = res.concentration_within[g];
    const GroupKeys& keys = groups.keys(g);
    for (uint32_t s = 0; s < raws.size(); ++s)
      if (raws[s].n > 0) out.emplace_back(keys.key(s), finalize(raws[s], spec.concentration));
    // By key: group ids follow the order producers named the groups in, which must not show.
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  timer.mark("concentration");

  // 7. Lineage summary.
  LineageSummary& L = res.lineage;
  L.nodes = n_units;
  L.edges = graph.parents.size();
  for (Relation r : graph.relations) ++L.edges_by_relation[static_cast<int>(r)];
  L.removed_edges = cycles.removed_edges.size();
  for (const auto& c : cycles.cycles) {
    std::vector<std::string> members;
    for (uint32_t v : c) members.emplace_back(repos.ids.at(v));
    std::sort(members.begin(), members.end());
    L.cycles.push_back(std::move(members));
  }
  // Listed by id, not by unit number: the same input in any order (or in partials) reads the same.
  std::sort(L.cycles.begin(), L.cycles.end());
  for (uint32_t v : cycles.self_loops) L.self_loops.emplace_back(repos.ids.at(v));
  std::sort(L.self_loops.begin(), L.self_loops.end());
  std::vector<uint64_t> family_size(n_units, 0), family_downloads(n_units, 0);
  uint64_t grand_total = 0;
  for (uint32_t u = 0; u < n_units; ++u) {
    const uint32_t r = lineage.root[u];
    ++family_size[r];
    family_downloads[r] += totals[u];
    grand_total += totals[u];
    L.roots += r == u;
  }
  L.max_depth = lineage.max_depth;
  // Parents named by an edge (kept or removed) that no repository record defines. A flag per
  // unit, not a std::set: one pass over the edges, and the units come out ascending all the same.
  std::vector<uint8_t> referenced(n_units, 0);
  for (uint32_t p : graph.parents) referenced[p] = 1;
  for (const auto& e : cycles.removed_edges) referenced[e.parent] = 1;
  std::vector<std::string_view> unresolved;  // views into repos.ids, which no longer grows
  for (uint32_t p = 0; p < n_units; ++p)
    if (referenced[p] && repos.placeholder[p]) unresolved.push_back(repos.ids.at(p));
  res.input.unresolved_parents = unresolved.size();
  const size_t sample_size = std::min<size_t>(20, unresolved.size());  // the first 20 by id
  std::partial_sort(unresolved.begin(), unresolved.begin() + sample_size, unresolved.end(),
                    [](std::string_view a, std::string_view b) { return a < b; });
  for (size_t i = 0; i < sample_size; ++i) L.unresolved_sample.emplace_back(unresolved[i]);
  L.families_total = lineage.family_root.size();
  // The families, largest first: indices into lineage.family_*.
  std::vector<uint32_t> family_order(lineage.family_root.size());
  for (uint32_t i = 0; i < family_order.size(); ++i) family_order[i] = i;
  std::sort(family_order.begin(), family_order.end(), [&](uint32_t i, uint32_t j) {
    const uint32_t a = lineage.family_root[i], b = lineage.family_root[j];
    if (family_size[a] != family_size[b]) return family_size[a] > family_size[b];
    if (family_downloads[a] != family_downloads[b]) return family_downloads[a] > family_downloads[b];
    return repos.ids.at(a) < repos.ids.at(b);
  });
  for (size_t i = 0; i < family_order.size() && (spec.family_limit == 0 || i < spec.family_limit); ++i) {
    const uint32_t fam = family_order[i], r = lineage.family_root[fam];
    FamilyRow f;
    f.root = repos.ids.at(r);
    f.size = family_size[r];
    f.descendants = lineage.family_descendants[fam];
    f.by_relation = lineage.family_by_relation[fam];
    f.downloads = family_downloads[r];
    f.share = share_ratio(f.downloads, grand_total);
    L.families.push_back(f);
  }
  // Derivatives per organisation: sum over the roots each (parent) organisation owns.
  {
    const GroupMap& org = groups.map("organisation");
    const GroupKeys& keys = groups.keys("organisation");
    std::vector<DerivativeRow> rows(org.n_groups);
    for (size_t i = 0; i < lineage.family_root.size(); ++i) {
      DerivativeRow& row = rows[org.group_of_unit[lineage.family_root[i]]];
      ++row.roots;
      row.derivatives += lineage.family_descendants[i];
    }
    for (uint32_t g = 0; g < rows.size(); ++g)
      if (rows[g].roots) {
        rows[g].key = keys.key(g);
        L.by_organisation.push_back(rows[g]);
      }
    std::sort(L.by_organisation.begin(), L.by_organisation.end(), [](const DerivativeRow& a, const DerivativeRow& b) {
      return a.derivatives != b.derivatives ? a.derivatives > b.derivatives : a.key < b.key;
    });
  }
  // Derivatives per family tag: models with a parent whose tags name the family (one pass over
  // the tags, whatever the number of family tags).
  {
    std::vector<uint32_t> slot_of_tag(repos.tags.size(), kNone);  // tag id -> row of by_tag
    for (const auto& tag : spec.family_tags) {
      const uint32_t t = repos.tags.find(tag);
      if (t != kNone && slot_of_tag[t] == kNone) slot_of_tag[t] = static_cast<uint32_t>(L.by_tag.size());
      L.by_tag.push_back({tag, 0, 0});
    }
    std::vector<uint32_t> last_counted(L.by_tag.size(), kNone);  // a tag listed twice counts once
    for (uint32_t u = 0; u < n_units; ++u) {
      if (graph.parent_offsets[u] == graph.parent_offsets[u + 1]) continue;
      for (uint32_t i = repos.tag_offsets[u]; i < repos.tag_offsets[u + 1]; ++i) {
        const uint32_t row = slot_of_tag[repos.tag_ids[i]];
        if (row != kNone && last_counted[row] != u) {
          last_counted[row] = u;
          ++L.by_tag[row].derivatives;
        }
      }
    }
  }
  timer.mark("assemble");

  // 7b. The study (size, adoption, lifetime, growth, attribution over time) on the tables above.
  {
    study::Context ctx{spec, repos, graph, groups, in.backend, totals, have_downloads, nullptr, {}, -1, {}};
    for (size_t i = 0; i < month_maps.size() && i < events.group_month.size(); ++i)
      if (!events.group_month[i].top_only)  // top rows were asked only of tables no part reads
        ctx.group_month[i < n_share_month ? spec.month_groups[i] : study_month_names[i - n_share_month]] = &events.group_month[i];
    auto it = ctx.group_month.find("model");
    if (it != ctx.group_month.end()) ctx.unit_month = it->second;
    if (events.n_months) ctx.events_last_month = events.month_first + int32_t(events.n_months) - 1;
    study::run(ctx, &res.study);
  }
  timer.mark("study");

  // 8. Input accounting.
  res.input.units = n_units;
  res.input.placeholders_from_downloads = 0;
  for (uint32_t u = 0; u < n_units; ++u) res.input.placeholders_from_downloads += repos.in_downloads_only[u];
  canonical_input_order(&res.input);
}

}  // namespace ecostat::detail
