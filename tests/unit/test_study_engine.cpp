// The study end to end through run_job on a hand-made job (tests/fixtures/study): every figure
// below is worked out by hand.
//
// Repositories (created; parameters; author attribution):
//   big/A   model    2023-01-10  2B (safetensors)               big -> BigCo, US, us, industry
//   big/B   model    2023-01-20  150B (safetensors)
//   uni/C   model    2023-03-05  0.5B (parameters table)        uni -> Uni, DE, eu, academic
//   uni/D   dataset  2023-06-01  tag task_categories:robotics
//   anon/E  model    2024-02-01  finetune of big/A, no count    anon -> no organisation, no country,
//   uni/F   dataset  2024-07-01  tag LeRobot                            region spelled "unknown",
//   big/G   model    2024-01-15  8B (safetensors), 7B (table: wins)     org type individual
//   anon/E2 model    2024-03-01  finetune of anon/E, no count, no downloads
// Download records by month: A 2023-01..05: 10 100 40 60 20; B 2023-02, 03: 5 5; C 2023-03: 30,
// 2024-01: 30; D 2023-07: 7; E 2024-02: 50, 2024-03: 10; G 2024-01: 80. Months 2023-01..2024-03.
// Parameters table rows: uni/C 0.5, big/G 7, nobody/X 3 (no such repository).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "ecostat/engine.hpp"
#include "ecostat/job.hpp"
#include "ecostat/errors.hpp"

using namespace ecostat;

namespace {
JobSpec study_job() {
  JobSpec j;
  const std::string dir = std::string(ECOSTAT_FIXTURES) + "/study/";
  j.repos_path = dir + "repos.jsonl";
  j.downloads_path = dir + "downloads.csv";
  j.orgs_path = dir + "orgs.csv";
  j.params_path = dir + "params.csv";
  j.backend = "cpu";
  j.study.adoption_ages = {30, 60, 400};
  j.study.adoption_top = 2;
  j.study.lifetime_min_months = 2;
  return j;
}

const SizeRow& year_row(const SizeStudy& s, int y) {
  auto it = std::find_if(s.by_year.begin(), s.by_year.end(), [&](const SizeRow& r) { return r.year == y; });
  REQUIRE(it != s.by_year.end());
  return *it;
}
uint64_t bucket(const SizeRow& r, const std::string& b) {
  for (const auto& x : r.buckets)
    if (x.bucket == b) return x.downloads;
  FAIL("no bucket " << b);
  return 0;
}
const AdoptionClassAge& cls(const AdoptionStudy& a, const std::string& c, uint32_t age) {
  auto it = std::find_if(a.classes.begin(), a.classes.end(), [&](const AdoptionClassAge& x) { return x.size_class == c && x.age == age; });
  REQUIRE(it != a.classes.end());
  return *it;
}
const GrowthTable& table(const GrowthStudy& g, const std::string& name) {
  auto it = std::find_if(g.tables.begin(), g.tables.end(), [&](const GrowthTable& t) { return t.group == name; });
  REQUIRE(it != g.tables.end());
  return *it;
}
const GrowthSeries* row(const std::vector<GrowthSeries>& rows, const std::string& key, const std::string& kind) {
  for (const auto& r : rows)
    if (r.key == key && r.kind == kind) return &r;
  return nullptr;
}
uint64_t year_share(const AttributionStudy& a, const std::string& group, int year, const std::string& key) {
  for (const auto& t : a.share_year)
    if (t.group == group)
      for (const auto& r : t.rows)
        if (r.year == year && r.key == key) return r.downloads;
  return UINT64_MAX;
}
}  // namespace

TEST_CASE("study engine: parameter counts from safetensors and the table", "[study][engine]") {
  Results r = run_job(study_job());
  const ParameterSources& s = r.study.size.sources;
  CHECK(s.from_safetensors == 2);  // A, B (G's was overridden)
  CHECK(s.from_table == 2);        // C, G
  CHECK(s.table_overrides == 1);   // G: 8B vs 7B
  CHECK(s.table_rows == 3);
  CHECK(s.table_unmatched == 1);   // nobody/X
  CHECK(s.prefer == "table");
  CHECK(r.study.size.models == 6);
  CHECK(r.study.size.models_with_size == 4);
  bool params_file = false;
  for (const auto& f : r.input.files) params_file |= f.role == "params" && f.accepted == 3;
  CHECK(params_file);
  // safetensors preferred: G keeps 8B, still one override counted, C still from the table
  JobSpec j = study_job();
  j.params_prefer = "safetensors";
  Results q = run_job(j);
  CHECK(q.study.size.sources.from_safetensors == 3);
  CHECK(q.study.size.sources.from_table == 1);
  CHECK(q.study.size.sources.table_overrides == 1);
}

