// The HTML report's numbers and charts (docs/study-report.md): percentages that never round a
// share to 100% or 0%, thousands separators, an axis title on both axes of every chart, partial
// years in the growth factors, zeros on a log axis as gaps with a note, and labels that follow
// the results' measure. From the embedded sample's results and from small crafted documents.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ecostat/engine.hpp"
#include "ecostat/job.hpp"
#include "ecostat/study.hpp"

using namespace ecostat;
using json = nlohmann::json;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

size_t occurrences(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++n;
  return n;
}

std::vector<std::string> svgs(const std::string& html) {
  std::vector<std::string> out;
  for (size_t a = html.find("<svg"); a != std::string::npos; a = html.find("<svg", a + 1)) {
    const size_t b = html.find("</svg>", a);
    REQUIRE(b != std::string::npos);
    out.push_back(html.substr(a, b + 6 - a));
  }
  return out;
}

// The text of the axis title of one orientation ("x" or "y") in one chart; empty when none.
std::string axis_title(const std::string& svg, const std::string& xy) {
  const size_t a = svg.find("class=\"axis-title " + xy + "\"");
  if (a == std::string::npos) return "";
  const size_t b = svg.find('>', a), e = svg.find("</text>", a);
  return svg.substr(b + 1, e - b - 1);
}

const std::string& sample_report() {
  static const std::string html = [] {
    JobSpec j;
    j.backend = "cpu";
    j.concentration_units = {"model", "author", "family"};
    return results_report_html(results_to_json(run_job(j)));
  }();
  return html;
}

// A results document with only what a test needs.
json crafted(const std::string& measure) {
  json d;
  d["schema"] = "ecostat.results/1";
  d["backend"] = {{"name", "cpu"}, {"device", "test"}};
  d["measure"] = measure;
  d["input"] = {{"units", 1234567}, {"download_records", 9876543}};
  return d;
}

json concentration(double top_100, double below_fraction) {
  return {{"n", 1234567},
          {"total", "36893488147419103232"},  // above 2^64: the schema writes it as a string
          {"gini", 0.5},
          {"top_k", {{"1", 0.2}, {"100", top_100}}},
          {"below", {{"1000", {{"count", 12345}, {"fraction", below_fraction}}}}},
          {"lorenz", {{0, 0}, {0.5, 0.25}, {1, 1}}}};
}

json growth(const std::vector<std::string>& months, const std::vector<int>& years, int last_year_months, const json& yoy) {
  json all_kinds = {{"key", "all"}, {"kind", "all"}, {"yearly", json::array()}, {"yoy", yoy}};
  json models = {{"key", "all"}, {"kind", "model"}, {"yearly", json::array()}, {"yoy", yoy}};
  for (size_t i = 0; i < years.size(); ++i) all_kinds["yearly"].push_back(10 * (i + 1)), models["yearly"].push_back(10 * (i + 1));
  return {{"computed", true}, {"months", months},         {"years", years},
          {"last_year_months", last_year_months}, {"totals", {models, all_kinds}}, {"by_group", json::object()}};
}

std::vector<std::string> month_range(int y0, int m0, int y1, int m1) {
  std::vector<std::string> out;
  for (int y = y0, m = m0; y < y1 || (y == y1 && m <= m1); ++m == 13 ? (m = 1, ++y) : 0) {
    char b[8];
    std::snprintf(b, sizeof b, "%04d-%02d", y, m);
    out.push_back(b);
  }
  return out;
}

// study.adoption with two size classes over three ages; A's values given.
json adoption(double a30, double a90, double a180) {
  json classes = json::array();
  const int ages[] = {30, 90, 180};
  const double a[] = {a30, a90, a180}, b[] = {5, 50, 500};
  for (int i = 0; i < 3; ++i) {
    classes.push_back({{"class", "A"}, {"age", ages[i]}, {"v1", std::isnan(a[i]) ? json(nullptr) : json(a[i])}});
    classes.push_back({{"class", "B"}, {"age", ages[i]}, {"v1", b[i]}});
  }
  return {{"computed", true}, {"top", 10}, {"classes", classes}, {"class_ratio", {{"numerator", "A"}, {"denominator", "B"}, {"by_age", json::array()}}}};
}

}  // namespace

