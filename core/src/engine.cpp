// The engine: read inputs, stream download events into a backend, derive group maps,
// reduce (share, concentration, lineage) and assemble Results.
#include "ecostat/engine.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <unordered_set>

#include "ecostat/errors.hpp"
#include "ecostat/host/readers.hpp"
#include "ecostat/host/sample.hpp"
#include "group_maps.hpp"
#include "study/study_internal.hpp"

namespace ecostat {

const char* measure_name(Measure m) {
  switch (m) {
    case Measure::records: return "records";
    case Measure::all_time: return "all_time";
    case Measure::d30: return "30d";
    default: return "auto";
  }
}

Measure parse_measure(const std::string& s) {
  if (s == "auto") return Measure::automatic;
  if (s == "records") return Measure::records;
  if (s == "all_time") return Measure::all_time;
  if (s == "30d") return Measure::d30;
  throw UsageError("unknown measure '" + s + "' (expected auto, records, all_time or 30d)");
}

const std::vector<std::string>& all_group_names() {
  static const std::vector<std::string> names{"model",  "author", "organisation", "country",
                                              "region", "org_type", "family", "size_bucket",
                                              "pipeline_tag", "library", "kind"};
  return names;
}

static void check_groups(const std::vector<std::string>& groups, const char* option) {
  const auto& all = all_group_names();
  for (const auto& g : groups)
    if (std::find(all.begin(), all.end(), g) == all.end())
      throw UsageError(std::string(option) + ": unknown group '" + g + "'");
}

void JobSpec::validate() const {
  check_groups(share_groups, "share groups");
  check_groups(month_groups, "month groups");
  check_groups(concentration_units, "concentration units");
  check_groups(concentration_within, "concentration within");
  if (downloads_format != "detect" && downloads_format != "per_period" && downloads_format != "cumulative")
    throw UsageError("unknown downloads format '" + downloads_format + "' (expected detect, per_period or cumulative)");
  if (batch_capacity == 0) throw UsageError("batch capacity must be positive");
  if (host::parse_window_day(min_date, "min date") > host::parse_window_day(max_date, "max date"))
    throw UsageError("min date " + min_date + " is after max date " + max_date);
  if (duplicates != "count" && duplicates != "reject")
    throw UsageError("unknown duplicates policy '" + duplicates + "' (expected count or reject)");
  if (params_prefer != "table" && params_prefer != "safetensors")
    throw UsageError("unknown params preference '" + params_prefer + "' (expected table or safetensors)");
  study.validate();
  if (study.enabled("adoption")) {  // the ratio names two size classes
    const auto labels = GroupMapBuilder::size_bucket_labels(size_bucket_edges);
    const size_t slash = study.adoption_ratio.find('/');
    for (const std::string& c : {study.adoption_ratio.substr(0, slash), study.adoption_ratio.substr(slash + 1)})
      if (std::find(labels.begin(), labels.end(), c) == labels.end())
        throw UsageError("adoption ratio: '" + c + "' is not a size class (the size buckets are " +
                         [&] { std::string l; for (const auto& x : labels) l += (l.empty() ? "" : ", ") + x; return l; }() + ")");
  }
  for (size_t i = 1; i < size_bucket_edges.size(); ++i)
    if (size_bucket_edges[i] <= size_bucket_edges[i - 1])
      throw UsageError("size bucket edges must increase");
  concentration.validate();
}

namespace {

using Clock = std::chrono::steady_clock;

class StageTimer {
 public:
  explicit StageTimer(std::vector<Timing>& out) : out_(out), t0_(Clock::now()) {}
  void mark(const std::string& stage) {
    const auto t = Clock::now();
    out_.push_back({stage, std::chrono::duration<double, std::milli>(t - t0_).count()});
    t0_ = t;
  }

