// The ecosystem study: model size, relative adoption, engagement lifetime, growth and
// attribution over time (PRODUCT.md, "Beyond the three core reductions"). The engine runs it
// after the core reductions, on every backend: the backend streams the events into per-unit
// and per-unit-per-month tables and sums groups (group_sum); the study reads those tables in
// core, so every backend gives the same numbers. Definitions: docs/study-*.md.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "ecostat/types.hpp"

namespace ecostat {

// A named set of tag patterns (growth per tag category, e.g. robotics datasets). A repository
// is in the category when one of its tags, or its pipeline tag, matches a pattern: equal
// ignoring ASCII case, or, for a pattern ending in '*', starting with the rest (ignoring case).
struct TagCategory {
  std::string name;
  std::vector<std::string> patterns;
};
std::vector<TagCategory> default_tag_categories();
// "name=pattern|pattern|..."; throws UsageError when malformed.
TagCategory parse_tag_category(const std::string& s);

// The study's parameters (every one a CLI option of `ecostat run`; docs/study-*.md).
struct StudySpec {
  // Parts to compute: size, adoption, lifetime, growth, attribution. Empty = none.
  std::vector<std::string> parts{"size", "adoption", "lifetime", "growth", "attribution"};
  bool enabled(const std::string& part) const;

  // Relative adoption: ages in days since creation, how many top models form the reference,
  // and which two size classes the class ratio compares ("numerator/denominator", labels of
  // the size buckets).
  std::vector<uint32_t> adoption_ages{30, 90, 180, 365, 730};
  uint32_t adoption_top = 10;
  std::string adoption_ratio = "1-9B/>=100B";
  std::vector<std::string> adoption_models;  // models listed with their ratios; empty = the top
  size_t adoption_limit = 20;                //   adoption_limit by total downloads

  // Engagement lifetime: f, the release window ("FROM:TO", dates YYYY[-MM[-DD]], inclusive,
  // either side may be empty), the fewest months with downloads a series needs, whether
  // models released before the first month of data (whose peak may lie before it) count.
  double lifetime_fraction = 0.5;
  std::string lifetime_window;
  uint32_t lifetime_min_months = 3;
  bool lifetime_left_censored = false;
  std::vector<std::string> lifetime_kinds{"model"};
  size_t lifetime_limit = 20;  // per-model rows listed (by peak, descending); 0 = all

  // Growth: repositories created per group (any share group but model) and per tag category.
  std::vector<std::string> growth_groups{"organisation", "author"};
  std::vector<TagCategory> tag_categories = default_tag_categories();
  size_t growth_limit = 20;  // groups listed per table (by repositories created); 0 = all

  // Attribution over time: share.<group>_x_year tables.
  std::vector<std::string> year_groups{"country", "region", "org_type"};

