// The reduction: from the tables producers filled and the download month tables to Results
// (share, concentration, lineage, the study). Session::finish and finish(Partial) both end here.
#include <algorithm>
#include <cstring>
#include <set>

#include "ecostat/errors.hpp"
#include "engine_internal.hpp"
#include "group_maps.hpp"
#include "study/study_internal.hpp"

namespace ecostat::detail {

namespace {

double ratio(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

// Sorts the first `keep` elements into place. std::partial_sort is a heap sort, several times
// slower than std::sort when every row is kept (--share-limit 0: millions of rows).
template <class T, class Less>
void sort_first(std::vector<T>& v, size_t keep, Less less) {
  if (keep == v.size()) {
    std::sort(v.begin(), v.end(), less);
  } else if (keep > 0) {
    std::nth_element(v.begin(), v.begin() + (keep - 1), v.end(), less);
    std::sort(v.begin(), v.begin() + keep, less);
  }
}

// Share order: downloads descending, then key. With many rows kept (--share-limit 0: millions
// of rows, most of them ties on small counts) ties compare precomputed key ranks (key_ranks,
// order_groups) instead of two strings each time.
struct ByDownloads {
  const uint64_t* sums;
  const GroupKeys* keys;
  bool operator()(uint32_t a, uint32_t b) const {
    if (sums[a] != sums[b]) return sums[a] > sums[b];
    return keys->key(a) < keys->key(b);
  }
};

constexpr size_t kRankKeysAbove = 4096;  // rows kept per table above which key ranks pay off

bool worth_ranking(size_t limit, size_t n_groups) {
  return n_groups > kRankKeysAbove && (limit == 0 || limit > kRankKeysAbove);
}

// Rows a month table will list (for one allocation of its rows): per month with downloads,
// min(groups with downloads, limit), plus the unknown row.
size_t listed_month_rows(const GroupMonthTable& tab, size_t limit, bool unknown_exists) {
  size_t rows = 0;
  for (uint32_t mi = 0; mi < tab.n_months; ++mi) {
    const uint64_t* row = tab.sums.data() + size_t(mi) * tab.n_groups;
    size_t nonzero = 0;
    for (uint32_t g = 0; g < tab.n_groups; ++g) nonzero += row[g] != 0;
    if (nonzero > 0) rows += (limit == 0 ? nonzero : std::min(nonzero, limit)) + unknown_exists;
  }
  return rows;
}

// The first 16 bytes of a key as two big-endian words (zero-padded): comparing them orders
// keys as std::string does up to those bytes, and only equal prefixes need the strings.
struct KeyPrefix {
  uint64_t hi = 0, lo = 0;
  uint32_t g = 0;
};

KeyPrefix key_prefix(const std::string& key, uint32_t g) {
  unsigned char b[16] = {};
  std::memcpy(b, key.data(), std::min<size_t>(key.size(), 16));
  KeyPrefix p;
  for (int i = 0; i < 8; ++i) p.hi = (p.hi << 8) | b[i], p.lo = (p.lo << 8) | b[8 + i];
  p.g = g;
  return p;
}

std::vector<uint32_t> key_ranks(const GroupKeys& keys, uint32_t n_groups) {
  std::vector<KeyPrefix> by_key(n_groups);
  for (uint32_t g = 0; g < n_groups; ++g) by_key[g] = key_prefix(keys.key(g), g);
  std::sort(by_key.begin(), by_key.end(), [&](const KeyPrefix& a, const KeyPrefix& b) {
    if (a.hi != b.hi) return a.hi < b.hi;
    if (a.lo != b.lo) return a.lo < b.lo;
    return keys.key(a.g) < keys.key(b.g);
  });
  std::vector<uint32_t> rank(n_groups);
  for (uint32_t i = 0; i < n_groups; ++i) rank[by_key[i].g] = i;
  return rank;
}

// Puts the first `keep` of `groups` in share order. With key ranks the rows are sorted as
// contiguous (downloads, rank, group) records, without chasing two arrays per comparison.
void order_groups(std::vector<uint32_t>& groups, size_t keep, const uint64_t* sums, const GroupKeys& keys,
                  const std::vector<uint32_t>* rank) {
  if (rank == nullptr) {
    sort_first(groups, keep, ByDownloads{sums, &keys});
    return;
  }
  struct Ranked {
    uint64_t sum;
    uint32_t rank, g;
  };
  std::vector<Ranked> rows(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) rows[i] = {sums[groups[i]], (*rank)[groups[i]], groups[i]};
  sort_first(rows, keep, [](const Ranked& a, const Ranked& b) { return a.sum != b.sum ? a.sum > b.sum : a.rank < b.rank; });
  for (size_t i = 0; i < keep; ++i) groups[i] = rows[i].g;
}

// Views of the listed groups' keys for the rows (row_group[i]: the group of rows[i]): one block
// of text holding each listed key once, which the table keeps (ShareTable::key_text).
template <class Row>
std::shared_ptr<const std::string> attach_keys(std::vector<Row>& rows, const std::vector<uint32_t>& row_group,
                                               const GroupKeys& keys) {
  struct Place {
    size_t offset = SIZE_MAX, size = 0;  // in the text; SIZE_MAX: not listed yet
  };
  std::vector<uint32_t> listed;  // distinct groups, first-listed first
  std::vector<Place> place;      // by group
  size_t bytes = 0;
  for (uint32_t g : row_group) {
    if (g >= place.size()) place.resize(std::max<size_t>(size_t(g) + 1, place.size() * 2));
    if (place[g].offset != SIZE_MAX) continue;
    place[g] = {bytes, keys.key(g).size()};
    bytes += place[g].size;
    listed.push_back(g);
  }
  auto text = std::make_shared<std::string>();
  text->reserve(bytes);
  for (uint32_t g : listed) text->append(keys.key(g));
  for (size_t i = 0; i < rows.size(); ++i) {  // the rows read only `place`, not the key strings again
    const Place& at = place[row_group[i]];
    rows[i].key = std::string_view(text->data() + at.offset, at.size);
  }
  return text;
}

// Share rows sorted by downloads descending then key, truncated to `limit` (0 = all). Only
// groups with a member unit exist (GroupMapBuilder::has_member). The `unknown` group, when it
// exists, is always listed: in rank order when it ranks within the limit, else appended after
// the `limit` rows.
ShareTable make_share_table(const std::string& name, const GroupKeys& keys, const std::vector<uint8_t>& exists,
                            const std::vector<uint64_t>& sums, size_t limit, const std::vector<uint32_t>* rank) {
  ShareTable t;
  t.group = name;
  std::vector<uint32_t> order;
  for (uint32_t g = 0; g < sums.size(); ++g) {
    t.total += sums[g];
    if (exists[g]) order.push_back(g);
  }
  t.groups = order.size();
  const size_t keep = (limit == 0 || limit >= order.size()) ? order.size() : limit;
  order_groups(order, keep, sums.data(), keys, rank);
  t.truncated = keep < order.size();
  t.rows.reserve(keep + 1);
  order.resize(keep);  // now the listed groups, row by row
  const uint32_t unknown = keys.unknown_id();
  bool unknown_listed = false;
  for (size_t i = 0; i < keep; ++i) {
    const uint32_t g = order[i];
    unknown_listed |= (g == unknown);
    t.rows.push_back({{}, sums[g], ratio(sums[g], t.total)});
  }
  if (!unknown_listed && unknown != kNone && exists[unknown]) {
    t.rows.push_back({{}, sums[unknown], ratio(sums[unknown], t.total)});
    order.push_back(unknown);
  }
  t.key_text = attach_keys(t.rows, order, keys);
  return t;
}

// Per month: the groups with downloads that month, the same limit rule as make_share_table;
// the `unknown` row is listed every month when the unknown group exists.
ShareMonthTable make_share_month_table(const std::string& name, const GroupKeys& keys, const std::vector<uint8_t>& exists,
                                       const GroupMonthTable& tab, size_t limit, const std::vector<uint32_t>* rank) {
  ShareMonthTable t;
  t.group = name;
  std::vector<uint32_t> order, row_group;
  const size_t n_rows = listed_month_rows(tab, limit, keys.unknown_id() != kNone && exists[keys.unknown_id()]);
  t.rows.reserve(n_rows);
  row_group.reserve(n_rows);
  for (uint32_t mi = 0; mi < tab.n_months; ++mi) {
    const Month m = static_cast<Month>(tab.month_first + mi);
    const uint64_t* row = tab.sums.data() + size_t(mi) * tab.n_groups;
    uint64_t total = 0;
    order.clear();
    for (uint32_t g = 0; g < tab.n_groups; ++g) {
      total += row[g];
      if (row[g] != 0) order.push_back(g);
    }
    if (total == 0) continue;
    t.month_totals.emplace_back(m, total);
    const size_t keep = (limit == 0 || limit >= order.size()) ? order.size() : limit;
    order_groups(order, keep, row, keys, rank);
    t.truncated |= keep < order.size();
    bool unknown_listed = false;
    for (size_t i = 0; i < keep; ++i) {
      unknown_listed |= (order[i] == keys.unknown_id());
      t.rows.push_back({{}, m, row[order[i]], ratio(row[order[i]], total)});
      row_group.push_back(order[i]);
    }
    const uint32_t unknown = keys.unknown_id();
    if (!unknown_listed && unknown != kNone && exists[unknown]) {
      t.rows.push_back({{}, m, row[unknown], ratio(row[unknown], total)});
      row_group.push_back(unknown);
    }
  }
  t.key_text = attach_keys(t.rows, row_group, keys);
  return t;
}

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
  LineageRaw lineage = in.backend.lineage(graph);
  timer.mark("lineage");

  // 4. Group maps (unit -> group), then the month tables in one finish() of the accumulator.
  GroupMapBuilder groups(repos, attribution, lineage.root, spec.size_bucket_edges);
  if (spec.inherit_attribution) groups.inherit_attribution(&graph);
  std::vector<GroupMap> month_maps;
  if (have_downloads)
    for (const auto& g : spec.month_groups) month_maps.push_back(groups.map(g));
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
  std::map<std::string, std::vector<uint32_t>> ranks;  // per group, shared by its share and month tables
  auto ranks_of = [&](const std::string& g, uint32_t n_groups) -> const std::vector<uint32_t>* {
    if (!worth_ranking(spec.share_limit, n_groups)) return nullptr;
    auto it = ranks.find(g);
    if (it == ranks.end()) it = ranks.emplace(g, key_ranks(groups.keys(g), n_groups)).first;
    return &it->second;
  };
  for (const auto& g : spec.share_groups) {
    const std::vector<uint64_t>& sums = totals_of(g);
    res.share.push_back(make_share_table(g, groups.keys(g), groups.has_member(g), sums, spec.share_limit,
                                         ranks_of(g, static_cast<uint32_t>(sums.size()))));
  }
  for (size_t i = 0; i < n_share_month; ++i) {
    const std::string& g = spec.month_groups[i];
    const GroupMonthTable& tab = events.group_month[i];
    res.share_month.push_back(make_share_month_table(g, groups.keys(g), groups.has_member(g), tab, spec.share_limit,
                                                     ranks_of(g, tab.n_groups)));
  }
  timer.mark("share");

  // 6. Concentration over unit totals (zeros included), for whole populations and within groups.
  // A group unit counts only when it exists (has a member), as in the share tables.
  for (const auto& unit : spec.concentration_units) {
    std::vector<uint64_t> group_values;
    if (unit != "model") group_values = existing_only(totals_of(unit), groups.has_member(unit));
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
    for (uint32_t v : c) members.push_back(repos.ids.at(v));
    std::sort(members.begin(), members.end());
    L.cycles.push_back(std::move(members));
  }
  // Listed by id, not by unit number: the same input in any order (or in partials) reads the same.
  std::sort(L.cycles.begin(), L.cycles.end());
  for (uint32_t v : cycles.self_loops) L.self_loops.push_back(repos.ids.at(v));
  std::sort(L.self_loops.begin(), L.self_loops.end());
  std::vector<uint64_t> family_size(n_units, 0), family_downloads(n_units, 0);
  uint64_t grand_total = 0;
  for (uint32_t u = 0; u < n_units; ++u) {
    ++family_size[lineage.root[u]];
    family_downloads[lineage.root[u]] += totals[u];
    grand_total += totals[u];
    L.max_depth = std::max<uint64_t>(L.max_depth, lineage.depth[u]);
  }
  std::vector<uint32_t> roots;
  std::set<uint32_t> referenced_parents(graph.parents.begin(), graph.parents.end());
  for (const auto& e : cycles.removed_edges) referenced_parents.insert(e.parent);
  std::vector<const std::string*> unresolved;
  for (uint32_t p : referenced_parents)
    if (repos.placeholder[p]) unresolved.push_back(&repos.ids.at(p));
  res.input.unresolved_parents = unresolved.size();
  const size_t sample_size = std::min<size_t>(20, unresolved.size());  // the first 20 by id
  std::partial_sort(unresolved.begin(), unresolved.begin() + sample_size, unresolved.end(),
                    [](const std::string* a, const std::string* b) { return *a < *b; });
  for (size_t i = 0; i < sample_size; ++i) L.unresolved_sample.push_back(*unresolved[i]);
  for (uint32_t u = 0; u < n_units; ++u) {
    if (lineage.root[u] != u) continue;
    ++L.roots;
    if (lineage.descendants[u] > 0) {
      ++L.families_total;
      roots.push_back(u);
    }
  }
  std::sort(roots.begin(), roots.end(), [&](uint32_t a, uint32_t b) {
    if (family_size[a] != family_size[b]) return family_size[a] > family_size[b];
    if (family_downloads[a] != family_downloads[b]) return family_downloads[a] > family_downloads[b];
    return repos.ids.at(a) < repos.ids.at(b);
  });
  for (size_t i = 0; i < roots.size() && (spec.family_limit == 0 || i < spec.family_limit); ++i) {
    const uint32_t r = roots[i];
    FamilyRow f;
    f.root = repos.ids.at(r);
    f.size = family_size[r];
    f.descendants = lineage.descendants[r];
    f.by_relation = lineage.descendants_by_relation[r];
    f.downloads = family_downloads[r];
    f.share = ratio(f.downloads, grand_total);
    L.families.push_back(f);
  }
  // Derivatives per organisation: sum over the roots each (parent) organisation owns.
  {
    const GroupMap& org = groups.map("organisation");
    const GroupKeys& keys = groups.keys("organisation");
    std::vector<DerivativeRow> rows(org.n_groups);
    for (uint32_t u = 0; u < n_units; ++u) {
      if (lineage.root[u] != u || lineage.descendants[u] == 0) continue;
      DerivativeRow& row = rows[org.group_of_unit[u]];
      ++row.roots;
      row.derivatives += lineage.descendants[u];
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
    study::Context ctx{spec, repos, graph, groups, in.backend, totals, have_downloads, nullptr, {}, -1};
    for (size_t i = 0; i < month_maps.size() && i < events.group_month.size(); ++i)
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
