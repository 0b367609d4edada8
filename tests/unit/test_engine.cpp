// The engine end to end on a hand-made job (tests/fixtures/engine): every figure below is
// worked out by hand.
//
// Units and their download-record totals (2 of 7 records rejected: a negative count, a bad date):
//   acme/base 150, acme/base-ft 30, bob/adapter 20, carol/merge 0, zed/other 0 (placeholder
//   parent), dana/solo 0, new/unlisted 5 (named only by a download record). S = 205.
// Attribution: acme and bob -> Acme Corp (US); carol -> no organisation, FR; others unattributed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ecostat/engine.hpp"
#include "ecostat/job.hpp"
#include "ecostat/errors.hpp"
#include "support/temp_files.hpp"

using namespace ecostat;

namespace {
JobSpec fixture_job() {
  JobSpec j;
  const std::string dir = std::string(ECOSTAT_FIXTURES) + "/engine/";
  j.repos_path = dir + "repos.jsonl";
  j.downloads_path = dir + "downloads.csv";
  j.orgs_path = dir + "orgs.csv";
  j.backend = "cpu";
  j.concentration_within = {"country"};
  return j;
}

const ShareRow* row_of(const Results& r, const std::string& group, const std::string& key) {
  for (const auto& t : r.share)
    if (t.group == group)
      for (const auto& row : t.rows)
        if (row.key == key) return &row;
  return nullptr;
}
}  // namespace

TEST_CASE("engine: input accounting reconciles", "[engine]") {
  Results r = run_job(fixture_job());
  CHECK(r.measure == Measure::records);
  CHECK(r.input.repositories == 5);
  CHECK(r.input.units == 7);
  CHECK(r.input.placeholders_from_downloads == 1);
  CHECK(r.input.download_records == 5);
  CHECK(r.input.rejected == 2);
  CHECK(r.input.unresolved_parents == 1);
  for (const auto& f : r.input.files) CHECK(f.read == f.accepted + f.rejected);
}

TEST_CASE("engine: share by group with the explicit unknown group", "[engine]") {
  Results r = run_job(fixture_job());
  const ShareRow* acme = row_of(r, "organisation", "Acme Corp");
  const ShareRow* unknown = row_of(r, "organisation", "unknown");
  REQUIRE(acme);
  REQUIRE(unknown);
  CHECK(acme->downloads == 200);  // 150 + 30 (acme) + 20 (bob)
  CHECK(unknown->downloads == 5); // new/unlisted; carol, zed, dana have 0
  CHECK(acme->share == Approx(200.0 / 205.0).epsilon(1e-12));
  CHECK(row_of(r, "country", "US")->downloads == 200);
  CHECK(row_of(r, "country", "FR")->downloads == 0);
  CHECK(row_of(r, "country", "unknown")->downloads == 5);
  CHECK(row_of(r, "author", "bob")->downloads == 20);  // author from the id's prefix
  CHECK(row_of(r, "size_bucket", "1-9B")->downloads == 180);
  CHECK(row_of(r, "size_bucket", ">=100B")->downloads == 0);
  CHECK(row_of(r, "size_bucket", "unknown")->downloads == 25);
  CHECK(row_of(r, "family", "acme/base")->downloads == 200);
  CHECK(row_of(r, "model", "acme/base")->downloads == 150);
  // model shares are sorted by downloads, descending
  const auto& model = *std::find_if(r.share.begin(), r.share.end(), [](const ShareTable& t) { return t.group == "model"; });
  CHECK(model.total == 205);
  CHECK(model.rows.front().key == "acme/base");
  CHECK(std::is_sorted(model.rows.begin(), model.rows.end(),
                       [](const ShareRow& a, const ShareRow& b) { return a.downloads > b.downloads; }));
}

