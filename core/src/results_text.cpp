// Readable tables for the terminal: the headline figures, not every row (JSON has those).
#include <cstdio>
#include <sstream>

#include "ecostat/engine.hpp"
#include "study/study_internal.hpp"

namespace ecostat {

static std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

static std::string with_commas(uint64_t v) {
  std::string s = std::to_string(v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

static std::string clip(std::string_view s, size_t w) { return s.size() <= w ? std::string(s) : std::string(s.substr(0, w - 1)) + "~"; }

std::vector<std::string> memory_notes(const Results& r) {
  const AccumulatorReport& a = r.accumulator;
  std::vector<std::string> notes;
  if (a.partitioned)
    notes.push_back("the per-unit table did not fit the " + r.backend.name + " device's memory: finish ran in " +
                    std::to_string(a.finish_passes) + " passes over unit ranges (same results, slower)");
  if (a.chunk_halvings)
    notes.push_back("the pinned ring's chunk was halved " + std::to_string(a.chunk_halvings) + " times to fit the " +
                    r.backend.name + " device, to " + with_commas(a.chunk_events) + " events");
  return notes;
}

std::string results_to_text(const Results& r, size_t rows) {
  std::ostringstream o;
  const InputSummary& in = r.input;
  o << "ecostat results  (backend " << r.backend.name << ": " << r.backend.device << "; measure "
    << measure_name(r.measure) << ")\n";
  for (const std::string& note : memory_notes(r)) o << "  " << note << "\n";
  o << "\n";
  o << "Input\n";
  for (const auto& f : in.files)
    o << "  " << f.role << "  " << f.file << ": " << with_commas(f.read) << " read, " << with_commas(f.accepted)
      << " accepted, " << with_commas(f.rejected) << " rejected\n";
  o << "  units " << with_commas(in.units) << " (" << with_commas(in.repositories) << " repository records, "
    << with_commas(in.placeholders_from_downloads) << " named only by downloads), events " << with_commas(in.events)
    << ", unresolved parents " << with_commas(in.unresolved_parents) << "\n";
  if (in.duplicate_download_rows)
    o << "  duplicate download rows (a repo and date read before) " << with_commas(in.duplicate_download_rows) << "\n";
  if (in.rejected) {
    o << "  rejected " << with_commas(in.rejected) << ":";
    for (const auto& [reason, n] : in.rejected_by_reason) o << "  " << reason << " (" << n << ")";
    o << "\n";
  }

  for (const auto& [unit, s] : r.concentration) {
    o << "\nConcentration by " << unit << "  (n " << with_commas(s.n) << ", total " << to_string(s.total) << ")\n";
    o << "  gini " << fmt("%.4f", s.gini) << "   hhi " << fmt("%.6f", s.hhi) << " (" << fmt("%.1f", s.hhi * 1e4) << ")\n  top";
    for (const auto& [k, share] : s.top_k) o << "  " << k << ": " << fmt("%.2f%%", share * 100);
    o << "\n  top %";
    for (const auto& [p, share] : s.top_pct) o << "  " << fmt("%g%%", p) << ": " << fmt("%.2f%%", share * 100);
    o << "\n  percentiles";
    for (const auto& [q, v] : s.percentiles) o << "  p" << fmt("%g", q) << " " << fmt("%.1f", v);
    for (const auto& b : s.below)
      o << "\n  below " << b.threshold << ": " << with_commas(b.count) << " (" << fmt("%.2f%%", b.fraction * 100) << ")";
    o << "\n";
  }

  for (const auto& t : r.share) {
    if (t.group == "model" || t.group == "author" || t.group == "organisation" || t.group == "country" ||
        t.group == "family" || t.group == "size_bucket") {
      o << "\nShare by " << t.group << "  (" << with_commas(t.groups) << " groups, total " << with_commas(t.total) << ")\n";
      for (size_t i = 0; i < t.rows.size() && i < rows; ++i) {
        char line[256];
        std::snprintf(line, sizeof line, "  %-48s %16s %8.2f%%\n", clip(t.rows[i].key, 48).c_str(),
                      with_commas(t.rows[i].downloads).c_str(), t.rows[i].share * 100);
        o << line;
      }
    }
  }

  const LineageSummary& L = r.lineage;
  o << "\nLineage  nodes " << with_commas(L.nodes) << ", edges " << with_commas(L.edges) << ", roots "
    << with_commas(L.roots) << ", max depth " << L.max_depth << ", cycles " << L.cycles.size() << ", self-loops "
    << L.self_loops.size() << "\n";
  for (size_t i = 0; i < L.families.size() && i < rows; ++i) {
    const auto& f = L.families[i];
    char line[256];
    std::snprintf(line, sizeof line, "  %-48s size %8llu  descendants %8llu  downloads %14s %7.2f%%\n",
                  clip(f.root, 48).c_str(), (unsigned long long)f.size, (unsigned long long)f.descendants,
                  with_commas(f.downloads).c_str(), f.share * 100);
    o << line;
  }
  o << study::to_text(r, rows);
  return o.str();
}

}  // namespace ecostat