TEST_CASE("report: a share is 100% or 0% only when it is exactly that", "[report]") {
  CHECK(report::percent(1.0) == "100%");
  CHECK(report::percent(0.0) == "0%");
  CHECK(report::percent(0.9985) == "99.9%");   // the sample's top-100 share
  CHECK(report::percent(0.99996) == ">99.9%");  // rounds to 100.0 even with a decimal
  CHECK(report::percent(0.995) == "99.5%");
  CHECK(report::percent(0.0004) == "<0.1%");
  CHECK(report::percent(0.0006) == "0.1%");
  CHECK(report::percent(0.5) == "50%");
  CHECK(report::percent(0.05) == "5.0%");
  CHECK(report::percent(0.0999) == "10.0%");
  CHECK(report::percent(std::nan("")) == "-");
  for (double gap = 1e-12; gap < 0.01; gap *= 1.7) {
    CHECK(report::percent(1 - gap) != "100%");
    CHECK(report::percent(1 - gap).find("100.0") == std::string::npos);
    CHECK(report::percent(gap) != "0%");
    CHECK(report::percent(gap) != "0.0%");
  }
}

TEST_CASE("report: counts have thousands separators", "[report]") {
  CHECK(report::count(0) == "0");
  CHECK(report::count(999) == "999");
  CHECK(report::count(1000) == "1,000");
  CHECK(report::count(1234567) == "1,234,567");
  CHECK(report::count(std::numeric_limits<uint64_t>::max()) == "18,446,744,073,709,551,615");
  CHECK(report::group_thousands("36893488147419103232") == "36,893,488,147,419,103,232");
  CHECK(report::group_thousands("12.5") == "12.5");  // not a count: unchanged
  CHECK(report::group_thousands("") == "");
}

TEST_CASE("report: every chart of the sample has an x and a y axis title", "[report]") {
  const std::string& html = sample_report();
  const auto charts = svgs(html);
  // Lorenz 1, country 2, org type 2, families 1, size 2, growth 3, adoption 1, lifetime 1.
  CHECK(charts.size() == 13);
  for (const auto& svg : charts) {
    INFO(svg.substr(0, 200));
    CHECK(!axis_title(svg, "x").empty());
    CHECK(!axis_title(svg, "y").empty());
  }
  auto chart = [&](const std::string& label) {
    for (const auto& svg : charts)
      if (has(svg, "aria-label=\"" + label + "\"")) return svg;
    FAIL("no chart " << label);
    return std::string();
  };
  CHECK(axis_title(chart("Lorenz curves"), "y") == "cumulative share of downloads");
  CHECK(axis_title(chart("Lorenz curves"), "x") == "share of authors, families or models, smallest total first");
  CHECK(axis_title(chart("Top families by derivatives"), "x") == "derivatives (descendant models)");
  CHECK(axis_title(chart("Median of the top models per size class by age"), "x") == "age since creation (days)");
  CHECK(axis_title(chart("Engagement lifetime by release year"), "x") == "release year");
  CHECK(axis_title(chart("Engagement lifetime by release year"), "y") == "months (mean over the models)");
}

TEST_CASE("report: the sample's figures read exactly", "[report]") {
  const std::string& html = sample_report();
  CHECK(has(html, "<b>99.9%</b><span>share of the top 100 models"));  // 0.99852, not "100%"
  CHECK(!has(html, "<b>100%</b>"));
  CHECK(has(html, "4,498 download records"));
  CHECK(has(html, "39,220,210 downloads summed from the download records (measure records)"));
  // The growth axis runs 2020-07 .. 2026-08: both ends are partial years.
  CHECK(has(html, "2020 covers Jul\u2013Dec (6 months)"));
  CHECK(has(html, "2026 covers Jan\u2013Aug (8 months)"));
  CHECK(has(html, ">2026 (8 mo)</text>"));
  // The 10-99B class has a v1 of 0 at 30 days: a gap on the log axis, and the note says so.
  CHECK(has(html, "<p class=\"gap-note\">"));
  CHECK(has(html, "10-99B at 30 d."));
  for (const char* bad : {"=\"nan", "nan,", ",nan", ">nan<", "-nan", "=\"inf", "inf,", ",inf", ">inf<"}) CHECK(!has(html, bad));
}

TEST_CASE("report: labels follow the results' measure and units", "[report]") {
  json all_time = crafted("all_time");
  all_time["concentration"] = {{"model", concentration(0.99985, 0.0004)}, {"organisation", concentration(0.5, 0.5)}};
  const std::string html = results_report_html(all_time.dump());
  CHECK(has(html, "1,234,567 repositories and models, 9,876,543 download records; 36,893,488,147,419,103,232 all-time downloads"));
  CHECK(axis_title(svgs(html).at(0), "y") == "cumulative share of all-time downloads");
  CHECK(axis_title(svgs(html).at(0), "x") == "share of models or organisations, smallest total first");
  CHECK(has(html, "<b>&gt;99.9%</b><span>share of the top 100 models"));
  CHECK(has(html, "<b>&lt;0.1%</b><span>models below 1,000 all-time downloads (12,345)"));
  CHECK(!has(html, "summed from the download records"));

  json d30 = crafted("30d");
  d30["concentration"] = {{"model", concentration(0.9, 0.1)}};
  const std::string html30 = results_report_html(d30.dump());
  CHECK(axis_title(svgs(html30).at(0), "y") == "cumulative share of 30-day downloads");
  CHECK(has(html30, "downloads of the last 30 days"));
  CHECK(has(html30, "models below 1,000 30-day downloads"));
}

