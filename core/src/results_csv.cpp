// CSV tables, one file per table, for spreadsheets and dataframes. The tables of one run are
// staged in a hidden directory and moved into place together once all are written, so a
// failed run leaves the previous tables as they were.
#include <sstream>

#include "ecostat/detail/output_file.hpp"
#include "ecostat/engine.hpp"
#include "ecostat/errors.hpp"
#include "study/study_internal.hpp"

namespace ecostat {

// RFC 4180 quoting; invalid UTF-8 (a key from malformed input) becomes U+FFFD.
static std::string csv_field(std::string_view raw) {
  const std::string s = valid_utf8(raw);
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// One table, formatted in memory; save() writes it with every write checked.
class CsvTable {
 public:
  CsvTable(const std::string& dir, const std::string& name) : path_(dir + "/" + name) { text_.precision(17); }
  template <class T>
  CsvTable& operator<<(const T& v) {
    text_ << v;
    return *this;
  }
  void save() const { write_file_atomically(path_, text_.str()); }

 private:
  std::string path_;
  std::ostringstream text_;
};

void write_results_csv(const Results& r, const std::string& final_dir) {
  StagedDirectory staged(final_dir);
  const std::string& dir = staged.staging();
  for (const auto& t : r.share) {
    CsvTable f(dir, "share_" + t.group + ".csv");
    f << "key,downloads,share\n";
    for (const auto& row : t.rows) f << csv_field(row.key) << ',' << row.downloads << ',' << row.share << '\n';
    f.save();
  }
  for (const auto& t : r.share_month) {
    CsvTable f(dir, "share_" + t.group + "_x_month.csv");
    f << "key,month,downloads,share\n";
    for (const auto& row : t.rows)
      f << csv_field(row.key) << ',' << month_label(row.month) << ',' << row.downloads << ',' << row.share << '\n';
    f.save();
  }
  {
    CsvTable f(dir, "concentration.csv");
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
    f.save();
  }
  {
    CsvTable f(dir, "lorenz.csv");
    f << "unit,population_share,downloads_share\n";
    for (const auto& [unit, s] : r.concentration)
      for (const auto& [x, y] : s.lorenz) f << csv_field(unit) << ',' << x << ',' << y << '\n';
    f.save();
  }
  {
    CsvTable f(dir, "families.csv");
    f << "root,size,descendants";
    for (int k = 0; k < kRelationCount; ++k) f << ",descendants_" << relation_name(static_cast<Relation>(k));
    f << ",downloads,share\n";
    for (const auto& fam : r.lineage.families) {
      f << csv_field(fam.root) << ',' << fam.size << ',' << fam.descendants;
      for (uint64_t v : fam.by_relation) f << ',' << v;
      f << ',' << fam.downloads << ',' << fam.share << '\n';
    }
    f.save();
  }
  {
    CsvTable f(dir, "derivatives_by_organisation.csv");
    f << "organisation,roots,derivatives\n";
    for (const auto& d : r.lineage.by_organisation) f << csv_field(d.key) << ',' << d.roots << ',' << d.derivatives << '\n';
    f.save();
  }
  study::write_csv(r, dir);
  staged.commit();
}

}  // namespace ecostat
