// Which groups exist (issue 9, items 1, 2 and 4), on small hand-made jobs written to a temp dir:
// a group exists when at least one unit maps to it, and share tables (share_info.groups),
// concentration.<group> and the unknown row all agree on it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

#include "ecostat/engine.hpp"
#include "ecostat/job.hpp"
#include "support/temp_files.hpp"

using namespace ecostat;

namespace {

std::string temp_dir() { return test::temp_dir("groups"); }
void write(const std::string& path, const std::string& text) { test::write_file(path, text); }

// A job over the given files (empty: not given), CPU backend, every group as a concentration unit.
JobSpec job(const std::string& repos, const std::string& downloads, const std::string& orgs) {
  const std::string d = temp_dir();
  JobSpec j;
  j.backend = "cpu";
  j.threads = 2;
  if (!repos.empty()) write(j.repos_path = d + "/repos.jsonl", repos);
  if (!downloads.empty()) write(j.downloads_path = d + "/downloads.csv", downloads);
  if (!orgs.empty()) write(j.orgs_path = d + "/orgs.csv", orgs);
  j.concentration_units = all_group_names();
  return j;
}

const ShareTable& table(const Results& r, const std::string& group) {
  auto it = std::find_if(r.share.begin(), r.share.end(), [&](const ShareTable& t) { return t.group == group; });
  REQUIRE(it != r.share.end());
  return *it;
}

const ShareMonthTable& month_table(const Results& r, const std::string& group) {
  auto it = std::find_if(r.share_month.begin(), r.share_month.end(),
                         [&](const ShareMonthTable& t) { return t.group == group; });
  REQUIRE(it != r.share_month.end());
  return *it;
}

size_t rows_keyed(const ShareTable& t, const std::string& key) {
  return std::count_if(t.rows.begin(), t.rows.end(), [&](const ShareRow& row) { return row.key == key; });
}

const ShareRow* row(const ShareTable& t, const std::string& key) {
  for (const auto& r : t.rows)
    if (r.key == key) return &r;
  return nullptr;
}

// Every concentration unit counts exactly the groups its share table says exist.
void check_agreement(const Results& r) {
  for (const auto& g : all_group_names()) {
    INFO("group " << g);
    CHECK(r.concentration.at(g).n == table(r, g).groups);
  }
}

// The diamond A -> B, A -> C, B -> D, C -> D (A the base of B and C; D a merge of B and C).
const char* kDiamond =
    R"({"id":"a/A","author":"a","downloadsAllTime":10,"pipeline_tag":"text-generation"}
{"id":"b/B","author":"b","downloadsAllTime":5,"baseModels":{"relation":"finetune","models":[{"id":"a/A"}]}}
{"id":"c/C","author":"c","downloadsAllTime":3,"baseModels":{"relation":"adapter","models":[{"id":"a/A"}]}}
{"id":"d/D","author":"d","downloadsAllTime":2,"baseModels":{"relation":"merge","models":[{"id":"b/B"},{"id":"c/C"}]}}
)";

}  // namespace

TEST_CASE("groups: a lineage diamond is one family with Gini 0", "[engine][groups]") {
  Results r = run_job(job(kDiamond, "", ""));
  REQUIRE(r.measure == Measure::all_time);
  const ConcentrationStats& fam = r.concentration.at("family");
  CHECK(fam.n == 1);  // not 4: B, C and D are members of a/A's family, not families
  CHECK(fam.total == 20);
  CHECK(fam.gini == 0.0);
  CHECK(fam.hhi == 1.0);
  CHECK(table(r, "family").groups == 1);
  REQUIRE(table(r, "family").rows.size() == 1);
  CHECK(table(r, "family").rows[0].key == "a/A");
  check_agreement(r);
}

TEST_CASE("groups: no unknown author, organisation or region when nobody falls in it", "[engine][groups]") {
  // Every record has an author; the orgs table names an organisation (Ghost Labs) whose handle
  // has no repository, and spells one region `unknown` (the tracked-models table does).
  const std::string orgs =
      "handle,organisation,country,region,org_type\n"
      "a,Org A,US,us,industry\n"
      "b,Org A,US,us,industry\n"
      "c,Org C,FR,unknown,academic\n"
      "d,Org C,FR,eu,academic\n"
      "ghost,Ghost Labs,DE,eu,industry\n";
  Results r = run_job(job(kDiamond, "", orgs));
  const ShareTable& author = table(r, "author");
  CHECK(author.groups == 4);  // a b c d
  CHECK(rows_keyed(author, "unknown") == 0);
  CHECK(r.concentration.at("author").n == 4);
  // organisation: Org A (a, b: 15), Org C (c, d: 5); Ghost Labs has no repository
  const ShareTable& org = table(r, "organisation");
  CHECK(org.groups == 2);
  CHECK(row(org, "Ghost Labs") == nullptr);
  CHECK(rows_keyed(org, "unknown") == 0);
  const ConcentrationStats& oc = r.concentration.at("organisation");
  CHECK(oc.n == 2);
  // two groups 5 and 15: G = 2 (1*5 + 2*15) / (2 * 20) - 3/2 = 0.25
  CHECK(oc.gini == Approx(0.25).epsilon(1e-12));
  CHECK(r.concentration.at("country").n == 2);  // US, FR (DE only through Ghost Labs)
  // region: us (a, b), eu (d), unknown (c, spelled so): three groups, one unknown row
  const ShareTable& region = table(r, "region");
  CHECK(region.groups == 3);
  CHECK(rows_keyed(region, "unknown") == 1);
  CHECK(row(region, "unknown")->downloads == 3);
  CHECK(row(region, "eu")->downloads == 2);
  CHECK(r.concentration.at("region").n == 3);
  check_agreement(r);
}