  void validate() const;  // throws UsageError
};

// Parses a window "FROM:TO" into inclusive days (kNoDay for an open side). "2024" = the year,
// "2024-05" = the month (FROM takes its first day, TO its last). Throws UsageError.
std::pair<int32_t, int32_t> parse_day_window(const std::string& s);
std::string day_label(int32_t day);  // "2024-05-17"; "" for kNoDay
int32_t last_day_of_month(Month m);

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- results --------------------------------------------------------------------------------
struct BucketShare {
  std::string bucket;
  uint64_t downloads = 0;
  double share = 0;  // of the window's model downloads (unknown size included)
};

struct SizeRow {
  int year = 0;                     // 0 in `overall`
  uint64_t downloads = 0;           // downloads of models in the window
  uint64_t downloads_with_size = 0; // of models with a known parameter count
  uint64_t models = 0;              // models with a known count and downloads > 0
  double weighted_mean = kNaN;      // sum d p / sum d over models with a count
  double weighted_median = kNaN;    // lower weighted median of p, weights d
  double mean = kNaN, median = kNaN;// unweighted over `models`
  std::vector<BucketShare> buckets;
};

struct SizeCreatedRow {
  int year = 0;
  uint64_t models = 0;  // models created that year with a known count
  double mean = kNaN, median = kNaN;
};

struct ParameterSources {
  uint64_t from_safetensors = 0;  // models whose count is the record's safetensors.total
  uint64_t from_table = 0;        // ... the parameters table's (no safetensors.total, or overridden)
  uint64_t table_overrides = 0;   // both given and different; the preferred one was kept
  uint64_t table_rows = 0, table_unmatched = 0;  // rows read; rows naming no repository
  std::string prefer = "table";
};

struct SizeStudy {
  bool computed = false;
  uint64_t models = 0, models_with_size = 0;
  ParameterSources sources;
  std::vector<std::string> bucket_labels;
  SizeRow overall;                  // over the unit totals of the job's measure
  std::vector<SizeRow> by_year;     // over download records, per calendar year
  std::vector<SizeCreatedRow> by_created_year;
};

struct AdoptionClassAge {
  std::string size_class;
  uint32_t age = 0;
  uint64_t eligible = 0;         // models of the class created at least `age` days before data end
  double v1 = kNaN;              // median of the top-k cumulative downloads at that age
  double v2 = kNaN;              // k-th largest (NaN when fewer than k models are eligible)
  double ratio_v1_median = kNaN; // median over the eligible models of C / v1
  double ratio_v2_median = kNaN; // ... of C / v2
  std::vector<std::pair<std::string, uint64_t>> top;  // the top-k (id, cumulative)
};

struct AdoptionRatio {
  uint32_t age = 0;
  double numerator_v1 = kNaN, denominator_v1 = kNaN, ratio = kNaN;
};

struct AdoptionModelAge {
  uint32_t age = 0;
  bool reached = false;  // created at least `age` days before the data end
  uint64_t cumulative = 0;
  double v1_ratio = kNaN, v2_ratio = kNaN;
};

struct AdoptionModel {
  std::string id, size_class;
  int32_t created_day = kNoDay;
  uint64_t total = 0;
  std::vector<AdoptionModelAge> ages;
};

struct AdoptionStudy {
  bool computed = false;
  std::string reason;  // why not computed
  int32_t data_end_day = kNoDay;
  uint32_t top = 10;
  std::string numerator, denominator;
  uint64_t models = 0, without_created = 0, without_size = 0;
  std::vector<AdoptionClassAge> classes;  // class-major, ages ascending
  std::vector<AdoptionRatio> ratios;
  std::vector<AdoptionModel> listed;
};

// One series' lifetime (months are the time unit: the event stream is monthly).
struct SeriesLifetime {
  uint64_t peak = 0;
  uint32_t peak_index = 0;      // first month at the peak
  uint32_t active_months = 0;   // months with downloads > 0
  uint32_t months_above = 0;    // months with downloads >= f * peak
  uint32_t span_months = 0;     // the run of months >= f * peak that holds the peak
  bool censored = true;         // no month after the peak falls below f * peak
  uint32_t decay_months = 0;    // from the peak to the first month below f * peak (when not censored)
};
SeriesLifetime lifetime_of_series(const uint64_t* values, size_t n, double fraction);

struct Summary {  // of a list of values
  uint64_t n = 0;
  double mean = kNaN, median = kNaN;
};

struct LifetimeAggregate {
  int year = 0;  // release year; 0 in `overall`
  uint64_t models = 0;
  Summary months_above, span_months, peak_age_months, decay_months;  // decay: uncensored only
  uint64_t censored = 0;
};

struct LifetimeModel {
  std::string id;
  uint32_t unit = 0;
  int32_t release_day = kNoDay;
  Month peak_month = 0;
  uint32_t peak_age_months = 0;
  SeriesLifetime life;
};

struct LifetimeStudy {
  bool computed = false;
  std::string reason;
  double fraction = 0.5;
  int32_t window_from = kNoDay, window_to = kNoDay;
  uint64_t candidates = 0, no_release_date = 0, outside_window = 0, left_censored = 0, too_short = 0;
  LifetimeAggregate overall;
  std::vector<LifetimeAggregate> by_release_year;
  std::vector<LifetimeModel> listed;
};

// Year-over-year factor: created(y) / created(y-1); `is_new` when y-1 had none and y has some;
// neither (null) when both are 0.
struct Yoy {
  bool is_new = false, defined = false;
  double factor = kNaN;
};
Yoy yoy_factor(uint64_t previous, uint64_t current);

struct GrowthSeries {
  std::string key, kind;  // kind: model, dataset, space (or "all" in the totals)
  uint64_t total = 0;
  std::vector<uint64_t> monthly, cumulative;         // over GrowthStudy's months
  std::vector<uint64_t> yearly, cumulative_yearly;   // over GrowthStudy's years
  std::vector<Yoy> yoy, yoy_cumulative;
};

struct GrowthTable {
  std::string group;       // a share group, or "tag_category"
  uint64_t groups = 0;     // keys with at least one dated repository
  bool truncated = false;
  std::vector<GrowthSeries> rows;  // keys by total descending (ties by key), kinds in order
};

struct GrowthStudy {
  bool computed = false;
  std::string reason;
  Month month_first = 0;
  uint32_t n_months = 0;
  int year_first = 0;
  uint32_t n_years = 0;
  uint32_t last_year_months = 0;     // months of the last year the axis covers (< 12: a partial year)
  uint64_t dated = 0, undated = 0;   // repositories with / without a creation date
  std::vector<GrowthSeries> totals;  // per kind, then "all"
  std::vector<GrowthTable> tables;   // growth groups, then tag_category
};

struct ShareYearRow {
  std::string key;
  int year = 0;
  uint64_t downloads = 0;
  double share = 0;  // within the year
};
struct ShareYearTable {
  std::string group;  // written as share.<group>_x_year
  std::vector<std::pair<int, uint64_t>> year_totals;
  bool truncated = false;
  std::vector<ShareYearRow> rows;  // years ascending, then downloads descending (ties by key)
};

struct AttributionStudy {
  bool inherit = false;
  std::vector<std::pair<std::string, uint64_t>> inherited;  // per attribution group: units that took an ancestor's value
  std::vector<ShareYearTable> share_year;
};

struct StudyResults {
  std::vector<std::string> parts;  // the parts computed
  SizeStudy size;
  AdoptionStudy adoption;
  LifetimeStudy lifetime;
  GrowthStudy growth;
  AttributionStudy attribution;
};

namespace study {
// Helpers with exact, documented definitions (docs/study-*.md), public for tests and tools.
double median(std::vector<double> v);  // numpy's median (mean of the two middle values); NaN when empty
// Lower weighted median: the smallest value v (ascending) whose cumulative weight reaches half
// the total weight (2 * cum >= W). Pairs (value, weight); zero weights ignored; NaN when W = 0.
double weighted_median(std::vector<std::pair<uint64_t, uint64_t>> value_weight);
// Sum of d p / sum of d, with the numerator exact (u128); NaN when sum d = 0.
double weighted_mean(const std::vector<std::pair<uint64_t, uint64_t>>& value_weight);
bool tag_matches(std::string_view pattern, std::string_view tag);
Summary summarise(const std::vector<double>& v);
}  // namespace study

// The HTML report: a self-contained page (inline SVG and CSS, no script, no network) built
// from a results document (schema ecostat.results/1). Throws Error when the text is not one.
std::string results_report_html(const std::string& results_json, const std::string& title = "");

namespace report {
// How the report writes numbers (docs/study-report.md), public for tests.
// A share as a percentage: "100%" and "0%" only when exactly 1 and 0; 0.9985 -> "99.9%",
// 0.99996 -> ">99.9%", 0.0004 -> "<0.1%"; NaN -> "-".
std::string percent(double share);
std::string count(uint64_t n);                         // 1234567 -> "1,234,567"
std::string group_thousands(const std::string& digits);  // "1234567" -> "1,234,567" (totals above 2^64 are strings)
}  // namespace report

}  // namespace ecostat
