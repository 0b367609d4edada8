// The results document, schema "ecostat.results/1" (docs/results-schema.md). Keys keep a stable
// order; numbers that cannot be represented (NaN percentiles of an empty population) are null.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "ecostat/detail/output_file.hpp"
#include "ecostat/engine.hpp"
#include "ecostat/version.hpp"
#include "json_stream.hpp"
#include "share_rows_json.hpp"
#include "study/study_internal.hpp"

namespace ecostat {

using json = nlohmann::ordered_json;

std::string format_number_key(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

static json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// u128 totals as a JSON integer when they fit in u64, else as a decimal string.
static json big(u128 v) {
  if (v <= static_cast<u128>(UINT64_MAX)) return json(static_cast<uint64_t>(v));
  return json(to_string(v));
}

json concentration_json(const ConcentrationStats& s) {
  json j;
  j["n"] = s.n;
  j["total"] = big(s.total);
  j["gini"] = number(s.gini);
  j["hhi"] = number(s.hhi);
  j["hhi_10000"] = number(s.hhi * 10000.0);
  json& top = j["top_k"] = json::object();
  for (const auto& [k, share] : s.top_k) top[std::to_string(k)] = number(share);
  json& pct = j["top_pct"] = json::object();
  for (const auto& [p, share] : s.top_pct) pct[format_number_key(p)] = number(share);
  json& q = j["percentiles"] = json::object();
  for (const auto& [p, v] : s.percentiles) q[format_number_key(p)] = number(v);
  json& below = j["below"] = json::object();
  for (const auto& b : s.below) below[std::to_string(b.threshold)] = {{"count", b.count}, {"fraction", number(b.fraction)}};
  json& lorenz = j["lorenz"] = json::array();
  for (const auto& [x, y] : s.lorenz) lorenz.push_back({number(x), number(y)});
  return j;
}

static json relations_json(const std::array<uint64_t, kRelationCount>& a) {
  json j = json::object();
  for (int r = 0; r < kRelationCount; ++r) j[relation_name(static_cast<Relation>(r))] = a[r];
  return j;
}

// The document without the rows of the share and share-by-month tables (empty arrays hold
// their places): those can be millions of rows and are streamed by write_results_json.
static json results_skeleton(const Results& r) {
  json j;
  j["schema"] = "ecostat.results/1";
  j["ecostat_version"] = version();
  j["commit"] = commit();
  j["backend"] = {{"name", r.backend.name}, {"device", r.backend.device}};
  if (r.accumulator.device)  // a device accumulator: how it fitted the device's memory
    j["backend"]["memory"] = {{"partitioned", r.accumulator.partitioned},
                              {"finish_passes", r.accumulator.finish_passes},
                              {"chunk_events", r.accumulator.chunk_events},
                              {"chunk_halvings", r.accumulator.chunk_halvings}};
  j["measure"] = measure_name(r.measure);

  json& in = j["input"];
  in["repositories"] = r.input.repositories;
  in["units"] = r.input.units;
  in["placeholders_from_downloads"] = r.input.placeholders_from_downloads;
  in["download_records"] = r.input.download_records;
  in["duplicate_download_rows"] = r.input.duplicate_download_rows;
  in["events"] = r.input.events;
  in["rejected"] = r.input.rejected;
  in["rejected_by_reason"] = r.input.rejected_by_reason;
  in["unresolved_parents"] = r.input.unresolved_parents;
  in["units_without_measure"] = r.input.units_without_measure;
  json& files = in["files"] = json::array();
  for (const auto& f : r.input.files)
    files.push_back({{"role", f.role}, {"file", f.file}, {"read", f.read}, {"accepted", f.accepted},
                     {"rejected", f.rejected}, {"bytes", f.bytes}});
  json& rej = in["first_rejects"] = json::array();
  for (const auto& x : r.input.first_rejects)
    rej.push_back({{"file", x.file}, {"line", x.line}, {"field", x.field}, {"reason", x.reason}});

  json& conc = j["concentration"] = json::object();
  for (const auto& [unit, s] : r.concentration) conc[unit] = concentration_json(s);
  json& within = j["concentration_within"] = json::object();
  for (const auto& [group, list] : r.concentration_within) {
    json& arr = within[group] = json::array();
    for (const auto& [key, s] : list) {
      json e = concentration_json(s);
      e["key"] = key;
      arr.push_back(std::move(e));
    }
  }

  json& share = j["share"] = json::object();
  json& info = j["share_info"] = json::object();
  for (const auto& t : r.share) {
    share[t.group] = json::array();
    info[t.group] = {{"groups", t.groups}, {"total", t.total}, {"listed", t.rows.size()}, {"truncated", t.truncated}};
  }
  for (const auto& t : r.share_month) {
    const std::string name = t.group + "_x_month";
    share[name] = json::array();
    json months = json::array();
    for (const auto& [m, total] : t.month_totals) months.push_back({{"month", month_label(m)}, {"total", total}});
    info[name] = {{"months", months}, {"listed", t.rows.size()}, {"truncated", t.truncated}};
  }

  const LineageSummary& L = r.lineage;
  json& lin = j["lineage"];
  lin["nodes"] = L.nodes;
  lin["edges"] = L.edges;
  lin["edges_by_relation"] = relations_json(L.edges_by_relation);
  lin["roots"] = L.roots;
  lin["max_depth"] = L.max_depth;
  lin["cycles"] = L.cycles;
  lin["self_loops"] = L.self_loops;
  lin["removed_edges"] = L.removed_edges;
  lin["unresolved_parents"] = r.input.unresolved_parents;
  lin["unresolved_sample"] = L.unresolved_sample;
  lin["families_total"] = L.families_total;
  json& fam = lin["families"] = json::array();
  for (const auto& f : L.families)
    fam.push_back({{"root", f.root}, {"size", f.size}, {"descendants", f.descendants},
                   {"by_relation", relations_json(f.by_relation)}, {"downloads", f.downloads}, {"share", number(f.share)}});
  json& org = lin["derivatives_by_organisation"] = json::array();
  for (const auto& d : L.by_organisation) org.push_back({{"organisation", d.key}, {"roots", d.roots}, {"derivatives", d.derivatives}});
  json& tag = lin["derivatives_by_tag"] = json::array();
  for (const auto& d : L.by_tag) tag.push_back({{"tag", d.key}, {"derivatives", d.derivatives}});

  study::add_json(j, r);  // study.*, share.<group>_x_year

  json& t = j["timings_ms"] = json::object();
  for (const auto& x : r.timings) t[x.stage] = x.ms;
  return j;
}

// Text from malformed input (a key, a reject's reason) may hold invalid UTF-8: replaced by
// U+FFFD so that the document is always valid JSON. The bytes are those of dumping the whole
// document as one DOM (JsonStream), without its memory, except that each row of a share list
// is one line, dumped compactly (docs/results-schema.md, "Layout").
void write_results_json(const Results& r, const std::function<void(std::string_view)>& sink, int indent,
                        unsigned threads) {
  const json j = results_skeleton(r);
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  // Threads help only a table of more than one slice: no pool is started otherwise.
  size_t longest = 0;
  for (const auto& t : r.share) longest = std::max(longest, t.rows.size());
  for (const auto& t : r.share_month) longest = std::max(longest, t.rows.size());
  std::unique_ptr<detail::ThreadPool> pool;
  if (threads > 1 && longest > detail::kShareRowsPerSlice) pool = std::make_unique<detail::ThreadPool>(threads);
  std::map<std::string, const ShareTable*> share_rows;
  std::map<std::string, const ShareMonthTable*> month_rows;
  for (const auto& t : r.share) share_rows[t.group] = &t;
  for (const auto& t : r.share_month) month_rows[t.group + "_x_month"] = &t;
  detail::JsonStream out(sink, indent);
  out.begin_object();
  for (const auto& [k, v] : j.items()) {
    out.key(k);
    if (k != "share") {
      out.dom_value(v);
      continue;
    }
    out.begin_object();
    for (const auto& [name, table] : v.items()) {
      out.key(name);
      if (auto s = share_rows.find(name); s != share_rows.end()) {
        out.begin_array(), detail::stream_share_rows(out, *s->second, pool.get()), out.end_array();
      } else if (auto m = month_rows.find(name); m != month_rows.end()) {
        out.begin_array(), detail::stream_share_rows(out, *m->second, pool.get()), out.end_array();
      } else if (table.is_array()) {  // share.<group>_x_year: short, but one row a line as well
        out.begin_array();
        for (const json& row : table) out.compact_value(row);
        out.end_array();
      } else {
        out.dom_value(table);
      }
    }
    out.end_object();
  }
  out.end_object();
  out.flush();
  sink("\n");
}

std::string results_to_json(const Results& r, int indent, unsigned threads) {
  std::string text;
  write_results_json(r, [&](std::string_view bytes) { text.append(bytes); }, indent, threads);
  return text;
}

void write_results_json_file(const Results& r, const std::string& path, int indent, unsigned threads) {
  OutputFile file(path);
  write_results_json(r, [&](std::string_view bytes) { file.write(bytes); }, indent, threads);
  file.commit();
}

}  // namespace ecostat
