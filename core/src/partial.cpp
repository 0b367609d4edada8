// Partial state: merging partials by string identity, and reducing a partial into Results
// (ecostat/partial.hpp has the rules).
#include "ecostat/partial.hpp"

#include <algorithm>

#include "ecostat/errors.hpp"
#include "engine_internal.hpp"

namespace ecostat {

namespace {

// Adds the strings of `from` to `into`; returns the id in `into` of each id of `from`.
std::vector<uint32_t> intern_all(Dictionary& into, const Dictionary& from) {
  std::vector<uint32_t> map(from.size());
  for (uint32_t i = 0; i < from.size(); ++i) map[i] = into.intern(from.at(i));
  return map;
}

uint32_t remap(const std::vector<uint32_t>& map, uint32_t id) { return id == kNone ? kNone : map.at(id); }

// Which row wins when both partials have the unit: a repository record, then a placeholder made
// by a base-model reference, then one made by a download record. (One session reads every
// repository record before any download record, so this is the row it would have kept.)
int row_rank(const RepoTable& t, uint32_t u) { return t.placeholder[u] ? (t.in_downloads_only[u] ? 0 : 1) : 2; }

struct RepoMerge {
  std::vector<uint32_t> unit;      // unit of `b` -> unit of the merged table
  std::vector<uint8_t> b_wins;     // by unit of `b`: its row replaces (or is) the merged row
};

// Merges repository table b into a (by id). Returns where b's units went.
RepoMerge merge_repos(RepoTable& a, const RepoTable& b) {
  const auto authors = intern_all(a.authors, b.authors);
  const auto pipelines = intern_all(a.pipeline_tags, b.pipeline_tags);
  const auto libraries = intern_all(a.libraries, b.libraries);
  const auto tags = intern_all(a.tags, b.tags);
  RepoMerge m;
  m.unit.resize(b.size());
  m.b_wins.assign(b.size(), 0);
  const uint32_t a_units = a.size();
  std::vector<uint32_t> row_from_b(a_units, kNone);  // merged unit -> b's unit when b's row replaces a's
  for (uint32_t u = 0; u < b.size(); ++u) {
    const uint32_t before = a.size();
    const uint32_t v = a.ids.intern(b.ids.at(u));
    m.unit[u] = v;
    if (v == before) {
      a.push_defaults();
      m.b_wins[u] = 1;
    } else if (v < a_units && row_rank(b, u) > row_rank(a, v)) {
      row_from_b[v] = u;
      m.b_wins[u] = 1;
    }
  }
  row_from_b.resize(a.size(), kNone);
  for (uint32_t u = 0; u < b.size(); ++u)
    if (m.b_wins[u]) row_from_b[m.unit[u]] = u;
  // Columns of the rows b wins; the tag CSR is rebuilt in unit order.
  std::vector<uint32_t> offsets{0}, tag_ids;
  offsets.reserve(size_t(a.size()) + 1);
  tag_ids.reserve(a.tag_ids.size() + b.tag_ids.size());
  for (uint32_t v = 0; v < a.size(); ++v) {
    const uint32_t u = row_from_b[v];
    if (u == kNone) {
      tag_ids.insert(tag_ids.end(), a.tag_ids.begin() + a.tag_offsets[v], a.tag_ids.begin() + a.tag_offsets[v + 1]);
    } else {
      a.author[v] = remap(authors, b.author[u]);
      a.kind[v] = b.kind[u];
      a.created_day[v] = b.created_day[u];
      a.likes[v] = b.likes[u];
      a.downloads_30d[v] = b.downloads_30d[u];
      a.downloads_all_time[v] = b.downloads_all_time[u];
      a.has_all_time[v] = b.has_all_time[u];
      a.parameters[v] = b.parameters[u];
      a.pipeline_tag[v] = remap(pipelines, b.pipeline_tag[u]);
      a.library[v] = remap(libraries, b.library[u]);
      a.placeholder[v] = b.placeholder[u];
      a.in_downloads_only[v] = b.in_downloads_only[u];
      for (uint32_t i = b.tag_offsets[u]; i < b.tag_offsets[u + 1]; ++i) tag_ids.push_back(tags.at(b.tag_ids[i]));
    }
    offsets.push_back(static_cast<uint32_t>(tag_ids.size()));
  }
  a.tag_offsets = std::move(offsets);
  a.tag_ids = std::move(tag_ids);
  // Edges belong to their child's record: keep a's for the rows a keeps, take b's for b's rows.
  std::vector<BaseEdge> edges;
  edges.reserve(a.edges.size() + b.edges.size());
  for (const BaseEdge& e : a.edges)
    if (row_from_b[e.child] == kNone) edges.push_back(e);
  for (const BaseEdge& e : b.edges)
    if (m.b_wins[e.child]) edges.push_back({m.unit[e.child], m.unit[e.parent], e.relation, e.order});
  a.edges = std::move(edges);
  return m;
}

void merge_attribution(AttributionTable& a, const AttributionTable& b) {
  const auto orgs = intern_all(a.organisations, b.organisations);
  const auto countries = intern_all(a.countries, b.countries);
  const auto regions = intern_all(a.regions, b.regions);
  const auto types = intern_all(a.org_types, b.org_types);
  for (uint32_t h = 0; h < b.handles.size(); ++h) {
    const uint32_t before = a.handles.size();
    if (a.handles.intern(b.handles.at(h)) != before) continue;  // the first merged wins
    a.organisation.push_back(remap(orgs, b.organisation[h]));
    a.country.push_back(remap(countries, b.country[h]));
    a.region.push_back(remap(regions, b.region[h]));
    a.org_type.push_back(remap(types, b.org_type[h]));
  }
}

void merge_params(ParameterTable& a, const ParameterTable& b) {
  for (uint32_t i = 0; i < b.ids.size(); ++i) {
    const uint32_t before = a.ids.size();
    if (a.ids.intern(b.ids.at(i)) != before) continue;  // the first merged wins
    a.total.push_back(b.total[i]);
    a.active.push_back(b.active[i]);
  }
}

void merge_input(InputSummary& a, const InputSummary& b) {
  a.files.insert(a.files.end(), b.files.begin(), b.files.end());
  a.download_records += b.download_records;
  a.duplicate_download_rows += b.duplicate_download_rows;
  a.rejected += b.rejected;
  for (const auto& [reason, n] : b.rejected_by_reason) a.rejected_by_reason[reason] += n;
  a.first_rejects.insert(a.first_rejects.end(), b.first_rejects.begin(), b.first_rejects.end());
  detail::canonical_input_order(&a);
}

// Merges b's day marks (its units renumbered by `unit`) into a's of the same scope: returns the
// (unit, day) pairs both marked, which one session reading both would have counted as duplicate
// rows. a's entries keep their order; b's new units follow in b's order.
uint64_t merge_marks(Partial::DayMarks& a, const Partial::DayMarks& b, const std::vector<uint32_t>& unit,
                     uint32_t n_units) {
  std::vector<uint32_t> b_entry(n_units, kNone);  // merged unit -> b's entry
  for (uint32_t i = 0; i < b.unit.size(); ++i) b_entry[unit.at(b.unit[i])] = i;
  Partial::DayMarks out;
  out.scope = a.scope;
  out.offsets.push_back(0);
  uint64_t both = 0;
  auto append = [&out](uint32_t u, int32_t first, const uint64_t* words, size_t n) {
    out.unit.push_back(u);
    out.first_word.push_back(first);
    out.words.insert(out.words.end(), words, words + n);
    out.offsets.push_back(out.words.size());
  };
  for (uint32_t i = 0; i < a.unit.size(); ++i) {
    const uint32_t u = a.unit[i];
    const uint64_t* aw = a.words.data() + a.offsets[i];
    const int64_t a_first = a.first_word[i], a_end = a_first + int64_t(a.offsets[i + 1] - a.offsets[i]);
    const uint32_t j = u < n_units ? b_entry[u] : kNone;
    if (j == kNone) {
      append(u, a.first_word[i], aw, size_t(a_end - a_first));
      continue;
    }
    b_entry[u] = kNone;  // taken
    const uint64_t* bw = b.words.data() + b.offsets[j];
    const int64_t b_first = b.first_word[j], b_end = b_first + int64_t(b.offsets[j + 1] - b.offsets[j]);
    const int64_t first = std::min(a_first, b_first), end = std::max(a_end, b_end);
    std::vector<uint64_t> words(size_t(end - first), 0);
    for (int64_t w = a_first; w < a_end; ++w) words[size_t(w - first)] = aw[w - a_first];
    for (int64_t w = b_first; w < b_end; ++w) {
      uint64_t& word = words[size_t(w - first)];
      both += uint64_t(__builtin_popcountll(word & bw[w - b_first]));
      word |= bw[w - b_first];
    }
    append(u, int32_t(first), words.data(), words.size());
  }
  for (uint32_t j = 0; j < b.unit.size(); ++j) {
    const uint32_t u = unit.at(b.unit[j]);
    if (b_entry[u] != j) continue;  // merged above
    append(u, b.first_word[j], b.words.data() + b.offsets[j], size_t(b.offsets[j + 1] - b.offsets[j]));
  }
  a = std::move(out);
  return both;
}

// b's day marks into a's: a scope both have is merged (its common pairs counted as duplicate
// rows); a scope only b has is taken, renumbered.
void merge_day_marks(Partial& a, Partial& b, const std::vector<uint32_t>& unit) {
  for (Partial::DayMarks& marks : b.day_marks) {
    auto at = std::lower_bound(a.day_marks.begin(), a.day_marks.end(), marks.scope,
                               [](const Partial::DayMarks& m, const std::string& s) { return m.scope < s; });
    if (at != a.day_marks.end() && at->scope == marks.scope) {
      a.input.duplicate_download_rows += merge_marks(*at, marks, unit, a.repos.size());
      continue;
    }
    for (uint32_t& u : marks.unit) u = unit.at(u);
    a.day_marks.insert(at, std::move(marks));
  }
}

void merge_into(Partial& a, Partial&& b) {
  const RepoMerge m = merge_repos(a.repos, b.repos);
  merge_attribution(a.attribution, b.attribution);
  merge_params(a.params, b.params);
  merge_input(a.input, b.input);
  a.have_downloads = a.have_downloads || b.have_downloads;
  a.events += b.events;
  a.unit_total.resize(a.repos.size(), 0);
  for (uint32_t u = 0; u < b.unit_total.size(); ++u)
    detail::add_checked(&a.unit_total[m.unit[u]], b.unit_total[u], "partial", "downloads", b.repos.ids.at(u), "its total");
  if (b.n_months > 0) {
    const Month lo = a.n_months ? std::min(a.month_first, b.month_first) : b.month_first;
    const uint32_t hi_a = a.n_months ? a.month_first + a.n_months - 1 : 0;
    const uint32_t hi = std::max<uint32_t>(hi_a, b.month_first + b.n_months - 1);
    a.month_first = lo;
    a.n_months = hi - lo + 1;
  }
  // Cells: b's renumbered, then both sorted by (unit, month) with equal cells added.
  for (const auto& c : b.unit_month) a.unit_month.push_back({m.unit[c.unit], c.month, c.downloads});
  auto& cells = a.unit_month;
  std::sort(cells.begin(), cells.end(), [](const Partial::UnitMonth& x, const Partial::UnitMonth& y) {
    return x.unit != y.unit ? x.unit < y.unit : x.month < y.month;
  });
  size_t out = 0;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (out > 0 && cells[out - 1].unit == cells[i].unit && cells[out - 1].month == cells[i].month)
      detail::add_checked(&cells[out - 1].downloads, cells[i].downloads, "partial", "downloads",
                          a.repos.ids.at(cells[i].unit), "a month's total");
    else
      cells[out++] = cells[i];
  }
  cells.resize(out);
  merge_day_marks(a, b, m.unit);
}

// The month tables a reduction asks for, from a partial's unit x month cells.
EventTotals month_tables_of(const Partial& p, uint32_t n_units, const std::vector<GroupMap>& maps) {
  EventTotals t;
  t.unit_total = p.unit_total;
  t.unit_total.resize(n_units, 0);
  t.month_first = p.month_first;
  t.n_months = p.n_months;
  t.events = p.events;
  for (const GroupMap& map : maps) {
    GroupMonthTable g;
    g.n_groups = map.n_groups;
    g.month_first = p.month_first;
    g.n_months = p.n_months;
    g.sums.assign(size_t(g.n_groups) * g.n_months, 0);
    for (const auto& c : p.unit_month) {
      const uint32_t group = map.group_of_unit.empty() ? c.unit : map.group_of_unit.at(c.unit);
      detail::add_checked(&g.sums[size_t(c.month - g.month_first) * g.n_groups + group], c.downloads, "partial",
                          "downloads", p.repos.ids.at(c.unit), "a month's total");
    }
    t.group_month.push_back(std::move(g));
  }
  return t;
}

// A partial built by hand (or read from bytes) must be consistent before it is reduced.
void check_shape(const Partial& p) {
  const uint32_t n = p.repos.size();
  if (p.unit_total.size() != n)
    throw Error("partial: " + std::to_string(p.unit_total.size()) + " unit totals for " + std::to_string(n) + " units");
  for (const auto& c : p.unit_month)
    if (c.unit >= n || p.n_months == 0 || c.month < p.month_first || uint32_t(c.month - p.month_first) >= p.n_months)
      throw Error("partial: a unit x month cell (unit " + std::to_string(c.unit) + ", month " + std::to_string(c.month) +
                  ") lies outside the units or the month range");
  for (size_t i = 0; i < p.day_marks.size(); ++i) {
    const Partial::DayMarks& m = p.day_marks[i];
    if (i > 0 && !(p.day_marks[i - 1].scope < m.scope)) throw Error("partial: day mark scopes not ascending");
    if (m.first_word.size() != m.unit.size() || m.offsets.size() != m.unit.size() + 1 || m.offsets.front() != 0 ||
        m.offsets.back() != m.words.size())
      throw Error("partial: day marks of scope '" + m.scope + "' are malformed");
    for (size_t e = 0; e < m.unit.size(); ++e)
      if (m.unit[e] >= n || m.offsets[e] > m.offsets[e + 1] || m.first_word[e] < 0)
        throw Error("partial: day marks of scope '" + m.scope + "' name a unit or word outside the partial");
  }
}

}  // namespace

