// Results as flat tables (results_tables.hpp). Column names follow the results document
// (docs/results-schema.md); nested lists there become one column per entry here.
#include "results_tables.hpp"

#include <cstdio>
#include <stdexcept>

#include "ecostat/errors.hpp"

namespace ecostat::python {

namespace {

// Map keys as the results document writes them ("%.10g": 0.1, 1, 99.9).
std::string number_key(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

uint64_t checked_u64(u128 v, const std::string& what) {
  if (v > static_cast<u128>(UINT64_MAX))
    throw Error(what + " exceeds 2^64-1 (" + to_string(v) + "): read it from to_dict()");
  return static_cast<uint64_t>(v);
}

ExportTable share_table(const ShareTable& t) {
  ExportTable out;
  auto& key = out.utf8("key");
  auto& downloads = out.uint64("downloads");
  auto& share = out.float64("share");
  for (const auto& row : t.rows) {
    key.strings.emplace_back(row.key);
    downloads.integers.push_back(row.downloads);
    share.reals.push_back(row.share);
  }
  return out;
}

ExportTable share_month_table(const ShareMonthTable& t) {
  ExportTable out;
  auto& key = out.utf8("key");
  auto& month = out.utf8("month");
  auto& downloads = out.uint64("downloads");
  auto& share = out.float64("share");
  for (const auto& row : t.rows) {
    key.strings.emplace_back(row.key);
    month.strings.push_back(month_label(row.month));
    downloads.integers.push_back(row.downloads);
    share.reals.push_back(row.share);
  }
  return out;
}

ExportTable share_year_table(const ShareYearTable& t) {
  ExportTable out;
  auto& key = out.utf8("key");
  auto& year = out.uint64("year");
  auto& downloads = out.uint64("downloads");
  auto& share = out.float64("share");
  for (const auto& row : t.rows) {
    key.strings.push_back(row.key);
    year.integers.push_back(static_cast<uint64_t>(row.year));
    downloads.integers.push_back(row.downloads);
    share.reals.push_back(row.share);
  }
  return out;
}

// One row per population: `key_name` names it (the unit, or the group within), then n,
// total, gini, hhi, top_k_<k>, top_pct_<p>, p<q>, below_<t>_count, below_<t>_fraction.
ExportTable concentration_table(const std::string& key_name,
                                const std::vector<std::pair<std::string, const ConcentrationStats*>>& rows) {
  ExportTable out;
  auto& key = out.utf8(key_name);
  auto& n = out.uint64("n");
  auto& total = out.uint64("total");
  auto& gini = out.float64("gini");
  auto& hhi = out.float64("hhi");
  if (rows.empty()) return out;
  const ConcentrationStats& first = *rows.front().second;  // every row has the same spec
  std::vector<ExportColumn*> top_k, top_pct, percentiles, below_count, below_fraction;
  for (const auto& [k, s] : first.top_k) top_k.push_back(&out.float64("top_k_" + std::to_string(k)));
  for (const auto& [p, s] : first.top_pct) top_pct.push_back(&out.float64("top_pct_" + number_key(p)));
  for (const auto& [q, v] : first.percentiles) percentiles.push_back(&out.float64("p" + number_key(q)));
  for (const auto& b : first.below) {
    below_count.push_back(&out.uint64("below_" + std::to_string(b.threshold) + "_count"));
    below_fraction.push_back(&out.float64("below_" + std::to_string(b.threshold) + "_fraction"));
  }
  for (const auto& [name, stats] : rows) {
    const ConcentrationStats& s = *stats;
    key.strings.push_back(name);
    n.integers.push_back(s.n);
    total.integers.push_back(checked_u64(s.total, "the concentration total of " + name));
    gini.reals.push_back(s.gini);
    hhi.reals.push_back(s.hhi);
    for (size_t i = 0; i < top_k.size() && i < s.top_k.size(); ++i) top_k[i]->reals.push_back(s.top_k[i].second);
    for (size_t i = 0; i < top_pct.size() && i < s.top_pct.size(); ++i) top_pct[i]->reals.push_back(s.top_pct[i].second);
    for (size_t i = 0; i < percentiles.size() && i < s.percentiles.size(); ++i)
      percentiles[i]->reals.push_back(s.percentiles[i].second);
    for (size_t i = 0; i < below_count.size() && i < s.below.size(); ++i) {
      below_count[i]->integers.push_back(s.below[i].count);
      below_fraction[i]->reals.push_back(s.below[i].fraction);
    }
  }
  out.rows();  // every row filled every column
  return out;
}

ExportTable lorenz_table(const ConcentrationStats& s) {
  ExportTable out;
  auto& x = out.float64("population");
  auto& y = out.float64("share");
  for (const auto& [px, py] : s.lorenz) {
    x.reals.push_back(px);
    y.reals.push_back(py);
  }
  return out;
}

ExportTable families_table(const LineageSummary& L) {
  ExportTable out;
  auto& root = out.utf8("root");
  auto& size = out.uint64("size");
  auto& descendants = out.uint64("descendants");
  std::vector<ExportColumn*> by_relation;
  for (int i = 0; i < kRelationCount; ++i) by_relation.push_back(&out.uint64(relation_name(static_cast<Relation>(i))));
  auto& downloads = out.uint64("downloads");
  auto& share = out.float64("share");
  for (const auto& f : L.families) {
    root.strings.push_back(f.root);
    size.integers.push_back(f.size);
    descendants.integers.push_back(f.descendants);
    for (int i = 0; i < kRelationCount; ++i) by_relation[i]->integers.push_back(f.by_relation[i]);
    downloads.integers.push_back(f.downloads);
    share.reals.push_back(f.share);
  }
  return out;
}

ExportTable derivatives_table(const std::string& key_name, const std::vector<DerivativeRow>& rows, bool with_roots) {
  ExportTable out;
  auto& key = out.utf8(key_name);
  ExportColumn* roots = with_roots ? &out.uint64("roots") : nullptr;
  auto& derivatives = out.uint64("derivatives");
  for (const auto& d : rows) {
    key.strings.push_back(d.key);
    if (roots) roots->integers.push_back(d.roots);
    derivatives.integers.push_back(d.derivatives);
  }
  return out;
}

const std::string kShare = "share.", kWithin = "concentration_within.", kLorenz = "lorenz.";
const std::string kXMonth = "_x_month", kXYear = "_x_year";

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

std::vector<std::string> table_names(const Results& r) {
  std::vector<std::string> names;
  for (const auto& t : r.share) names.push_back(kShare + t.group);
  for (const auto& t : r.share_month) names.push_back(kShare + t.group + kXMonth);
  for (const auto& t : r.study.attribution.share_year) names.push_back(kShare + t.group + kXYear);
  names.push_back("concentration");
  for (const auto& [group, rows] : r.concentration_within) names.push_back(kWithin + group);
  for (const auto& [unit, stats] : r.concentration) names.push_back(kLorenz + unit);
  for (const char* n : {"lineage.families", "lineage.derivatives_by_organisation", "lineage.derivatives_by_tag"})
    names.push_back(n);
  return names;
}

ExportTable results_table(const Results& r, const std::string& name) {
  if (name.rfind(kShare, 0) == 0) {
    const std::string rest = name.substr(kShare.size());
    for (const auto& t : r.share_month)
      if (ends_with(rest, kXMonth) && t.group + kXMonth == rest) return share_month_table(t);
    for (const auto& t : r.study.attribution.share_year)
      if (ends_with(rest, kXYear) && t.group + kXYear == rest) return share_year_table(t);
    for (const auto& t : r.share)
      if (t.group == rest) return share_table(t);
  } else if (name == "concentration") {
    std::vector<std::pair<std::string, const ConcentrationStats*>> rows;
    for (const auto& [unit, stats] : r.concentration) rows.emplace_back(unit, &stats);
    return concentration_table("unit", rows);
  } else if (name.rfind(kWithin, 0) == 0) {
    auto it = r.concentration_within.find(name.substr(kWithin.size()));
    if (it != r.concentration_within.end()) {
      std::vector<std::pair<std::string, const ConcentrationStats*>> rows;
      for (const auto& [key, stats] : it->second) rows.emplace_back(key, &stats);
      return concentration_table("key", rows);
    }
  } else if (name.rfind(kLorenz, 0) == 0) {
    auto it = r.concentration.find(name.substr(kLorenz.size()));
    if (it != r.concentration.end()) return lorenz_table(it->second);
  } else if (name == "lineage.families") {
    return families_table(r.lineage);
  } else if (name == "lineage.derivatives_by_organisation") {
    return derivatives_table("organisation", r.lineage.by_organisation, true);
  } else if (name == "lineage.derivatives_by_tag") {
    return derivatives_table("tag", r.lineage.by_tag, false);
  }
  std::string known;
  for (const auto& n : table_names(r)) known += (known.empty() ? "" : ", ") + n;
  throw std::out_of_range("no table '" + name + "' in these results; there are: " + known);
}

}  // namespace ecostat::python
