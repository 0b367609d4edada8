// CSV tables, one file per table, for spreadsheets and dataframes.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sys/stat.h>

#include "ecostat/engine.hpp"
#include "ecostat/errors.hpp"
#include "study/study_internal.hpp"

namespace ecostat {

static std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

static std::ofstream open_csv(const std::string& dir, const std::string& name) {
  const std::string path = dir + "/" + name;
  std::ofstream f(path);
  if (!f) throw Error("cannot write " + path + ": " + std::strerror(errno));
  f.precision(17);
  return f;
}

void write_results_csv(const Results& r, const std::string& dir) {
  if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) throw Error("cannot create " + dir + ": " + std::strerror(errno));
  for (const auto& t : r.share) {
    auto f = open_csv(dir, "share_" + t.group + ".csv");
    f << "key,downloads,share\n";
    for (const auto& row : t.rows) f << csv_field(row.key) << ',' << row.downloads << ',' << row.share << '\n';
  }
  for (const auto& t : r.share_month) {
    auto f = open_csv(dir, "share_" + t.group + "_x_month.csv");
    f << "key,month,downloads,share\n";
    for (const auto& row : t.rows)
      f << csv_field(row.key) << ',' << month_label(row.month) << ',' << row.downloads << ',' << row.share << '\n';
  }
  {
    auto f = open_csv(dir, "concentration.csv");
    f << "unit,group,n,total,gini,hhi,metric,parameter,value\n";
    auto put = [&](const std::string& unit, const std::string& group, const ConcentrationStats& s) {
      const std::string head = csv_field(unit) + ',' + csv_field(group) + ',' + std::to_string(s.n) + ',' + to_string(s.total) + ',';
      auto line = [&](const char* metric, double param, double value) {
        f << head << s.gini << ',' << s.hhi << ',' << metric << ',' << param << ',' << value << '\n';
      };
      for (const auto& [k, v] : s.top_k) line("top_k", double(k), v);
      for (const auto& [p, v] : s.top_pct) line("top_pct", p, v);
      for (const auto& [q, v] : s.percentiles) line("percentile", q, v);
      for (const auto& b : s.below) line("below_fraction", double(b.threshold), b.fraction);
    };
    for (const auto& [unit, s] : r.concentration) put(unit, "", s);
    for (const auto& [group, list] : r.concentration_within)
      for (const auto& [key, s] : list) put("model within " + group, key, s);
  }
  {
    auto f = open_csv(dir, "lorenz.csv");
    f << "unit,population_share,downloads_share\n";
    for (const auto& [unit, s] : r.concentration)
      for (const auto& [x, y] : s.lorenz) f << csv_field(unit) << ',' << x << ',' << y << '\n';
  }
  {
    auto f = open_csv(dir, "families.csv");
    f << "root,size,descendants";
    for (int k = 0; k < kRelationCount; ++k) f << ",descendants_" << relation_name(static_cast<Relation>(k));
    f << ",downloads,share\n";
    for (const auto& fam : r.lineage.families) {
      f << csv_field(fam.root) << ',' << fam.size << ',' << fam.descendants;
      for (uint64_t v : fam.by_relation) f << ',' << v;
      f << ',' << fam.downloads << ',' << fam.share << '\n';
    }
  }
  {
    auto f = open_csv(dir, "derivatives_by_organisation.csv");
    f << "organisation,roots,derivatives\n";
    for (const auto& d : r.lineage.by_organisation) f << csv_field(d.key) << ',' << d.roots << ',' << d.derivatives << '\n';
  }
  study::write_csv(r, dir);
}

}  // namespace ecostat