Partial merge(std::vector<Partial> parts) {
  if (parts.empty()) return {};
  Partial merged = std::move(parts[0]);
  check_shape(merged);
  for (size_t i = 1; i < parts.size(); ++i) {
    check_shape(parts[i]);
    merge_into(merged, std::move(parts[i]));
  }
  // Every sum over any subset of units stays exact when the grand total does.
  uint64_t grand = 0;
  for (uint32_t u = 0; u < merged.unit_total.size(); ++u)
    detail::add_checked(&grand, merged.unit_total[u], "partial", "downloads", merged.repos.ids.at(u),
                        "the total of all repositories");
  uint64_t repositories = 0;
  for (uint8_t placeholder : merged.repos.placeholder) repositories += !placeholder;
  merged.input.repositories = repositories;
  return merged;
}

Results finish(Partial p, const EngineOptions& options) {
  options.validate();
  check_shape(p);
  Results res;
  detail::StageTimer timer(res.timings);
  auto backend = select_backend(options.backend, options.threads, options.device);
  res.backend = backend->info();
  res.concentration_spec = options.concentration;
  timer.mark("select_backend");
  res.input = std::move(p.input);
  detail::ReduceInput in{options, *backend, p.repos, p.attribution, p.params, p.have_downloads,
                         [&p](uint32_t n, const std::vector<GroupMap>& maps) { return month_tables_of(p, n, maps); }};
  detail::reduce(in, res, timer);
  return res;
}

}  // namespace ecostat