TEST_CASE("report: a partial last year is labelled in the growth factors", "[report]") {
  json d = crafted("records");
  d["study"] = {{"growth", growth(month_range(2023, 1, 2024, 3), {2023, 2024}, 3, {"new", 0.5})}};
  const std::string html = results_report_html(d.dump());
  CHECK(has(html, ">2024 (3 mo)</text>"));
  CHECK(has(html, ">2023</text>"));  // a full year keeps its plain label
  CHECK(has(html, "Partial years: 2024 covers Jan\u2013Mar (3 months)"));
  CHECK(occurrences(html, "class=\"note-small\">partial<") == 1);  // over 2024's factor only
  CHECK(has(html, ">x0.5</text>"));
  for (const auto& svg : svgs(html)) {
    CHECK(!axis_title(svg, "x").empty());
    CHECK(!axis_title(svg, "y").empty());
  }
}

TEST_CASE("report: a partial first year marks its own factor and the next one's", "[report]") {
  json d = crafted("records");
  d["study"] = {{"growth", growth(month_range(2022, 7, 2023, 12), {2022, 2023}, 12, {"new", 2.0})}};
  const std::string html = results_report_html(d.dump());
  CHECK(has(html, "2022 covers Jul\u2013Dec (6 months)"));
  CHECK(has(html, ">2022 (6 mo)</text>"));
  CHECK(has(html, "class=\"note-small\">partial<"));
  CHECK(has(html, "class=\"note-small\">vs partial<"));

  json full = crafted("records");
  full["study"] = {{"growth", growth(month_range(2022, 1, 2023, 12), {2022, 2023}, 12, {"new", 2.0})}};
  const std::string whole = results_report_html(full.dump());
  CHECK(!has(whole, "Partial years"));
  CHECK(!has(whole, "class=\"note-small\""));
  // Without the months, last_year_months alone still marks the last year.
  json no_months = crafted("records");
  no_months["study"] = {{"growth", growth({}, {2022, 2023}, 5, {"new", 2.0})}};
  CHECK(has(results_report_html(no_months.dump()), ">2023 (5 mo)</text>"));
}

TEST_CASE("report: a zero on a log axis is a gap with a note, never a clamp", "[report]") {
  SECTION("a leading zero: the line starts at the next point") {
    json d = crafted("records");
    d["study"] = {{"adoption", adoption(0, 100, 1000)}};
    const std::string html = results_report_html(d.dump());
    const std::string svg = svgs(html).at(0);
    CHECK(occurrences(svg, "<title>A</title></polyline>") == 1);
    CHECK(occurrences(svg, "(not drawable on a log scale)") == 1);
    CHECK(has(html, "<p class=\"gap-note\">Log scale: a value of 0 cannot be drawn"));
    CHECK(has(html, ": A at 30 d.</p>"));
    // The y axis starts at a power of ten above 0: no tick at 0 (no clamp to the frame).
    CHECK(!has(svg, ">0</text>"));
  }
  SECTION("a zero in the middle: two pieces, each a lone point, so no line across it") {
    json d = crafted("records");
    d["study"] = {{"adoption", adoption(10, 0, 1000)}};
    const std::string html = results_report_html(d.dump());
    const std::string svg = svgs(html).at(0);
    CHECK(occurrences(svg, "<title>A</title></polyline>") == 0);
    CHECK(occurrences(svg, "<title>B</title></polyline>") == 1);
    CHECK(has(svg, "<title>A, 30 d: 10</title>"));
    CHECK(has(svg, "<title>A, 180 d: 1,000</title>"));
    CHECK(has(html, ": A at 90 d.</p>"));
  }
  SECTION("a missing value is a gap without a note") {
    json d = crafted("records");
    d["study"] = {{"adoption", adoption(std::nan(""), 100, 1000)}};
    const std::string html = results_report_html(d.dump());
    CHECK(!has(html, "class=\"gap-note\""));
    CHECK(occurrences(svgs(html).at(0), "<title>A</title></polyline>") == 1);
  }
}
