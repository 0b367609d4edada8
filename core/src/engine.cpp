// The engine: read inputs, stream download events into a backend, derive group maps,
// reduce (share, concentration, lineage) and assemble Results.
#include "ecostat/engine.hpp"

#include <algorithm>
#include <tuple>

#include "ecostat/errors.hpp"
#include "engine_internal.hpp"
#include "group_maps.hpp"

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

void EngineOptions::validate() const {
  check_groups(share_groups, "share groups");
  check_groups(month_groups, "month groups");
  check_groups(concentration_units, "concentration units");
  check_groups(concentration_within, "concentration within");
  if (downloads_format != "detect" && downloads_format != "per_period" && downloads_format != "cumulative")
    throw UsageError("unknown downloads format '" + downloads_format + "' (expected detect, per_period or cumulative)");
  if (batch_capacity == 0) throw UsageError("batch capacity must be positive");
  if (device < -1) throw UsageError("device " + std::to_string(device) + ": expected an index >= 0, or -1 (not chosen)");
  if (parse_window_day(min_date, "min date") > parse_window_day(max_date, "max date"))
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

namespace detail {

// Adds `add` to `*sum`; a sum past 2^64-1 is an InputError naming the repository whose count
// took it there. The readers stop such input first (docs/input-formats.md); this guards library
// callers that bypass them, so a sum is exact or an error, never wrapped.
void add_checked(uint64_t* sum, uint64_t add, const std::string& source, const char* field, std::string_view repo,
                 const char* what) {
  if (__builtin_add_overflow(*sum, add, sum))
    throw InputError(source, 0, field,
                     "the count " + std::to_string(add) + " of repository '" + std::string(repo) + "' takes " + what +
                         " past 2^64-1 (18446744073709551615)");
}

std::string source_of(const InputSummary& input, const std::string& role) {
  for (const FileSummary& f : input.files)
    if (f.role == role) return f.file;
  return "(" + role + ")";
}

void canonical_input_order(InputSummary* input, size_t keep) {
  static const std::vector<std::string> roles{"orgs", "repos", "downloads", "params"};
  auto rank = [](const std::string& role) {
    return size_t(std::find(roles.begin(), roles.end(), role) - roles.begin());
  };
  std::stable_sort(input->files.begin(), input->files.end(), [&](const FileSummary& a, const FileSummary& b) {
    const size_t ra = rank(a.role), rb = rank(b.role);
    return ra != rb ? ra < rb : a.file < b.file;
  });
  auto& first = input->first_rejects;
  auto key = [](const InputSummary::Rejected& r) { return std::tie(r.file, r.line, r.field, r.reason); };
  const size_t n = std::min(keep, first.size());
  std::partial_sort(first.begin(), first.begin() + n, first.end(),
                    [&](const auto& a, const auto& b) { return key(a) < key(b); });
  first.resize(n);
}

}  // namespace detail

namespace {

using detail::add_checked;

// Widens a month table to [lo, hi] (already covering it: unchanged).
void widen_months(GroupMonthTable& t, Month lo, Month hi) {
  if (t.n_months > 0) {
    lo = std::min<Month>(lo, t.month_first);
    hi = std::max<Month>(hi, static_cast<Month>(t.month_first + t.n_months - 1));
    if (lo == t.month_first && uint32_t(hi) - lo + 1 == t.n_months) return;
  }
  const uint32_t n_months = uint32_t(hi) - lo + 1;
  Cells sums(size_t(n_months) * t.n_groups);
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
    const std::string repo = w.unit < ids.size() ? std::string(ids.at(w.unit)) : "#" + std::to_string(w.unit);
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

}  // namespace ecostat
