// Sums never wrap (issue 9, item 3), engine side: wide events (counts above u32) added exactly
// by add_wide_events, with the month range widened to their months; sums past 2^64-1 are an
// InputError naming the repository, never a wrapped figure.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

#include "ecostat/engine.hpp"
#include "ecostat/job.hpp"
#include "support/temp_files.hpp"
#include "ecostat/errors.hpp"

using namespace ecostat;

namespace {

std::string temp_dir() { return test::temp_dir("sums"); }
void write(const std::string& path, const std::string& text) { test::write_file(path, text); }

Dictionary unit_ids(uint32_t n) {
  Dictionary d;
  for (uint32_t u = 0; u < n; ++u) d.intern("org/m" + std::to_string(u));
  return d;
}

GroupMap identity_map() {
  GroupMap m;
  m.name = "model";
  return m;
}

GroupMap pair_map() {  // units 0, 2 -> group 0; 1, 3 -> group 1
  GroupMap m;
  m.name = "pair";
  m.group_of_unit = {0, 1, 0, 1};
  m.n_groups = 2;
  return m;
}

}  // namespace

TEST_CASE("wide events: added exactly, the month range widened both ways", "[engine][wide]") {
  auto backend = make_cpu_backend(2);
  auto acc = backend->make_accumulator();
  EventBatch b;
  b.push(1, month_of(2024, 3), 7);
  b.push(2, month_of(2024, 4), 9);
  acc->add(b);
  const std::vector<GroupMap> maps{identity_map(), pair_map()};
  EventTotals t = acc->finish(4, maps);
  REQUIRE(t.month_first == month_of(2024, 3));
  REQUIRE(t.n_months == 2);

  const uint64_t big = (uint64_t(1) << 32) + 5;  // does not fit in u32
  // 2024-01: the only event of its month, before the range; 2024-07 after it (a gap at 05, 06)
  const std::vector<WideEvent> wide{{3, month_of(2024, 1), big}, {1, month_of(2024, 3), big}, {0, month_of(2024, 7), big}};
  add_wide_events(t, wide, maps, unit_ids(4), "downloads.csv");

  CHECK(t.events == 2 + 3);
  CHECK(t.unit_total == std::vector<uint64_t>{big, 7 + big, 9, big});
  CHECK(t.month_first == month_of(2024, 1));
  CHECK(t.n_months == 7);
  for (const GroupMonthTable& m : t.group_month) {
    CHECK(m.month_first == month_of(2024, 1));
    CHECK(m.n_months == 7);
    CHECK(m.sums.size() == size_t(7) * m.n_groups);
  }
  const GroupMonthTable& model = t.group_month[0];
  CHECK(model.at(3, month_of(2024, 1)) == big);
  CHECK(model.at(1, month_of(2024, 3)) == 7 + big);  // the backend's cell kept, the wide added
  CHECK(model.at(2, month_of(2024, 4)) == 9);
  CHECK(model.at(0, month_of(2024, 7)) == big);
  CHECK(model.at(0, month_of(2024, 5)) == 0);
  const GroupMonthTable& pair = t.group_month[1];
  CHECK(pair.at(1, month_of(2024, 1)) == big);  // unit 3 is in group 1
  CHECK(pair.at(1, month_of(2024, 3)) == 7 + big);
  CHECK(pair.at(0, month_of(2024, 4)) == 9);
  CHECK(pair.at(0, month_of(2024, 7)) == big);
  uint64_t cells = 0;
  for (uint64_t v : pair.sums) cells += v;
  CHECK(cells == 16 + 3 * big);
}

TEST_CASE("wide events: the only events of a job make its month range", "[engine][wide]") {
  auto acc = make_cpu_backend(1)->make_accumulator();
  EventBatch b;  // size() == 0: the accumulator skips it
  b.push_wide(2, month_of(2023, 11), uint64_t(1) << 40);
  acc->add(b);
  const std::vector<GroupMap> maps{identity_map(), pair_map()};
  EventTotals t = acc->finish(4, maps);
  CHECK(t.n_months == 0);
  add_wide_events(t, b.wide, maps, unit_ids(4), "downloads.csv");
  CHECK(t.events == 1);
  CHECK(t.month_first == month_of(2023, 11));
  CHECK(t.n_months == 1);
  CHECK(t.unit_total[2] == uint64_t(1) << 40);
  CHECK(t.group_month[0].at(2, month_of(2023, 11)) == uint64_t(1) << 40);
  CHECK(t.group_month[1].at(0, month_of(2023, 11)) == uint64_t(1) << 40);
}

TEST_CASE("wide events: a unit total past 2^64-1 names the repository", "[engine][wide]") {
  auto acc = make_cpu_backend(1)->make_accumulator();
  EventBatch b;
  b.push(1, month_of(2024, 1), 1);
  acc->add(b);
  EventTotals t = acc->finish(4, {identity_map()});
  const std::vector<WideEvent> wide{{1, month_of(2024, 1), UINT64_MAX}};
  try {
    add_wide_events(t, wide, {identity_map()}, unit_ids(4), "downloads.csv");
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("org/m1") != std::string::npos);
    CHECK(e.file() == "downloads.csv");
  }
}

TEST_CASE("sums: all-time counts that sum past 2^64-1 stop the job, never wrap", "[engine][wide]") {
  // One author with all-time counts 2^64-1 and 1: wrapped, its total would be 0 and every share 0.
  const std::string d = temp_dir();
  JobSpec j;
  j.backend = "cpu";
  j.threads = 1;
  j.repos_path = d + "/repos.jsonl";
  write(j.repos_path,
        "{\"id\":\"a/big\",\"downloadsAllTime\":18446744073709551615}\n"
        "{\"id\":\"a/one\",\"downloadsAllTime\":1}\n");
  j.measure = Measure::all_time;
  CHECK_THROWS_AS(run_job(j), InputError);
  // at the edge, 2^64-2 and 1, the figures are exact
  write(j.repos_path,
        "{\"id\":\"a/big\",\"downloadsAllTime\":18446744073709551614}\n"
        "{\"id\":\"a/one\",\"downloadsAllTime\":1}\n");
  Results r = run_job(j);
  auto author = std::find_if(r.share.begin(), r.share.end(), [](const ShareTable& t) { return t.group == "author"; });
  REQUIRE(author != r.share.end());
  CHECK(author->total == UINT64_MAX);
  REQUIRE(!author->rows.empty());
  CHECK(author->rows[0].downloads == UINT64_MAX);
  CHECK(author->rows[0].share == 1.0);
}

TEST_CASE("sums: a count above u32 alone in its month is in every month table", "[engine][wide]") {
  const std::string d = temp_dir();
  JobSpec j;
  j.backend = "cpu";
  j.threads = 1;
  j.downloads_path = d + "/downloads.csv";
  write(j.downloads_path, "repo,date,downloads\na/x,2024-01-02,3\nb/y,2024-03-04,5000000000\n");
  j.month_groups = {"model", "author"};
  Results r = run_job(j);
  CHECK(r.input.download_records == 2);
  CHECK(r.concentration.at("model").total == 5000000003ull);
  for (const ShareMonthTable& t : r.share_month) {
    INFO(t.group);
    REQUIRE(t.month_totals.size() == 2);
    CHECK(t.month_totals[0] == std::make_pair(month_of(2024, 1), uint64_t(3)));
    CHECK(t.month_totals[1] == std::make_pair(month_of(2024, 3), uint64_t(5000000000ull)));
  }
}
