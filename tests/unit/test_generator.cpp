// The generator: determinism, the files it writes read back without a reject, and the shape it
// promises (lineage mix, family sizes, download skew), checked through the engine's own output.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>

#include "ecostat/backend.hpp"
#include "ecostat/engine.hpp"
#include "ecostat/job.hpp"
#include "support/temp_files.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/host/generator.hpp"

using namespace ecostat;
using host::GenSpec;
using host::Generator;

namespace {

std::string temp_dir() { return test::temp_dir("gen"); }
using test::slurp;

GenSpec small_spec(uint64_t records = 200000, uint32_t models = 20000) {
  GenSpec s;
  s.records = records;
  s.models = models;
  s.seed = 42;
  s.threads = 2;
  return s;
}

}  // namespace

TEST_CASE("generator: scaled counts", "[generator]") {
  CHECK(host::parse_scaled_count("1000") == 1000);
  CHECK(host::parse_scaled_count("1e8") == 100000000ull);
  CHECK(host::parse_scaled_count("2.2M") == 2200000ull);
  CHECK(host::parse_scaled_count("10k") == 10000ull);
  CHECK(host::parse_scaled_count("10G") == 10000000000ull);
  CHECK(host::parse_scaled_count("18446744073709551615") == 18446744073709551615ull);
  CHECK_THROWS_AS(host::parse_scaled_count("abc"), UsageError);
  CHECK_THROWS_AS(host::parse_scaled_count("1.5"), UsageError);
  CHECK_THROWS_AS(host::parse_scaled_count("-1"), UsageError);
  CHECK_THROWS_AS(host::parse_scaled_count(""), UsageError);
}

TEST_CASE("generator: invalid specs are usage errors", "[generator]") {
  GenSpec s = small_spec();
  s.models = 0;
  CHECK_THROWS_AS(Generator(s), UsageError);
  s = small_spec();
  s.record_skew = 0;
  CHECK_THROWS_AS(Generator(s), UsageError);
  s = small_spec();
  s.first_day = "2024-13-01";
  CHECK_THROWS_AS(Generator(s), UsageError);
  s = small_spec();
  s.relation_mix = {0, 0, 0, 0};
  CHECK_THROWS_AS(Generator(s), UsageError);
}

TEST_CASE("generator: deterministic from the seed, whatever the thread count", "[generator]") {
  GenSpec a = small_spec(50000, 5000), b = a;
  b.threads = 1;
  Generator ga(a), gb(b);
  for (uint64_t i : {0ull, 1ull, 777ull, 49999ull}) {
    const auto ra = ga.record(i), rb = gb.record(i);
    CHECK(ra.unit == rb.unit);
    CHECK(ra.day == rb.day);
    CHECK(ra.count == rb.count);
    CHECK(ra.count >= 1);
    CHECK(ra.unit < 5000);
  }
  // The batches are the records, in order.
  std::vector<uint32_t> units;
  uint64_t n = 0;
  ga.for_each_batch(4096, [&](const EventBatch& batch) {
    CHECK(batch.size() <= 4096);
    for (size_t j = 0; j < batch.size(); ++j, ++n) {
      const auto r = gb.record(n);
      REQUIRE(batch.unit[j] == r.unit);
      REQUIRE(batch.count[j] == r.count);
      REQUIRE(batch.month[j] == month_of_day(r.day));
      REQUIRE(batch.unit[j] < batch.unit_bound);
    }
  });
  CHECK(n == 50000);
  // Files: the same bytes with 1 or 2 threads; another seed gives other bytes.
  const std::string d = temp_dir();
  ga.write_downloads_csv(d + "/a.csv");
  gb.write_downloads_csv(d + "/b.csv");
  ga.write_repos_jsonl(d + "/a.jsonl");
  gb.write_repos_jsonl(d + "/b.jsonl");
  CHECK(slurp(d + "/a.csv") == slurp(d + "/b.csv"));
  CHECK(slurp(d + "/a.jsonl") == slurp(d + "/b.jsonl"));
  GenSpec c = a;
  c.seed = 43;
  Generator gc(c);
  gc.write_downloads_csv(d + "/c.csv");
  CHECK(slurp(d + "/a.csv") != slurp(d + "/c.csv"));
  std::system(("rm -rf " + d).c_str());
}

TEST_CASE("generator: edge sizes", "[generator]") {
  GenSpec s = small_spec(0, 1);
  Generator g(s);
  const std::string d = temp_dir();
  g.write_downloads_csv(d + "/d.csv");
  CHECK(slurp(d + "/d.csv") == "repo,date,downloads\n");
  GenSpec t = small_spec(10, 1);
  Generator g1(t);
  for (uint64_t i = 0; i < 10; ++i) CHECK(g1.record(i).unit == 0);
  CHECK(g1.edges().empty());
  std::system(("rm -rf " + d).c_str());
}