TEST_CASE("study engine: model size per year", "[study][engine]") {
  Results r = run_job(study_job());
  const SizeStudy& s = r.study.size;
  REQUIRE(s.computed);
  CHECK(s.bucket_labels == std::vector<std::string>{"<1B", "1-9B", "10-99B", ">=100B", "unknown"});
  REQUIRE(s.by_year.size() == 2);
  // 2023: A 230 (2B), B 10 (150B), C 30 (0.5B); the dataset D is not a model.
  const SizeRow& y23 = year_row(s, 2023);
  CHECK(y23.downloads == 270);
  CHECK(y23.downloads_with_size == 270);
  CHECK(y23.models == 3);
  CHECK(y23.weighted_mean == Approx(1975e9 / 270).epsilon(1e-14));
  CHECK(y23.weighted_median == 2e9);  // cumulative 30, 260 >= 135
  CHECK(y23.mean == Approx(152.5e9 / 3).epsilon(1e-14));
  CHECK(y23.median == 2e9);
  CHECK(bucket(y23, "<1B") == 30);
  CHECK(bucket(y23, "1-9B") == 230);
  CHECK(bucket(y23, ">=100B") == 10);
  CHECK(bucket(y23, "unknown") == 0);
  CHECK(y23.buckets[1].share == Approx(230.0 / 270).epsilon(1e-14));
  // 2024: C 30 (0.5B), E 60 (unknown), G 80 (7B from the table)
  const SizeRow& y24 = year_row(s, 2024);
  CHECK(y24.downloads == 170);
  CHECK(y24.downloads_with_size == 110);
  CHECK(y24.weighted_mean == Approx(575e9 / 110).epsilon(1e-14));
  CHECK(y24.weighted_median == 7e9);  // cumulative 30 < 55 <= 110
  CHECK(y24.models == 2);
  CHECK(y24.mean == 3.75e9);
  CHECK(y24.median == 3.75e9);
  CHECK(bucket(y24, "unknown") == 60);
  // All time (measure records): A 230, B 10, C 60, E 60, G 80
  CHECK(s.overall.downloads == 440);
  CHECK(s.overall.downloads_with_size == 380);
  CHECK(s.overall.weighted_mean == Approx(2550e9 / 380).epsilon(1e-14));
  CHECK(s.overall.weighted_median == 2e9);  // 0.5B (60), 2B (230): 290 >= 190
  // By creation year (unweighted): 2023 A, B, C; 2024 G only (E, E2 have no count)
  REQUIRE(s.by_created_year.size() == 2);
  CHECK(s.by_created_year[0].year == 2023);
  CHECK(s.by_created_year[0].models == 3);
  CHECK(s.by_created_year[0].median == 2e9);
  CHECK(s.by_created_year[1].models == 1);
  CHECK(s.by_created_year[1].mean == 7e9);
}