TEST_CASE("engine: group x month tables", "[engine]") {
  Results r = run_job(fixture_job());
  const auto& t = *std::find_if(r.share_month.begin(), r.share_month.end(),
                                [](const ShareMonthTable& x) { return x.group == "country"; });
  REQUIRE(t.month_totals.size() == 3);
  CHECK(t.month_totals[0] == std::make_pair(month_of(2024, 1), uint64_t(100)));
  CHECK(t.month_totals[1] == std::make_pair(month_of(2024, 2), uint64_t(100)));
  CHECK(t.month_totals[2] == std::make_pair(month_of(2024, 3), uint64_t(5)));
  bool found = false;
  for (const auto& row : t.rows)
    if (row.month == month_of(2024, 3)) {
      CHECK(row.key == "unknown");
      CHECK(row.downloads == 5);
      CHECK(row.share == 1.0);
      found = true;
    }
  CHECK(found);
}

TEST_CASE("engine: concentration over model totals", "[engine]") {
  Results r = run_job(fixture_job());
  const ConcentrationStats& s = r.concentration.at("model");
  // sorted: 0 0 0 5 20 30 150; sum i*x_(i) = 4*5 + 5*20 + 6*30 + 7*150 = 1350
  CHECK(s.n == 7);
  CHECK(s.total == 205);
  CHECK(s.gini == Approx(2.0 * 1350 / (7.0 * 205) - 8.0 / 7.0).epsilon(1e-12));
  CHECK(s.hhi == Approx(23825.0 / 42025.0).epsilon(1e-12));
  CHECK(s.top_k.front().second == Approx(150.0 / 205.0).epsilon(1e-12));
  CHECK(s.percentiles[0].second == 5.0);                     // p50: h = 3
  CHECK(s.percentiles[1].second == Approx(30 + 0.4 * 120));  // p90: h = 5.4
  CHECK(s.below.front().count == 7);
  // within countries: US holds acme/base, acme/base-ft, bob/adapter
  const auto& within = r.concentration_within.at("country");
  auto us = std::find_if(within.begin(), within.end(), [](const auto& p) { return p.first == "US"; });
  REQUIRE(us != within.end());
  CHECK(us->second.n == 3);
  CHECK(us->second.total == 200);
}

TEST_CASE("engine: lineage summary", "[engine]") {
  Results r = run_job(fixture_job());
  const LineageSummary& L = r.lineage;
  CHECK(L.nodes == 7);
  CHECK(L.edges == 4);
  CHECK(L.roots == 4);  // acme/base, zed/other, dana/solo, new/unlisted
  CHECK(L.max_depth == 2);
  CHECK(L.families_total == 2);
  REQUIRE(!L.families.empty());
  const FamilyRow& f = L.families.front();
  CHECK(f.root == "acme/base");
  CHECK(f.size == 4);
  CHECK(f.descendants == 3);
  CHECK(f.by_relation[int(Relation::finetune)] == 1);
  CHECK(f.by_relation[int(Relation::adapter)] == 1);
  CHECK(f.by_relation[int(Relation::merge)] == 1);
  CHECK(f.downloads == 200);
  REQUIRE(L.by_organisation.size() == 2);
  CHECK(L.by_organisation[0].key == "Acme Corp");
  CHECK(L.by_organisation[0].derivatives == 3);
  CHECK(L.by_organisation[1].key == "unknown");  // zed/other: one merge derivative
  CHECK(L.by_organisation[1].derivatives == 1);
  auto llama = std::find_if(L.by_tag.begin(), L.by_tag.end(), [](const DerivativeRow& d) { return d.key == "llama"; });
  REQUIRE(llama != L.by_tag.end());
  CHECK(llama->derivatives == 1);  // acme/base-ft
}

TEST_CASE("engine: other measures", "[engine]") {
  JobSpec j = fixture_job();
  j.measure = Measure::all_time;
  Results r = run_job(j);
  CHECK(r.concentration.at("model").total == 1000 + 50 + 5 + 0 + 2);
  CHECK(r.input.units_without_measure == 2);  // zed/other, new/unlisted
  j.measure = Measure::d30;
  CHECK(run_job(j).concentration.at("model").total == 100 + 10 + 5 + 0 + 1);
}