TEST_CASE("generator: the engine reads the files back and sees the promised shape", "[generator]") {
  const GenSpec spec = small_spec();
  Generator g(spec);
  const std::string d = temp_dir();
  g.write_repos_jsonl(d + "/repos.jsonl");
  g.write_downloads_csv(d + "/downloads.csv");
  g.write_orgs_csv(d + "/orgs.csv");

  JobSpec job;
  job.repos_path = d + "/repos.jsonl";
  job.downloads_path = d + "/downloads.csv";
  job.orgs_path = d + "/orgs.csv";
  job.backend = "cpu";
  job.strict = true;  // any reject fails the test
  job.share_limit = 0;
  job.family_limit = 1;
  job.month_groups = {"country"};
  job.share_groups = {"model", "organisation", "country", "org_type", "family"};
  const Results r = run_job(job);
  const uint32_t M = spec.models;

  // Inputs: every record accepted, parents before children (no placeholder).
  CHECK(r.input.rejected == 0);
  CHECK(r.input.repositories == M);
  CHECK(r.input.units == M);
  CHECK(r.input.download_records == spec.records);
  CHECK(r.input.unresolved_parents == 0);

  // Lineage: exactly round(28%) of the models have a base model; the relation mix within
  // sampling noise; merges have two parents; acyclic; depth up to 4.
  const auto& e = r.lineage.edges_by_relation;
  const uint64_t merges = e[int(Relation::merge)] / 2;
  const uint64_t derivatives = e[int(Relation::finetune)] + e[int(Relation::adapter)] + e[int(Relation::quantized)] + merges;
  CHECK(derivatives == uint64_t(std::llround(0.28 * M)));
  CHECK(r.lineage.roots == M - derivatives);
  CHECK(r.lineage.cycles.empty());
  CHECK(r.lineage.max_depth <= 4);
  CHECK(r.lineage.max_depth >= 3);
  const double D = double(derivatives);
  CHECK(e[int(Relation::finetune)] / D == Approx(0.36).margin(0.03));
  CHECK(e[int(Relation::adapter)] / D == Approx(0.43).margin(0.03));
  CHECK(e[int(Relation::quantized)] / D == Approx(0.19).margin(0.03));
  CHECK(merges / D == Approx(0.02).margin(0.01));
  CHECK(e[int(Relation::unknown)] == 0);
  // Heavy-tailed families: the largest near what the spec asks.
  const host::GenExpected want = g.expected();
  REQUIRE(!r.lineage.families.empty());
  const double largest = double(r.lineage.families[0].size - 1);
  CHECK(largest > 0.6 * want.largest_family);
  CHECK(largest < 1.5 * want.largest_family);

  // Downloads: the concentration the spec asks for.
  const ConcentrationStats& c = r.concentration.at("model");
  CHECK(c.n == M);
  double top001 = -1, top1 = -1;
  for (auto& [p, share] : c.top_pct) {
    if (p == 0.01) top001 = share;
    if (p == 1.0) top1 = share;
  }
  CHECK(top001 == Approx(want.top_share_0_01pct).epsilon(0.2));
  CHECK(top1 == Approx(want.top_share_1pct).epsilon(0.1));
  double p50 = -1;
  for (auto& [q, v] : c.percentiles)
    if (q == 50.0) p50 = v;
  CHECK(p50 > 0.6 * spec.median_downloads);
  CHECK(p50 < 1.5 * spec.median_downloads);
  REQUIRE(c.below.size() == 1);
  CHECK(c.below[0].fraction > 0.45);
  CHECK(c.below[0].fraction < 0.75);

  // The generator's in-memory events and group maps are exactly what the engine derived from
  // the files: model totals through the CPU backend, and the organisation/country/org type/
  // family shares key by key.
  auto backend = make_cpu_backend(2);
  auto acc = backend->make_accumulator();
  g.for_each_batch(1 << 15, [&](const EventBatch& b) { acc->add(b); });
  const EventTotals tot = acc->finish(M, {});
  const uint64_t sum = std::accumulate(tot.unit_total.begin(), tot.unit_total.end(), uint64_t(0));
  CHECK(u128(sum) == c.total);
  for (const char* group : {"model", "organisation", "country", "org_type", "family"}) {
    INFO(group);
    const GroupMap m = g.group_map(group);
    const std::vector<std::string> keys = g.group_keys(group);
    const std::vector<uint64_t> sums = backend->group_sum(tot.unit_total, m);
    std::map<std::string, uint64_t> mine;
    for (uint32_t k = 0; k < sums.size(); ++k)
      if (sums[k]) mine[keys.at(k)] += sums[k];
    std::map<std::string, uint64_t> engine;
    for (const auto& t : r.share)
      if (t.group == group)
        for (const auto& row : t.rows)
          if (row.downloads) engine[std::string(row.key)] += row.downloads;
    CHECK(mine == engine);
  }
  std::system(("rm -rf " + d).c_str());
}