TEST_CASE("study engine: relative adoption", "[study][engine]") {
  Results r = run_job(study_job());
  const AdoptionStudy& a = r.study.adoption;
  REQUIRE(a.computed);
  CHECK(a.data_end_day == days_from_civil(2024, 3, 31));
  CHECK(a.models == 4);  // A, B, C, G
  CHECK(a.without_size == 2);  // E, E2
  // Cumulative downloads of months ended by created + age:
  //   A (2023-01-10): 30 d -> Jan: 10; 60 d -> Jan, Feb: 110; 400 d (2024-02-14) -> 230
  //   G (2024-01-15): 30 d -> Jan: 80; 60 d -> 80; 400 d not reached
  //   B (2023-01-20): 0, 5, 10;  C (2023-03-05): 30, 30, not reached
  const auto& c30 = cls(a, "1-9B", 30);
  CHECK(c30.eligible == 2);
  CHECK(c30.v1 == 45);  // median of the top 2: 80, 10
  CHECK(c30.v2 == 10);  // the 2nd largest
  CHECK(c30.ratio_v1_median == Approx(1.0));  // (80/45 + 10/45) / 2
  CHECK(c30.ratio_v2_median == 4.5);          // (8 + 1) / 2
  REQUIRE(c30.top.size() == 2);
  CHECK(c30.top[0] == std::make_pair(std::string("big/G"), uint64_t(80)));
  const auto& c60 = cls(a, "1-9B", 60);
  CHECK(c60.v1 == 95);
  CHECK(c60.v2 == 80);
  CHECK(c60.ratio_v2_median == Approx((110.0 / 80 + 1.0) / 2).epsilon(1e-14));
  const auto& c400 = cls(a, "1-9B", 400);
  CHECK(c400.eligible == 1);
  CHECK(c400.v1 == 230);
  CHECK(std::isnan(c400.v2));  // fewer than k models
  CHECK(cls(a, ">=100B", 30).v1 == 0);
  CHECK(std::isnan(cls(a, ">=100B", 30).ratio_v1_median));  // no ratio to a zero reference
  CHECK(cls(a, ">=100B", 60).v1 == 5);
  CHECK(cls(a, "<1B", 400).eligible == 0);
  CHECK(std::isnan(cls(a, "<1B", 400).v1));
  CHECK(cls(a, "10-99B", 30).eligible == 0);
  // The class ratio 1-9B / >=100B of the top-k medians
  REQUIRE(a.ratios.size() == 3);
  CHECK(std::isnan(a.ratios[0].ratio));  // 45 / 0
  CHECK(a.ratios[1].ratio == 19);        // 95 / 5
  CHECK(a.ratios[2].ratio == 23);        // 230 / 10
  // Listed: by total downloads (A 230, G 80, C 60, B 10)
  REQUIRE(a.listed.size() == 4);
  CHECK(a.listed[0].id == "big/A");
  CHECK(a.listed[0].size_class == "1-9B");
  CHECK(a.listed[0].ages[0].cumulative == 10);
  CHECK(a.listed[0].ages[0].v1_ratio == Approx(10.0 / 45).epsilon(1e-14));
  CHECK(a.listed[0].ages[0].v2_ratio == 1.0);
  CHECK(a.listed[1].id == "big/G");
  CHECK_FALSE(a.listed[1].ages[2].reached);
  // Named models; an unknown one is a usage error
  JobSpec j = study_job();
  j.study.adoption_models = {"uni/C"};
  Results q = run_job(j);
  REQUIRE(q.study.adoption.listed.size() == 1);
  CHECK(q.study.adoption.listed[0].ages[1].cumulative == 30);
  j.study.adoption_models = {"anon/E"};  // no parameter count
  CHECK_THROWS_AS(run_job(j), UsageError);
}

TEST_CASE("study engine: engagement lifetime", "[study][engine]") {
  Results r = run_job(study_job());
  const LifetimeStudy& l = r.study.lifetime;
  REQUIRE(l.computed);
  // Series from the release month to 2024-03 (f = 0.5):
  //   A: 10 100 40 60 20 0 ...: peak 100 (2023-02), above 2, span 1, decay 1, peak age 1
  //   B: 0 5 5 0 ...: peak 5 (2023-02), above 2, span 2, decay 2, peak age 1
  //   C: 30 0 ... 30 0 0 (2023-03..2024-03): peak 30 (2023-03), above 2, span 1, decay 1, peak age 0
  //   E: 50 10: peak 50, above 1, span 1, decay 1, peak age 0
  //   G: 80 0 0: one month with downloads (< 2): too short; E2: no downloads: too short
  CHECK(l.candidates == 6);
  CHECK(l.too_short == 2);
  CHECK(l.no_release_date == 0);
  const LifetimeAggregate& o = l.overall;
  CHECK(o.models == 4);
  CHECK(o.censored == 0);
  CHECK(o.months_above.mean == 1.75);
  CHECK(o.months_above.median == 2);
  CHECK(o.span_months.mean == 1.25);
  CHECK(o.decay_months.n == 4);
  CHECK(o.decay_months.mean == 1.25);
  CHECK(o.decay_months.median == 1);
  CHECK(o.peak_age_months.mean == 0.5);
  REQUIRE(l.by_release_year.size() == 2);
  CHECK(l.by_release_year[0].year == 2023);
  CHECK(l.by_release_year[0].models == 3);
  CHECK(l.by_release_year[0].span_months.mean == Approx(4.0 / 3).epsilon(1e-14));
  CHECK(l.by_release_year[1].models == 1);
  REQUIRE(l.listed.size() == 4);
  CHECK(l.listed[0].id == "big/A");  // by peak
  CHECK(l.listed[0].peak_month == month_of(2023, 2));
  CHECK(l.listed[1].id == "anon/E");
  // A release window leaves A and B (January 2023) out
  JobSpec j = study_job();
  j.study.lifetime_window = "2023-02:2024";
  Results q = run_job(j);
  CHECK(q.study.lifetime.outside_window == 2);
  CHECK(q.study.lifetime.overall.models == 2);
  // f = 1: only the peak month counts; B's run of two equal months holds the peak
  j = study_job();
  j.study.lifetime_fraction = 1.0;
  q = run_job(j);
  CHECK(q.study.lifetime.overall.months_above.mean == 1.5);  // A 1, B 2, C 2 (30 twice), E 1
}