 private:
  std::vector<Timing>& out_;
  Clock::time_point t0_;
};

// The files of one input role: the path given, else (sample mode) the embedded sample's files.
std::vector<std::unique_ptr<host::ByteSource>> open_inputs(const std::string& path, bool sample,
                                                           const std::vector<std::string>& sample_files) {
  std::vector<std::unique_ptr<host::ByteSource>> out;
  if (!path.empty()) out.push_back(host::open_source(path));
  else if (sample)
    for (const auto& name : sample_files) out.push_back(host::open_sample_file(name));
  return out;
}

host::DownloadFormat parse_format(const std::string& s) {
  if (s == "per_period") return host::DownloadFormat::per_period;
  if (s == "cumulative") return host::DownloadFormat::cumulative;
  return host::DownloadFormat::detect;
}

// The readers' options a job sets: the plausible-date window and the duplicate-row policy.
host::ReadOptions read_options_of(const JobSpec& spec) {
  host::ReadOptions o;
  o.min_day = host::parse_window_day(spec.min_date, "min date");
  o.max_day = host::parse_window_day(spec.max_date, "max date");
  o.duplicates = spec.duplicates == "reject" ? host::DuplicatePolicy::reject : host::DuplicatePolicy::count;
  return o;
}

FileSummary summary_of(const char* role, const host::ReadStats& s) {
  return {role, s.file, s.read, s.accepted, s.rejected, s.bytes};
}

double ratio(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

// Share rows sorted by downloads descending then key, truncated to `limit` (0 = all). Only
// groups with a member unit exist (GroupMapBuilder::has_member). The `unknown` group, when it
// exists, is always listed: in rank order when it ranks within the limit, else appended after
// the `limit` rows.
ShareTable make_share_table(const std::string& name, const GroupKeys& keys, const std::vector<uint8_t>& exists,
                            const std::vector<uint64_t>& sums, size_t limit) {
  ShareTable t;
  t.group = name;
  std::vector<uint32_t> order;
  for (uint32_t g = 0; g < sums.size(); ++g) {
    t.total += sums[g];
    if (exists[g]) order.push_back(g);
  }
  t.groups = order.size();
  auto by_downloads = [&](uint32_t a, uint32_t b) {
    if (sums[a] != sums[b]) return sums[a] > sums[b];
    return keys.key(a) < keys.key(b);
  };
  const size_t keep = (limit == 0 || limit >= order.size()) ? order.size() : limit;
  std::partial_sort(order.begin(), order.begin() + keep, order.end(), by_downloads);
  t.truncated = keep < order.size();
  const uint32_t unknown = keys.unknown_id();
  bool unknown_listed = false;
  for (size_t i = 0; i < keep; ++i) {
    const uint32_t g = order[i];
    unknown_listed |= (g == unknown);
    t.rows.push_back({keys.key(g), sums[g], ratio(sums[g], t.total)});
  }
  if (!unknown_listed && unknown != kNone && exists[unknown])
    t.rows.push_back({keys.key(unknown), sums[unknown], ratio(sums[unknown], t.total)});
  return t;
}

// Per month: the groups with downloads that month, the same limit rule as make_share_table;
// the `unknown` row is listed every month when the unknown group exists.
ShareMonthTable make_share_month_table(const std::string& name, const GroupKeys& keys, const std::vector<uint8_t>& exists,
                                       const GroupMonthTable& tab, size_t limit) {
  ShareMonthTable t;
  t.group = name;
  std::vector<uint32_t> order;
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
    auto by_downloads = [&](uint32_t a, uint32_t b) {
      if (row[a] != row[b]) return row[a] > row[b];
      return keys.key(a) < keys.key(b);
    };
    const size_t keep = (limit == 0 || limit >= order.size()) ? order.size() : limit;
    std::partial_sort(order.begin(), order.begin() + keep, order.end(), by_downloads);
    t.truncated |= keep < order.size();
    bool unknown_listed = false;
    for (size_t i = 0; i < keep; ++i) {
      unknown_listed |= (order[i] == keys.unknown_id());
      t.rows.push_back({keys.key(order[i]), m, row[order[i]], ratio(row[order[i]], total)});
    }
    const uint32_t unknown = keys.unknown_id();
    if (!unknown_listed && unknown != kNone && exists[unknown])
      t.rows.push_back({keys.key(unknown), m, row[unknown], ratio(row[unknown], total)});
  }
  return t;
}

// Adds `add` to `*sum`; a sum past 2^64-1 is an InputError naming the repository whose count
// took it there. The readers stop such input first (docs/input-formats.md); this guards library
// callers that bypass them, so a sum is exact or an error, never wrapped.
void add_checked(uint64_t* sum, uint64_t add, const std::string& source, const char* field, const std::string& repo,
                 const char* what) {
  if (__builtin_add_overflow(*sum, add, sum))
    throw InputError(source, 0, field,
                     "the count " + std::to_string(add) + " of repository '" + repo + "' takes " + what +
                         " past 2^64-1 (18446744073709551615)");
}

// The input a measure reads its counts from, for error messages.
std::string measure_source(Measure m, const JobSpec& spec) {
  const std::string& path = m == Measure::records ? spec.downloads_path : spec.repos_path;
  if (!path.empty()) return path;
  return m == Measure::records ? "(sample downloads)" : "(sample repositories)";
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

// Widens a month table to [lo, hi] (already covering it: unchanged).
void widen_months(GroupMonthTable& t, Month lo, Month hi) {
  if (t.n_months > 0) {
    lo = std::min<Month>(lo, t.month_first);
    hi = std::max<Month>(hi, static_cast<Month>(t.month_first + t.n_months - 1));
    if (lo == t.month_first && uint32_t(hi) - lo + 1 == t.n_months) return;
  }
  const uint32_t n_months = uint32_t(hi) - lo + 1;
  std::vector<uint64_t> sums(size_t(n_months) * t.n_groups, 0);
  for (uint32_t mi = 0; mi < t.n_months; ++mi)
    std::copy_n(t.sums.begin() + size_t(mi) * t.n_groups, t.n_groups,
                sums.begin() + size_t(t.month_first + mi - lo) * t.n_groups);
  t.sums = std::move(sums);
  t.month_first = lo;
  t.n_months = n_months;
}

}  // namespace

void add_wide_events(EventTotals& totals, const std::vector<WideEvent>& wide, const std::vector<GroupMap>& maps,
                     const Dictionary& ids, const std::string& source) {
  if (wide.empty()) return;
  if (maps.size() != totals.group_month.size())
    throw Error("add_wide_events: " + std::to_string(maps.size()) + " group maps for " +
                std::to_string(totals.group_month.size()) + " month tables");
  Month lo = 0xffff, hi = 0;
  for (const WideEvent& w : wide) {
    if (w.unit >= totals.unit_total.size())
      throw Error("add_wide_events: unit " + std::to_string(w.unit) + " outside the " +
                  std::to_string(totals.unit_total.size()) + " units of the totals");
    lo = std::min(lo, w.month);
    hi = std::max(hi, w.month);
  }
  // The accumulators saw no event of these (size() == 0 batches are skipped): widen the range.
  if (totals.n_months > 0) {
    lo = std::min<Month>(lo, totals.month_first);
    hi = std::max<Month>(hi, static_cast<Month>(totals.month_first + totals.n_months - 1));
  }
  totals.month_first = lo;
  totals.n_months = uint32_t(hi) - lo + 1;
  for (GroupMonthTable& t : totals.group_month) widen_months(t, lo, hi);
  for (const WideEvent& w : wide) {
    const std::string repo = w.unit < ids.size() ? ids.at(w.unit) : "#" + std::to_string(w.unit);
    add_checked(&totals.unit_total[w.unit], w.count, source, "downloads", repo, "its total");
    ++totals.events;
    for (size_t i = 0; i < maps.size(); ++i) {
      GroupMonthTable& t = totals.group_month[i];
      const uint32_t g = maps[i].group_of_unit.empty() ? w.unit : maps[i].group_of_unit.at(w.unit);
      if (g >= t.n_groups)
        throw Error("add_wide_events: group map '" + maps[i].name + "' sends unit " + std::to_string(w.unit) +
                    " to group " + std::to_string(g) + " (n_groups " + std::to_string(t.n_groups) + ")");
      add_checked(&t.sums[size_t(w.month - t.month_first) * t.n_groups + g], w.count, source, "downloads", repo,
                  "a month's total");
    }
  }
}

Results run_job(const JobSpec& spec) {
  spec.validate();
  Results res;
  StageTimer timer(res.timings);
  auto backend = select_backend(spec.backend, spec.threads);
  res.backend = backend->info();
  res.concentration_spec = spec.concentration;
  timer.mark("select_backend");

  const bool sample = spec.repos_path.empty() && spec.downloads_path.empty() && spec.orgs_path.empty();
  host::RejectLog rejects(spec.strict, spec.rejects_path);
  std::vector<WideEvent> wide_events;  // counts above u32: the backends never see them
  auto progress_for = [&](const std::string& stage) -> host::ProgressFn {
    if (!spec.progress) return {};
    return [&spec, stage](uint64_t done, uint64_t total) { spec.progress(stage, done, total); };
  };

  // 1. Attribution, then repositories (all of them: they are millions, not billions).
  const host::SampleInputs& samples = host::sample_inputs();
  AttributionTable attribution;
  for (auto& src : open_inputs(spec.orgs_path, sample, samples.attribution))
    res.input.files.push_back(summary_of("orgs", host::read_attribution(*src, attribution, rejects)));
  RepoTable repos;
  for (auto& src : open_inputs(spec.repos_path, sample, samples.repositories)) {
    auto st = host::read_repositories(*src, repos, rejects, progress_for("repositories"), read_options_of(spec));
    res.input.repositories += st.accepted;
    res.input.files.push_back(summary_of("repos", st));
  }
  timer.mark("read_repositories");

  // 2. Download records stream through the backend's accumulator in batches.
  auto acc = backend->make_accumulator();
  auto download_sources = open_inputs(spec.downloads_path, sample, samples.downloads);
  const bool have_downloads = !download_sources.empty();
  host::DownloadJob download_job;  // the total and the duplicate check span every download file
  for (auto& src : download_sources) {
    auto st = host::read_downloads(*src, parse_format(spec.downloads_format), repos, rejects, spec.batch_capacity,
                                   [&](const EventBatch& b) {
                                     acc->add(b);
                                     wide_events.insert(wide_events.end(), b.wide.begin(), b.wide.end());
                                   }, progress_for("downloads"), read_options_of(spec), download_job);
    res.input.download_records += st.accepted;
    res.input.files.push_back(summary_of("downloads", st));
  }
  res.input.duplicate_download_rows = download_job.duplicate_rows();
  timer.mark("read_and_accumulate_downloads");

  // 2b. Parameter counts from a parameters table, before any size group is built.
  {
    host::ParameterTable params;
    for (auto& src : open_inputs(spec.params_path, sample, samples.parameters))
      res.input.files.push_back(summary_of("params", host::read_parameters(*src, params, rejects)));
    res.study.size.sources = study::apply_parameter_table(repos, params, spec.params_prefer);
  }

  // 3. Lineage on the acyclic graph core builds, so that every backend sees the same graph.
  const uint32_t n_units = repos.size();
  CycleReport cycles;
  LineageGraph graph = build_lineage_graph(n_units, repos.edges, &cycles);
  LineageRaw lineage = backend->lineage(graph);
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
  EventTotals events = acc->finish(n_units, month_maps);
  add_wide_events(events, wide_events, month_maps, repos.ids, measure_source(Measure::records, spec));
  res.input.events = events.events;
  timer.mark("finish_tables");

  res.measure = spec.measure;
  if (res.measure == Measure::automatic) {
    const bool any_all_time = std::any_of(repos.has_all_time.begin(), repos.has_all_time.end(),
                                          [](uint8_t h) { return h != 0; });
    res.measure = have_downloads ? Measure::records : any_all_time ? Measure::all_time : Measure::d30;
  }
  const std::vector<uint64_t> totals = unit_totals_for(res.measure, repos, events, measure_source(res.measure, spec),
                                                     &res.input.units_without_measure);

  // 5. Share by each group, and by group x month.
  std::map<std::string, std::vector<uint64_t>> group_totals;
  auto totals_of = [&](const std::string& g) -> const std::vector<uint64_t>& {
    auto it = group_totals.find(g);
    if (it == group_totals.end()) it = group_totals.emplace(g, backend->group_sum(totals, groups.map(g))).first;
    return it->second;
  };
  for (const auto& g : spec.share_groups)
    res.share.push_back(make_share_table(g, groups.keys(g), groups.has_member(g), totals_of(g), spec.share_limit));
  for (size_t i = 0; i < n_share_month; ++i) {
    const std::string& g = spec.month_groups[i];
    res.share_month.push_back(
        make_share_month_table(g, groups.keys(g), groups.has_member(g), events.group_month[i], spec.share_limit));
  }
  timer.mark("share");

  // 6. Concentration over unit totals (zeros included), for whole populations and within groups.
  // A group unit counts only when it exists (has a member), as in the share tables.
  for (const auto& unit : spec.concentration_units) {
    std::vector<uint64_t> group_values;
    if (unit != "model") group_values = existing_only(totals_of(unit), groups.has_member(unit));
    auto raw = backend->concentration(unit == "model" ? totals : group_values, {}, 1, spec.concentration);
    res.concentration[unit] = finalize(raw.at(0), spec.concentration);
  }
  for (const auto& g : spec.concentration_within) {
    const GroupMap& map = groups.map(g);
    std::vector<uint32_t> segment_of = map.group_of_unit;
    if (segment_of.empty()) {  // identity: each model its own segment
      segment_of.resize(n_units);
      for (uint32_t u = 0; u < n_units; ++u) segment_of[u] = u;
    }
    auto raws = backend->concentration(totals, segment_of, map.n_groups, spec.concentration);
    auto& out = res.concentration_within[g];
    const GroupKeys& keys = groups.keys(g);
    for (uint32_t s = 0; s < raws.size(); ++s)
      if (raws[s].n > 0) out.emplace_back(keys.key(s), finalize(raws[s], spec.concentration));
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
    L.cycles.push_back(std::move(members));
  }
  for (uint32_t v : cycles.self_loops) L.self_loops.push_back(repos.ids.at(v));
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
  for (uint32_t p : referenced_parents)
    if (repos.placeholder[p]) {
      ++res.input.unresolved_parents;
      if (L.unresolved_sample.size() < 20) L.unresolved_sample.push_back(repos.ids.at(p));
    }
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
    study::Context ctx{spec, repos, graph, groups, *backend, totals, have_downloads, nullptr, {}, -1};
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
  for (uint32_t u = 0; u < n_units; ++u) res.input.placeholders_from_downloads += repos.in_downloads_only[u];
  res.input.rejected = rejects.total();
  res.input.rejected_by_reason = rejects.by_reason();
  for (const auto& r : rejects.first()) {
    if (res.input.first_rejects.size() >= 20) break;
    res.input.first_rejects.push_back({r.file, r.line, r.field, r.reason});
  }
  rejects.finish();  // the rejects file replaces the previous one only now that the run succeeded
  return res;
}

}  // namespace ecostat