TEST_CASE("engine: strict mode stops at the first rejection", "[engine]") {
  JobSpec j = fixture_job();
  j.strict = true;
  CHECK_THROWS_AS(run_job(j), InputError);
}

TEST_CASE("engine: bad options are usage errors", "[engine]") {
  JobSpec j = fixture_job();
  j.share_groups = {"planet"};
  CHECK_THROWS_AS(run_job(j), UsageError);
  j = fixture_job();
  j.backend = "quantum";
  CHECK_THROWS_AS(run_job(j), UsageError);
}

TEST_CASE("engine: results JSON carries every section", "[engine]") {
  Results r = run_job(fixture_job());
  auto doc = nlohmann::json::parse(results_to_json(r));
  CHECK(doc["schema"] == "ecostat.results/1");
  for (const char* k : {"input", "concentration", "share", "lineage"}) CHECK(doc.contains(k));
  for (const auto& g : all_group_names()) {
    CHECK(doc["share"].contains(g));
    CHECK(doc["share"].contains(g + "_x_month"));
  }
  const auto& m = doc["concentration"]["model"];
  for (const char* k : {"n", "total", "gini", "hhi", "top_k", "top_pct", "percentiles", "below", "lorenz"}) CHECK(m.contains(k));
  CHECK(m["top_k"].contains("200"));
  CHECK(m["below"]["200"]["count"] == 7);
  CHECK(doc["lineage"]["families"][0]["root"] == "acme/base");
}

TEST_CASE("engine: the embedded sample runs and reconciles", "[engine][sample]") {
  JobSpec j;
  j.backend = "cpu";
  Results r = run_job(j);
  CHECK(r.input.repositories > 0);
  CHECK(r.input.download_records > 0);
  CHECK(r.lineage.edges > 0);
  uint64_t read = 0, accepted = 0, rejected = 0;
  for (const auto& f : r.input.files) {
    CHECK(f.read == f.accepted + f.rejected);
    read += f.read, accepted += f.accepted, rejected += f.rejected;
  }
  CHECK(rejected == r.input.rejected);
}

TEST_CASE("engine: family groups are the roots only", "[engine]") {
  Results r = run_job(fixture_job());
  const auto& fam = *std::find_if(r.share.begin(), r.share.end(), [](const ShareTable& t) { return t.group == "family"; });
  CHECK(fam.groups == 4);  // acme/base, zed/other, dana/solo, new/unlisted
  CHECK(row_of(r, "family", "acme/base-ft") == nullptr);
  CHECK(row_of(r, "family", "new/unlisted")->downloads == 5);
}

TEST_CASE("engine: an attribution value spelled unknown joins the one unknown group", "[engine]") {
  // orgs: acme in region "Unknown" (as tracked-models' regions write it); carol in eu.
  const std::string dir = std::string(ECOSTAT_FIXTURES) + "/engine/";
  const std::string orgs = test::temp_dir("engine-unknown") + "/orgs.csv";
  {
    std::ofstream f(orgs);
    f << "handle,region\nacme,Unknown\ncarol,eu\n";
  }
  JobSpec j = fixture_job();
  j.orgs_path = orgs;
  Results r = run_job(j);
  const auto& region = *std::find_if(r.share.begin(), r.share.end(), [](const ShareTable& t) { return t.group == "region"; });
  int unknown_rows = 0;
  for (const auto& row : region.rows) unknown_rows += (row.key == "unknown" || row.key == "Unknown");
  CHECK(unknown_rows == 1);
  CHECK(row_of(r, "region", "unknown")->downloads == 205);  // acme 180 + bob 20 + new 5; carol 0
  CHECK(region.groups == 2);                                 // eu, unknown
}