TEST_CASE("study engine: growth per organisation and tag category", "[study][engine]") {
  Results r = run_job(study_job());
  const GrowthStudy& g = r.study.growth;
  REQUIRE(g.computed);
  CHECK(g.dated == 8);
  CHECK(g.month_first == month_of(2023, 1));
  CHECK(g.n_months == 19);  // to 2024-07 (uni/F)
  CHECK(g.year_first == 2023);
  CHECK(g.n_years == 2);
  CHECK(g.last_year_months == 7);
  const GrowthSeries* models = row(g.totals, "all", "model");
  REQUIRE(models);
  CHECK(models->yearly == std::vector<uint64_t>{3, 3});
  CHECK(models->cumulative_yearly == std::vector<uint64_t>{3, 6});
  CHECK(models->yoy[0].is_new);
  CHECK(models->yoy[1].factor == 1.0);
  CHECK(models->yoy_cumulative[1].factor == 2.0);
  const GrowthSeries* all = row(g.totals, "all", "all");
  REQUIRE(all);
  CHECK(all->yearly == std::vector<uint64_t>{4, 4});
  CHECK(row(g.totals, "all", "space") == nullptr);  // no spaces: no row
  const GrowthTable& org = table(g, "organisation");
  CHECK(org.groups == 3);
  REQUIRE(org.rows.size() == 4);
  CHECK(org.rows[0].key == "BigCo");  // 3, tie with Uni broken by key
  CHECK(org.rows[0].yearly == std::vector<uint64_t>{2, 1});
  CHECK(org.rows[0].monthly[0] == 2);   // A and B in 2023-01
  CHECK(org.rows[0].monthly[12] == 1);  // G in 2024-01
  CHECK(org.rows[0].cumulative.back() == 3);
  CHECK(row(org.rows, "Uni", "dataset")->yearly == std::vector<uint64_t>{1, 1});
  const GrowthSeries* unknown = row(org.rows, "unknown", "model");
  REQUIRE(unknown);
  CHECK(unknown->yearly == std::vector<uint64_t>{0, 2});
  CHECK(unknown->yoy[1].is_new);
  const GrowthTable& tags = table(g, "tag_category");
  CHECK(tags.groups == 2);
  CHECK(row(tags.rows, "robotics", "dataset")->yearly == std::vector<uint64_t>{1, 1});  // D, F (LeRobot)
  CHECK(row(tags.rows, "text-generation", "model")->yearly == std::vector<uint64_t>{1, 0});
  CHECK(row(tags.rows, "speech", "model") == nullptr);
  // The limit keeps the largest groups
  JobSpec j = study_job();
  j.study.growth_limit = 1;
  Results q = run_job(j);
  CHECK(table(q.study.growth, "organisation").truncated);
  CHECK(table(q.study.growth, "organisation").rows.size() == 1);
}

TEST_CASE("study engine: attribution over time, with and without inheritance", "[study][engine]") {
  Results r = run_job(study_job());
  const AttributionStudy& a = r.study.attribution;
  CHECK_FALSE(a.inherit);
  CHECK(year_share(a, "country", 2023, "US") == 240);
  CHECK(year_share(a, "country", 2023, "DE") == 37);
  CHECK(year_share(a, "country", 2023, "unknown") == 0);  // listed: some unit is unattributed
  CHECK(year_share(a, "country", 2024, "US") == 80);
  CHECK(year_share(a, "country", 2024, "unknown") == 60);
  for (const auto& t : a.share_year)
    if (t.group == "country") {
      REQUIRE(t.year_totals.size() == 2);
      CHECK(t.year_totals[0] == std::make_pair(2023, uint64_t(277)));
      CHECK(t.rows[0].key == "US");
      CHECK(t.rows[0].share == Approx(240.0 / 277).epsilon(1e-14));
    }
  for (const auto& [g, n] : a.inherited) CHECK(n == 0);

  JobSpec j = study_job();
  j.inherit_attribution = true;
  Results q = run_job(j);
  const AttributionStudy& b = q.study.attribution;
  CHECK(b.inherit);
  // E and E2 (anon) take big/A's organisation, country and region (anon's region is spelled
  // "unknown"); their own org type (individual) stays.
  std::map<std::string, uint64_t> inherited(b.inherited.begin(), b.inherited.end());
  CHECK(inherited["organisation"] == 2);
  CHECK(inherited["country"] == 2);
  CHECK(inherited["region"] == 2);
  CHECK(inherited["org_type"] == 0);
  CHECK(year_share(b, "country", 2024, "US") == 140);
  // every unit now has a country: the unknown group does not exist, so it has no row
  CHECK(year_share(b, "country", 2024, "unknown") == UINT64_MAX);
  CHECK(year_share(b, "region", 2024, "us") == 140);
  CHECK(year_share(b, "org_type", 2024, "individual") == 60);
  // The option changes every attribution share, and growth per organisation
  const GrowthTable& org = table(q.study.growth, "organisation");
  CHECK(row(org.rows, "BigCo", "model")->yearly == std::vector<uint64_t>{2, 3});
  CHECK(row(org.rows, "unknown", "model") == nullptr);
  for (const auto& t : q.share)
    if (t.group == "organisation")
      for (const auto& s : t.rows)
        if (s.key == "BigCo") CHECK(s.downloads == 380);  // A 230 + B 10 + G 80 + E 60
}

