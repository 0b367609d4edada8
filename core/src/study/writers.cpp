// The study in the results document (study.*, share.<group>_x_year), on the terminal and as
// CSV tables. Keys: docs/results-schema.md.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <deque>
#include <sstream>

#include "ecostat/detail/output_file.hpp"
#include "ecostat/errors.hpp"
#include "study_internal.hpp"

namespace ecostat::study {

using json = nlohmann::ordered_json;

namespace {

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json yoy_json(const Yoy& y) {
  if (y.defined) return num(y.factor);
  if (y.is_new) return json("new");
  return json(nullptr);
}

json summary_json(const Summary& s) { return {{"n", s.n}, {"mean", num(s.mean)}, {"median", num(s.median)}}; }

json size_row_json(const SizeRow& r, bool with_year) {
  json j;
  if (with_year) j["year"] = r.year;
  j["downloads"] = r.downloads;
  j["downloads_with_size"] = r.downloads_with_size;
  j["models"] = r.models;
  j["weighted_mean"] = num(r.weighted_mean);
  j["weighted_median"] = num(r.weighted_median);
  j["mean"] = num(r.mean);
  j["median"] = num(r.median);
  json& b = j["buckets"] = json::array();
  for (const auto& x : r.buckets) b.push_back({{"bucket", x.bucket}, {"downloads", x.downloads}, {"share", num(x.share)}});
  return j;
}

json lifetime_agg_json(const LifetimeAggregate& a, bool with_year) {
  json j;
  if (with_year) j["release_year"] = a.year;
  j["models"] = a.models;
  j["censored"] = a.censored;
  j["months_above"] = summary_json(a.months_above);
  j["span_months"] = summary_json(a.span_months);
  j["peak_age_months"] = summary_json(a.peak_age_months);
  j["decay_months"] = summary_json(a.decay_months);
  return j;
}

json series_json(const GrowthSeries& s) {
  json j;
  j["key"] = s.key;
  j["kind"] = s.kind;
  j["total"] = s.total;
  j["monthly"] = s.monthly;
  j["cumulative"] = s.cumulative;
  j["yearly"] = s.yearly;
  j["cumulative_yearly"] = s.cumulative_yearly;
  json& y = j["yoy"] = json::array();
  for (const auto& x : s.yoy) y.push_back(yoy_json(x));
  json& yc = j["yoy_cumulative"] = json::array();
  for (const auto& x : s.yoy_cumulative) yc.push_back(yoy_json(x));
  return j;
}

bool has_part(const Results& r, const char* p) {
  for (const auto& x : r.study.parts)
    if (x == p) return true;
  return false;
}

}  // namespace

void add_json(json& doc, const Results& r) {
  const StudyResults& S = r.study;
  // Attribution over time sits with the other share tables.
  for (const auto& t : S.attribution.share_year) {
    const std::string name = t.group + "_x_year";
    json& rows = doc["share"][name] = json::array();
    for (const auto& row : t.rows)
      rows.push_back({{"key", row.key}, {"year", row.year}, {"downloads", row.downloads}, {"share", num(row.share)}});
    json years = json::array();
    for (const auto& [y, total] : t.year_totals) years.push_back({{"year", y}, {"total", total}});
    doc["share_info"][name] = {{"years", years}, {"listed", t.rows.size()}, {"truncated", t.truncated}};
  }

  json& st = doc["study"] = json::object();
  st["parts"] = S.parts;
  if (has_part(r, "size")) {
    const SizeStudy& z = S.size;
    json& j = st["size"];
    j["models"] = z.models;
    j["models_with_size"] = z.models_with_size;
    j["parameters_from"] = {{"safetensors", z.sources.from_safetensors}, {"table", z.sources.from_table},
                            {"table_overrides", z.sources.table_overrides}, {"table_rows", z.sources.table_rows},
                            {"table_unmatched", z.sources.table_unmatched}, {"prefer", z.sources.prefer}};
    j["buckets"] = z.bucket_labels;
    j["overall"] = size_row_json(z.overall, false);
    json& by = j["by_year"] = json::array();
    for (const auto& row : z.by_year) by.push_back(size_row_json(row, true));
    json& bc = j["by_created_year"] = json::array();
    for (const auto& row : z.by_created_year)
      bc.push_back({{"year", row.year}, {"models", row.models}, {"mean", num(row.mean)}, {"median", num(row.median)}});
  }
  if (has_part(r, "adoption")) {
    const AdoptionStudy& a = S.adoption;
    json& j = st["adoption"];
    j["computed"] = a.computed;
    if (!a.computed) j["reason"] = a.reason;
    j["data_end"] = day_label(a.data_end_day);
    j["top"] = a.top;
    j["population"] = {{"models", a.models}, {"without_created", a.without_created}, {"without_size", a.without_size}};
    json& cl = j["classes"] = json::array();
    for (const auto& c : a.classes) {
      json top = json::array();
      for (const auto& [id, v] : c.top) top.push_back({{"id", id}, {"cumulative", v}});
      cl.push_back({{"class", c.size_class}, {"age", c.age}, {"eligible", c.eligible}, {"v1", num(c.v1)}, {"v2", num(c.v2)},
                    {"ratio_v1_median", num(c.ratio_v1_median)}, {"ratio_v2_median", num(c.ratio_v2_median)}, {"top", top}});
    }
    json by_age = json::array();
    for (const auto& x : a.ratios)
      by_age.push_back({{"age", x.age}, {"numerator_v1", num(x.numerator_v1)}, {"denominator_v1", num(x.denominator_v1)},
                        {"ratio", num(x.ratio)}});
    j["class_ratio"] = {{"numerator", a.numerator}, {"denominator", a.denominator}, {"by_age", by_age}};
    json& ms = j["models"] = json::array();
    for (const auto& m : a.listed) {
      json ages = json::array();
      for (const auto& x : m.ages)
        ages.push_back({{"age", x.age}, {"reached", x.reached}, {"cumulative", x.reached ? json(x.cumulative) : json(nullptr)},
                        {"v1_ratio", num(x.v1_ratio)}, {"v2_ratio", num(x.v2_ratio)}});
      ms.push_back({{"id", m.id}, {"class", m.size_class}, {"created", day_label(m.created_day)}, {"total", m.total}, {"ages", ages}});
    }
  }
  if (has_part(r, "lifetime")) {
    const LifetimeStudy& l = S.lifetime;
    json& j = st["lifetime"];
    j["computed"] = l.computed;
    if (!l.computed) j["reason"] = l.reason;
    j["fraction"] = l.fraction;
    j["window"] = {{"from", l.window_from == kNoDay ? json(nullptr) : json(day_label(l.window_from))},
                   {"to", l.window_to == kNoDay ? json(nullptr) : json(day_label(l.window_to))}};
    j["population"] = {{"candidates", l.candidates},         {"no_release_date", l.no_release_date},
                       {"outside_window", l.outside_window}, {"left_censored", l.left_censored},
                       {"too_short", l.too_short},           {"included", l.overall.models}};
    j["overall"] = lifetime_agg_json(l.overall, false);
    json& by = j["by_release_year"] = json::array();
    for (const auto& a : l.by_release_year) by.push_back(lifetime_agg_json(a, true));
    json& ms = j["models"] = json::array();
    for (const auto& m : l.listed)
      ms.push_back({{"id", m.id},
                    {"release", day_label(m.release_day)},
                    {"peak", m.life.peak},
                    {"peak_month", month_label(m.peak_month)},
                    {"peak_age_months", m.peak_age_months},
                    {"active_months", m.life.active_months},
                    {"months_above", m.life.months_above},
                    {"span_months", m.life.span_months},
                    {"decay_months", m.life.censored ? json(nullptr) : json(m.life.decay_months)},
                    {"censored", m.life.censored}});
  }
  if (has_part(r, "growth")) {
    const GrowthStudy& g = S.growth;
    json& j = st["growth"];
    j["computed"] = g.computed;
    if (!g.computed) j["reason"] = g.reason;
    j["dated"] = g.dated;
    j["undated"] = g.undated;
    json months = json::array(), years = json::array();
    for (uint32_t i = 0; i < g.n_months; ++i) months.push_back(month_label(static_cast<Month>(g.month_first + i)));
    for (uint32_t i = 0; i < g.n_years; ++i) years.push_back(g.year_first + int(i));
    j["months"] = months;
    j["years"] = years;
    j["last_year_months"] = g.last_year_months;
    json& tot = j["totals"] = json::array();
    for (const auto& s : g.totals) tot.push_back(series_json(s));
    json& by = j["by_group"] = json::object();
    for (const auto& t : g.tables) {
      json rows = json::array();
      for (const auto& s : t.rows) rows.push_back(series_json(s));
      by[t.group] = {{"groups", t.groups}, {"truncated", t.truncated}, {"rows", rows}};
    }
  }
  if (has_part(r, "attribution")) {
    const AttributionStudy& a = S.attribution;
    json& j = st["attribution"];
    j["inherit"] = a.inherit;
    json& inh = j["inherited"] = json::object();
    for (const auto& [g, n] : a.inherited) inh[g] = n;
    json& yg = j["year_tables"] = json::array();
    for (const auto& t : a.share_year) yg.push_back("share." + t.group + "_x_year");
  }
}

// ---- terminal ---------------------------------------------------------------------------------
namespace {

std::string params_label(double p) {
  if (!std::isfinite(p)) return "-";
  char buf[32];
  if (p >= 1e9) std::snprintf(buf, sizeof buf, "%.1fB", p / 1e9);
  else if (p >= 1e6) std::snprintf(buf, sizeof buf, "%.0fM", p / 1e6);
  else std::snprintf(buf, sizeof buf, "%.0f", p);
  return buf;
}

std::string fmt(const char* f, double v) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string yoy_text(const Yoy& y) {
  if (y.defined) return fmt("x%.2f", y.factor);
  return y.is_new ? "new" : "-";
}

std::string pad(const std::string& s, size_t w, bool right = true) {
  std::string c = s.size() > w ? s.substr(0, w - 1) + "~" : s;
  const std::string fill(w - c.size(), ' ');
  return right ? fill + c : c + fill;
}

}  // namespace

std::string to_text(const Results& r, size_t rows) {
  std::ostringstream o;
  const StudyResults& S = r.study;
  if (S.parts.empty()) return "";
  if (has_part(r, "size")) {
    const SizeStudy& z = S.size;
    o << "\nModel size  (" << z.models_with_size << " of " << z.models << " models with a parameter count: "
      << z.sources.from_safetensors << " from safetensors, " << z.sources.from_table << " from the parameters table)\n";
    o << "  " << pad("year", 6, false) << pad("downloads", 14) << pad("with size", 12) << pad("w.mean", 9) << pad("w.median", 9)
      << pad("mean", 9) << pad("median", 9);
    for (const auto& b : z.bucket_labels) o << pad(b, 9);
    o << "\n";
    auto line = [&](const std::string& year, const SizeRow& row) {
      o << "  " << pad(year, 6, false) << pad(std::to_string(row.downloads), 14)
        << pad(fmt("%.1f%%", row.downloads ? 100.0 * double(row.downloads_with_size) / double(row.downloads) : NAN), 12)
        << pad(params_label(row.weighted_mean), 9) << pad(params_label(row.weighted_median), 9) << pad(params_label(row.mean), 9)
        << pad(params_label(row.median), 9);
      for (const auto& b : row.buckets) o << pad(fmt("%.1f%%", b.share * 100), 9);
      o << "\n";
    };
    for (const auto& row : z.by_year) line(std::to_string(row.year), row);
    line("all", z.overall);
  }
  if (has_part(r, "adoption")) {
    const AdoptionStudy& a = S.adoption;
    o << "\nRelative adoption  (cumulative downloads at age; v1 = median of the top " << a.top << " of the class)\n";
    if (!a.computed) {
      o << "  not computed: " << a.reason << "\n";
    } else {
      std::vector<uint32_t> ages;
      for (const auto& x : a.ratios) ages.push_back(x.age);
      o << "  " << pad("class", 8, false) << pad("", 2);
      for (uint32_t age : ages) o << pad(std::to_string(age) + "d v1 (n)", 20);
      o << "\n";
      std::string current;
      for (size_t i = 0; i < a.classes.size(); ++i) {
        const auto& c = a.classes[i];
        if (c.size_class != current) {
          if (!current.empty()) o << "\n";
          current = c.size_class;
          o << "  " << pad(current, 8, false) << pad("", 2);
        }
        o << pad(fmt("%.0f", c.v1) + " (" + std::to_string(c.eligible) + ")", 20);
      }
      o << "\n  " << pad(a.numerator + " / " + a.denominator, 10, false);
      for (const auto& x : a.ratios) o << pad(fmt("%.3f", x.ratio), 20);
      o << "\n";
    }
  }
  if (has_part(r, "lifetime")) {
    const LifetimeStudy& l = S.lifetime;
    o << "\nEngagement lifetime  (months; f = " << fmt("%g", l.fraction) << ")\n";
    if (!l.computed) {
      o << "  not computed: " << l.reason << "\n";
    } else {
      o << "  " << l.overall.models << " models (of " << l.candidates << "; " << l.no_release_date << " without a release date, "
        << l.left_censored << " released before the data, " << l.too_short << " too short, " << l.outside_window
        << " outside the window)\n";
      o << "  " << pad("released", 9, false) << pad("models", 8) << pad("above mean", 12) << pad("median", 8)
        << pad("span mean", 11) << pad("peak age", 10) << pad("decay mean", 12) << pad("median", 8) << pad("censored", 10) << "\n";
      auto line = [&](const std::string& y, const LifetimeAggregate& a) {
        o << "  " << pad(y, 9, false) << pad(std::to_string(a.models), 8) << pad(fmt("%.2f", a.months_above.mean), 12)
          << pad(fmt("%.1f", a.months_above.median), 8) << pad(fmt("%.2f", a.span_months.mean), 11)
          << pad(fmt("%.2f", a.peak_age_months.mean), 10) << pad(fmt("%.2f", a.decay_months.mean), 12)
          << pad(fmt("%.1f", a.decay_months.median), 8) << pad(std::to_string(a.censored), 10) << "\n";
      };
      for (const auto& a : l.by_release_year) line(std::to_string(a.year), a);
      line("all", l.overall);
    }
  }
  if (has_part(r, "growth")) {
    const GrowthStudy& g = S.growth;
    o << "\nGrowth: repositories created per year  (" << g.dated << " dated, " << g.undated << " without a date"
      << (g.computed && g.last_year_months < 12 ? "; the last year has " + std::to_string(g.last_year_months) + " months" : "")
      << ")\n";
    if (!g.computed) {
      o << "  not computed: " << g.reason << "\n";
    } else {
      o << "  " << pad("", 34, false) << pad("kind", 8);
      for (uint32_t y = 0; y < g.n_years; ++y) o << pad(std::to_string(g.year_first + int(y)), 7);
      o << pad("total", 8) << pad("last yoy", 9) << "\n";
      auto line = [&](const std::string& label, const GrowthSeries& s) {
        o << "  " << pad(label, 34, false) << pad(s.kind, 8);
        for (uint64_t c : s.yearly) o << pad(std::to_string(c), 7);
        o << pad(std::to_string(s.total), 8) << pad(s.yoy.empty() ? "-" : yoy_text(s.yoy.back()), 9) << "\n";
      };
      for (const auto& s : g.totals) line("all repositories", s);
      for (const auto& t : g.tables) {
        o << "  by " << t.group << " (" << t.groups << ")\n";
        for (size_t i = 0; i < t.rows.size() && i < rows; ++i) line("  " + t.rows[i].key, t.rows[i]);
      }
    }
  }
  if (has_part(r, "attribution")) {
    const AttributionStudy& a = S.attribution;
    for (const auto& t : a.share_year) {
      o << "\nShare by " << t.group << " per year" << (a.inherit ? "  (attribution inherited from base models)" : "") << "\n";
      int year = 0;
      size_t shown = 0;
      for (const auto& row : t.rows) {
        if (row.year != year) {
          year = row.year, shown = 0;
          o << "  " << year << ":";
        }
        if (shown++ < std::min<size_t>(rows, 6)) o << "  " << row.key << " " << fmt("%.1f%%", row.share * 100);
        if (&row == &t.rows.back() || (&row + 1)->year != year) o << "\n";
      }
    }
  }
  return o.str();
}

// ---- CSV --------------------------------------------------------------------------------------
namespace {

std::string field(const std::string& raw) {
  const std::string s = valid_utf8(raw);  // keys come from input text: keep the CSV valid UTF-8
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string val(double v) {
  if (!std::isfinite(v)) return "";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string yoy_csv(const Yoy& y) { return y.defined ? val(y.factor) : (y.is_new ? "new" : ""); }

// The study's CSV tables are small: each is built in memory and written with the checked,
// atomic writer (a full disk is an error naming the file, never a truncated table).
class CsvFiles {
 public:
  explicit CsvFiles(std::string dir) : dir_(std::move(dir)) {}
  std::ostringstream& open(const std::string& name) { return files_.emplace_back(name, std::ostringstream{}).second; }
  void write_all() const {
    for (const auto& [name, text] : files_) write_file_atomically(dir_ + "/" + name, text.str());
  }

 private:
  std::string dir_;
  std::deque<std::pair<std::string, std::ostringstream>> files_;  // deque: references stay valid
};

}  // namespace

void write_csv(const Results& r, const std::string& dir) {
  const StudyResults& S = r.study;
  CsvFiles files(dir);
  auto open = [&files](const std::string& name) -> std::ostringstream& { return files.open(name); };
  for (const auto& t : S.attribution.share_year) {
    auto& f = open("share_" + t.group + "_x_year.csv");
    f << "key,year,downloads,share\n";
    for (const auto& row : t.rows) f << field(row.key) << ',' << row.year << ',' << row.downloads << ',' << val(row.share) << '\n';
  }
  if (has_part(r, "size")) {
    auto& f = open("study_size.csv");
    f << "year,downloads,downloads_with_size,models,weighted_mean,weighted_median,mean,median\n";
    auto& b = open("study_size_buckets.csv");
    b << "year,bucket,downloads,share\n";
    auto put = [&](const std::string& y, const SizeRow& row) {
      f << y << ',' << row.downloads << ',' << row.downloads_with_size << ',' << row.models << ',' << val(row.weighted_mean) << ','
        << val(row.weighted_median) << ',' << val(row.mean) << ',' << val(row.median) << '\n';
      for (const auto& x : row.buckets) b << y << ',' << field(x.bucket) << ',' << x.downloads << ',' << val(x.share) << '\n';
    };
    for (const auto& row : S.size.by_year) put(std::to_string(row.year), row);
    put("all", S.size.overall);
    auto& c = open("study_size_by_created_year.csv");
    c << "year,models,mean,median\n";
    for (const auto& row : S.size.by_created_year) c << row.year << ',' << row.models << ',' << val(row.mean) << ',' << val(row.median) << '\n';
  }
  if (has_part(r, "adoption") && S.adoption.computed) {
    auto& f = open("study_adoption_classes.csv");
    f << "class,age,eligible,v1,v2,ratio_v1_median,ratio_v2_median\n";
    for (const auto& c : S.adoption.classes)
      f << field(c.size_class) << ',' << c.age << ',' << c.eligible << ',' << val(c.v1) << ',' << val(c.v2) << ','
        << val(c.ratio_v1_median) << ',' << val(c.ratio_v2_median) << '\n';
    auto& q = open("study_adoption_ratio.csv");
    q << "numerator,denominator,age,numerator_v1,denominator_v1,ratio\n";
    for (const auto& x : S.adoption.ratios)
      q << field(S.adoption.numerator) << ',' << field(S.adoption.denominator) << ',' << x.age << ',' << val(x.numerator_v1) << ','
        << val(x.denominator_v1) << ',' << val(x.ratio) << '\n';
    auto& m = open("study_adoption_models.csv");
    m << "id,class,created,age,reached,cumulative,v1_ratio,v2_ratio\n";
    for (const auto& mo : S.adoption.listed)
      for (const auto& x : mo.ages)
        m << field(mo.id) << ',' << field(mo.size_class) << ',' << day_label(mo.created_day) << ',' << x.age << ','
          << (x.reached ? 1 : 0) << ',' << (x.reached ? std::to_string(x.cumulative) : "") << ',' << val(x.v1_ratio) << ','
          << val(x.v2_ratio) << '\n';
  }
  if (has_part(r, "lifetime") && S.lifetime.computed) {
    auto& f = open("study_lifetime.csv");
    f << "release_year,models,censored,months_above_mean,months_above_median,span_months_mean,span_months_median,"
         "peak_age_months_mean,peak_age_months_median,decay_months_n,decay_months_mean,decay_months_median\n";
    auto put = [&](const std::string& y, const LifetimeAggregate& a) {
      f << y << ',' << a.models << ',' << a.censored << ',' << val(a.months_above.mean) << ',' << val(a.months_above.median) << ','
        << val(a.span_months.mean) << ',' << val(a.span_months.median) << ',' << val(a.peak_age_months.mean) << ','
        << val(a.peak_age_months.median) << ',' << a.decay_months.n << ',' << val(a.decay_months.mean) << ','
        << val(a.decay_months.median) << '\n';
    };
    for (const auto& a : S.lifetime.by_release_year) put(std::to_string(a.year), a);
    put("all", S.lifetime.overall);
    auto& m = open("study_lifetime_models.csv");
    m << "id,release,peak,peak_month,peak_age_months,active_months,months_above,span_months,decay_months,censored\n";
    for (const auto& x : S.lifetime.listed)
      m << field(x.id) << ',' << day_label(x.release_day) << ',' << x.life.peak << ',' << month_label(x.peak_month) << ','
        << x.peak_age_months << ',' << x.life.active_months << ',' << x.life.months_above << ',' << x.life.span_months << ','
        << (x.life.censored ? "" : std::to_string(x.life.decay_months)) << ',' << (x.life.censored ? 1 : 0) << '\n';
  }
  if (has_part(r, "growth") && S.growth.computed) {
    const GrowthStudy& g = S.growth;
    auto& f = open("study_growth_monthly.csv");
    f << "table,key,kind,month,created,cumulative\n";
    auto& y = open("study_growth_yearly.csv");
    y << "table,key,kind,year,created,cumulative,yoy,yoy_cumulative\n";
    auto put = [&](const std::string& table, const GrowthSeries& s) {
      for (uint32_t i = 0; i < g.n_months; ++i)
        f << field(table) << ',' << field(s.key) << ',' << s.kind << ',' << month_label(static_cast<Month>(g.month_first + i)) << ','
          << s.monthly[i] << ',' << s.cumulative[i] << '\n';
      for (uint32_t i = 0; i < g.n_years; ++i)
        y << field(table) << ',' << field(s.key) << ',' << s.kind << ',' << g.year_first + int(i) << ',' << s.yearly[i] << ','
          << s.cumulative_yearly[i] << ',' << yoy_csv(s.yoy[i]) << ',' << yoy_csv(s.yoy_cumulative[i]) << '\n';
    };
    for (const auto& s : g.totals) put("totals", s);
    for (const auto& t : g.tables)
      for (const auto& s : t.rows) put(t.group, s);
  }
  files.write_all();
}

}  // namespace ecostat::study