TEST_CASE("groups: model and family tables have no unknown row", "[engine][groups]") {
  Results r = run_job(job(kDiamond, "", ""));
  CHECK(rows_keyed(table(r, "model"), "unknown") == 0);
  CHECK(rows_keyed(table(r, "family"), "unknown") == 0);
  CHECK(table(r, "model").groups == 4);
  // organisation without an orgs table: every unit is unknown, one row
  const ShareTable& org = table(r, "organisation");
  CHECK(org.groups == 1);
  REQUIRE(org.rows.size() == 1);
  CHECK(org.rows[0].key == "unknown");
  CHECK(org.rows[0].downloads == 20);
}

TEST_CASE("groups: a value spelled unknown is the one unknown group in every table", "[engine][groups]") {
  // p/1 stores pipeline tag and library "unknown" literally, p/2 has none, p/3 has real ones.
  const std::string repos =
      R"({"id":"p/1","pipeline_tag":"unknown","library_name":"unknown","downloadsAllTime":1}
{"id":"p/2","downloadsAllTime":2}
{"id":"p/3","pipeline_tag":"fill-mask","library_name":"transformers","downloadsAllTime":4}
{"id":"unknown/4","author":"unknown","pipeline_tag":"fill-mask","downloadsAllTime":8}
)";
  const std::string downloads = "repo,date,downloads\np/1,2024-01-03,10\np/2,2024-01-04,20\np/3,2024-01-05,40\n";
  Results r = run_job(job(repos, downloads, ""));
  for (const char* g : {"pipeline_tag", "library"}) {
    INFO(g);
    const ShareTable& t = table(r, g);
    CHECK(rows_keyed(t, "unknown") == 1);
    CHECK(row(t, "unknown")->downloads == 30);  // p/1 + p/2
    CHECK(t.groups == 2);
    const ShareMonthTable& m = month_table(r, g);
    CHECK(std::count_if(m.rows.begin(), m.rows.end(), [](const ShareMonthRow& x) { return x.key == "unknown"; }) == 1);
  }
  // the author spelled unknown joins the unknown group (which p/1..p/3 do not fall in: their
  // author is the id's prefix `p`)
  const ShareTable& author = table(r, "author");
  CHECK(rows_keyed(author, "unknown") == 1);
  CHECK(author.groups == 2);  // p, unknown
  CHECK(r.concentration.at("pipeline_tag").n == 2);
  check_agreement(r);
}

TEST_CASE("groups: ids seen only in download records are of kind unknown", "[engine][groups]") {
  const std::string repos = R"({"id":"m/1","downloadsAllTime":1}
{"id":"d/1","type":"dataset","downloadsAllTime":1}
)";
  const std::string downloads = "repo,date,downloads\nm/1,2024-01-03,10\nd/1,2024-01-04,20\nonly/in-downloads,2024-01-05,40\n";
  Results r = run_job(job(repos, downloads, ""));
  const ShareTable& kind = table(r, "kind");
  CHECK(row(kind, "model")->downloads == 10);
  CHECK(row(kind, "dataset")->downloads == 20);
  REQUIRE(row(kind, "unknown") != nullptr);
  CHECK(row(kind, "unknown")->downloads == 40);
  CHECK(row(kind, "space") == nullptr);  // no space: not a group
  CHECK(kind.groups == 3);
  check_agreement(r);
}

TEST_CASE("groups: the share limit counts ranked rows, the unknown row comes on top of them", "[engine][groups]") {
  // authors x 40, y 30, z 20, w 5; `unknown` (no author, id without a prefix) 1
  const std::string repos =
      R"({"id":"x/1","downloadsAllTime":40}
{"id":"y/1","downloadsAllTime":30}
{"id":"z/1","downloadsAllTime":20}
{"id":"w/1","downloadsAllTime":5}
{"id":"noprefix","downloadsAllTime":1}
)";
  JobSpec j = job(repos, "", "");
  j.share_limit = 2;
  Results r = run_job(j);
  const ShareTable& author = table(r, "author");
  CHECK(author.groups == 5);
  CHECK(author.truncated);
  REQUIRE(author.rows.size() == 3);  // x, y, then unknown beyond the limit
  CHECK(author.rows[0].key == "x");
  CHECK(author.rows[1].key == "y");
  CHECK(author.rows[2].key == "unknown");
  CHECK(author.rows[2].downloads == 1);
  // when unknown ranks within the limit it takes its place there, and nothing is appended
  j.share_limit = 5;
  r = run_job(j);
  CHECK(table(r, "author").rows.size() == 5);
  CHECK(!table(r, "author").truncated);
}
