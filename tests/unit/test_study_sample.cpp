// The embedded sample exercises every study metric, and the HTML report is drawn from it.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "ecostat/engine.hpp"
#include "ecostat/job.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/study.hpp"

using namespace ecostat;

namespace {
const Results& sample_results() {
  static const Results r = [] {
    JobSpec j;
    j.backend = "cpu";
    j.concentration_units = {"model", "author"};
    return run_job(j);
  }();
  return r;
}
}  // namespace

TEST_CASE("study sample: every part computes something", "[study][sample]") {
  const Results& r = sample_results();
  // The study's extras are read with the real extracts: the generated repos, downloads,
  // attribution and the parameters table (data/README.md).
  std::map<std::string, uint64_t> accepted;
  for (const auto& f : r.input.files) accepted[f.file] = f.accepted;
  CHECK(accepted["sample:repos_generated.jsonl"] > 0);
  CHECK(accepted["sample:downloads_generated.csv"] > 0);
  CHECK(accepted["sample:orgs_generated.csv"] > 0);
  CHECK(accepted["sample:params.csv"] == 382);  // 299 real tracked-models rows + 83 generated
  CHECK(r.input.rejected == 0);

  const StudyResults& s = r.study;
  CHECK(s.parts.size() == 5);
  CHECK(s.size.computed);
  CHECK(s.size.sources.from_table > 0);
  CHECK(s.size.sources.from_safetensors > 0);
  // mistralai/Mistral-Small-24B-Instruct-2501: 24B in the real tracked-models table, 23,572,403,200
  // in its safetensors.total; and the generated synth-frontier/Frontier-1T-MoE.
  CHECK(s.size.sources.table_overrides == 2);
  CHECK(s.size.by_year.size() >= 4);
  for (const auto& row : s.size.by_year) CHECK(row.models > 0);
  CHECK(s.adoption.computed);
  bool both_classes = false;
  for (const auto& x : s.adoption.ratios) both_classes |= std::isfinite(x.ratio);
  CHECK(both_classes);  // the sample has 1-9B and >=100B models with series
  CHECK(s.lifetime.computed);
  CHECK(s.lifetime.overall.models > 20);
  CHECK(s.lifetime.left_censored > 0);  // KBLab models created before their series began
  CHECK(s.growth.computed);
  bool robotics = false;
  for (const auto& t : s.growth.tables)
    for (const auto& row : t.rows) robotics |= t.group == "tag_category" && row.key == "robotics" && row.kind == "dataset";
  CHECK(robotics);
  CHECK(s.attribution.share_year.size() == 3);
}

TEST_CASE("study sample: inheriting attribution moves the unattributed derivatives", "[study][sample]") {
  JobSpec j;
  j.backend = "cpu";
  j.inherit_attribution = true;
  j.study.parts = {"attribution"};
  Results r = run_job(j);
  std::map<std::string, uint64_t> inherited(r.study.attribution.inherited.begin(), r.study.attribution.inherited.end());
  CHECK(inherited["organisation"] > 50);  // the Mistral lineage's derivatives and synth-tinkerer's
  CHECK(inherited["country"] > 50);
}

TEST_CASE("report: the sample's HTML is self-contained and has every chart", "[study][report]") {
  const std::string html = results_report_html(results_to_json(sample_results()), "Sample <report>");
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("<title>Sample &lt;report&gt;</title>") != std::string::npos);
  for (const char* section : {"Lorenz curves", "Share over time by country", "Share over time by organisation type",
                              "Top families and their derivatives", "Model size over time", "Growth", "Relative adoption",
                              "Engagement lifetime"})
    CHECK(html.find(section) != std::string::npos);
  CHECK(html.find("<svg") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("src=\"http") == std::string::npos);
  CHECK(html.find("href=\"http") == std::string::npos);
  CHECK(html.find("@import") == std::string::npos);
  CHECK(html.find("url(") == std::string::npos);
}

TEST_CASE("report: a document without the study still renders, bad input is an error", "[study][report]") {
  const std::string minimal = R"({"schema": "ecostat.results/1", "input": {}, "concentration": {}})";
  const std::string html = results_report_html(minimal);
  CHECK(html.find("</html>") != std::string::npos);
  CHECK(html.find("Model size") == std::string::npos);
  CHECK_THROWS_AS(results_report_html("not json"), Error);
  CHECK_THROWS_AS(results_report_html(R"({"schema": "other/1"})"), Error);
}