TEST_CASE("study engine: without download records, parts switched off", "[study][engine]") {
  JobSpec j = study_job();
  j.downloads_path.clear();
  Results r = run_job(j);
  CHECK_FALSE(r.study.adoption.computed);
  CHECK(r.study.adoption.reason.find("download records") != std::string::npos);
  CHECK_FALSE(r.study.lifetime.computed);
  CHECK(r.study.size.by_year.empty());
  CHECK(r.study.growth.computed);
  CHECK(r.study.growth.n_months == 19);
  CHECK(r.study.attribution.share_year.empty());

  j = study_job();
  j.study.parts = {"growth"};
  Results q = run_job(j);
  CHECK(q.study.parts == std::vector<std::string>{"growth"});
  CHECK_FALSE(q.study.size.computed);
  auto doc = nlohmann::json::parse(results_to_json(q));
  CHECK(doc["study"].contains("growth"));
  CHECK_FALSE(doc["study"].contains("size"));
  CHECK_FALSE(doc["share"].contains("country_x_year"));
}

TEST_CASE("study engine: the results document carries the study keys", "[study][engine]") {
  Results r = run_job(study_job());
  auto doc = nlohmann::json::parse(results_to_json(r));
  const auto& s = doc["study"];
  CHECK(s["parts"].size() == 5);
  for (const char* k : {"size", "adoption", "lifetime", "growth", "attribution"}) CHECK(s.contains(k));
  CHECK(s["size"]["by_year"][0]["year"] == 2023);
  CHECK(s["size"]["by_year"][0]["weighted_median"] == 2e9);
  CHECK(s["size"]["parameters_from"]["table_unmatched"] == 1);
  CHECK(s["adoption"]["class_ratio"]["numerator"] == "1-9B");
  CHECK(s["adoption"]["class_ratio"]["by_age"][0]["ratio"].is_null());
  CHECK(s["adoption"]["class_ratio"]["by_age"][1]["ratio"] == 19.0);
  CHECK(s["adoption"]["data_end"] == "2024-03-31");
  CHECK(s["lifetime"]["overall"]["decay_months"]["mean"] == 1.25);
  CHECK(s["lifetime"]["window"]["from"].is_null());
  CHECK(s["growth"]["months"][0] == "2023-01");
  CHECK(s["growth"]["years"] == nlohmann::json::array({2023, 2024}));
  const auto& totals = s["growth"]["totals"];
  CHECK(totals[0]["kind"] == "model");
  CHECK(totals[0]["yoy"][0] == "new");
  CHECK(totals[0]["yoy"][1] == 1.0);
  CHECK(s["growth"]["by_group"]["tag_category"]["rows"][0]["key"] == "robotics");
  CHECK(doc["share"]["country_x_year"][0]["key"] == "US");
  CHECK(doc["share"]["country_x_year"][0]["year"] == 2023);
  CHECK(doc["share_info"]["country_x_year"]["years"][0]["total"] == 277);
  CHECK(s["attribution"]["year_tables"][0] == "share.country_x_year");
  // the text and CSV writers have the study too
  const std::string text = results_to_text(r);
  for (const char* h : {"Model size", "Relative adoption", "Engagement lifetime", "Growth", "Share by country per year"})
    CHECK(text.find(h) != std::string::npos);
}
