// Partials (ecostat/partial.hpp): the input split in k parts, each part a partial, merged in any
// order, gives byte for byte the results JSON of one session over all the parts (timings
// aside); the binary form round-trips and refuses damaged bytes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "ecostat/engine.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/host/readers.hpp"
#include "ecostat/host/sample.hpp"
#include "ecostat/job.hpp"
#include "ecostat/partial.hpp"
#include "ecostat/session.hpp"
#include "support/canonical_results.hpp"
#include "support/temp_files.hpp"

using namespace ecostat;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::string sample_text(const std::string& name) {
  auto src = host::open_sample_file(name);
  std::string text;
  char buf[1 << 16];
  for (size_t n; (n = src->read(buf, sizeof buf)) > 0;) text.append(buf, n);
  return text;
}

// The test's whole input: the sample's JSONL repositories, downloads, attribution and
// parameters, plus records that exercise rejects, cycles, placeholders and a count above u32.
struct Corpus {
  std::vector<std::string> repos, downloads, orgs, params;  // records, headers apart
  std::string downloads_header, orgs_header, params_header;
};

Corpus corpus() {
  Corpus c;
  for (const char* f : {"repos_kblab.jsonl", "repos_generated.jsonl"})
    for (auto& l : lines_of(sample_text(f))) c.repos.push_back(l);
  c.repos.push_back(R"({"id":"cyc/a","cardData":{"base_model":"cyc/b"}})");
  c.repos.push_back(R"({"id":"cyc/b","cardData":{"base_model":"cyc/a"}})");
  c.repos.push_back(R"({"id":"self/loop","cardData":{"base_model":"self/loop"}})");
  c.repos.push_back(R"({"id":"orphan/child","cardData":{"base_model":"missing/parent"}})");
  c.repos.push_back(R"({"id":"bad/record","downloads":-4})");
  c.repos.push_back("not json at all");
  for (const char* f : {"downloads.csv", "downloads_generated.csv"}) {
    auto l = lines_of(sample_text(f));
    c.downloads_header = l[0];
    c.downloads.insert(c.downloads.end(), l.begin() + 1, l.end());
  }
  c.downloads.push_back("only/in-downloads,2024-03-02,17");
  c.downloads.push_back("cyc/a,2024-04-02,99999999999");  // above u32: a wide event
  c.downloads.push_back("cyc/b,2024-13-02,5");            // rejected: bad date
  for (const char* f : {"orgs.csv", "orgs_generated.csv"}) {
    auto l = lines_of(sample_text(f));
    c.orgs_header = l[0];
    c.orgs.insert(c.orgs.end(), l.begin() + 1, l.end());
  }
  auto p = lines_of(sample_text("params.csv"));
  c.params_header = p[0];
  c.params.assign(p.begin() + 1, p.end());
  return c;
}

struct PartFiles {
  std::string repos, downloads, orgs, params;
};

// Part i of k takes every k-th record of each role, starting at i (so every part has some of each).
std::vector<PartFiles> write_parts(const Corpus& c, size_t k, const std::string& dir) {
  std::vector<PartFiles> parts(k);
  auto write = [&](const std::vector<std::string>& records, const std::string& header, const char* role,
                   size_t i) {
    std::string text = header.empty() ? "" : header + "\n";
    for (size_t r = i; r < records.size(); r += k) text += records[r] + "\n";
    const std::string path = dir + "/" + role + "-" + std::to_string(i) + "-of-" + std::to_string(k) +
                             (header.empty() ? ".jsonl" : ".csv");
    test::write_file(path, text);
    return path;
  };
  for (size_t i = 0; i < k; ++i) {
    parts[i].repos = write(c.repos, "", "repos", i);
    parts[i].downloads = write(c.downloads, c.downloads_header, "downloads", i);
    parts[i].orgs = write(c.orgs, c.orgs_header, "orgs", i);
    parts[i].params = write(c.params, c.params_header, "params", i);
  }
  return parts;
}

EngineOptions options() {
  EngineOptions o;
  o.backend = "cpu";
  o.threads = 2;
  o.share_limit = 0;
  o.family_limit = 0;
  o.concentration_within = {"author", "country"};
  o.inherit_attribution = true;
  return o;
}

using test::canonical;  // tests/support/canonical_results.hpp

// One session over every part's files, read the way the job driver reads them.
Results one_session(const std::vector<PartFiles>& parts) {
  Session s(options());
  host::RejectLog rejects;
  auto& in = s.input();
  auto add = [&](const char* role, const host::ReadStats& st) {
    in.files.push_back({role, st.file, st.read, st.accepted, st.rejected, st.bytes});
  };
  for (const auto& p : parts) add("orgs", host::read_attribution(*host::open_source(p.orgs), s.attribution(), rejects));
  for (const auto& p : parts) {
    auto st = host::read_repositories(*host::open_source(p.repos), s.repositories(), rejects);
    in.repositories += st.accepted;
    add("repos", st);
  }
  host::DownloadJob job;
  for (const auto& p : parts) {
    auto st = host::read_downloads(*host::open_source(p.downloads), host::DownloadFormat::detect, s.repositories(), rejects,
                                   1000, [&](const EventBatch& b) { s.add_downloads(b); }, {}, {}, job);
    in.download_records += st.accepted;
    add("downloads", st);
  }
  in.duplicate_download_rows = job.duplicate_rows();
  for (const auto& p : parts) add("params", host::read_parameters(*host::open_source(p.params), s.parameters(), rejects));
  in.rejected = rejects.total();
  in.rejected_by_reason = rejects.by_reason();
  for (const auto& r : rejects.first()) in.first_rejects.push_back({r.file, r.line, r.field, r.reason});
  return s.finish();
}

Partial partial_of(const PartFiles& p) {
  JobSpec spec;
  static_cast<EngineOptions&>(spec) = options();
  spec.batch_capacity = 1000;
  spec.repos_path = p.repos;
  spec.downloads_path = p.downloads;
  spec.orgs_path = p.orgs;
  spec.params_path = p.params;
  return run_partial(spec);
}

}  // namespace

TEST_CASE("partial: k parts merged in any order equal one session over all of them", "[partial]") {
  const Corpus c = corpus();
  const std::string dir = test::temp_dir("partial");
  std::mt19937 rng(20261130);
  for (size_t k = 1; k <= 5; ++k) {
    const auto parts = write_parts(c, k, dir);
    const std::string expected = canonical(one_session(parts));
    std::vector<size_t> order(k);
    for (size_t i = 0; i < k; ++i) order[i] = i;
    for (int trial = 0; trial < 3; ++trial) {
      std::vector<Partial> partials;
      for (size_t i : order) partials.push_back(partial_of(parts[i]));
      INFO("k = " << k << ", trial " << trial);
      CHECK(canonical(finish(merge(std::move(partials)), options())) == expected);
      std::shuffle(order.begin(), order.end(), rng);
    }
  }
}

TEST_CASE("partial: the sums and the input accounting survive the merge", "[partial]") {
  const Corpus c = corpus();
  const auto parts = write_parts(c, 3, test::temp_dir("partial-sums"));
  std::vector<Partial> partials;
  uint64_t rejected = 0, read = 0;
  for (const auto& p : parts) {
    partials.push_back(partial_of(p));
    rejected += partials.back().input.rejected;
    for (const auto& f : partials.back().input.files) read += f.read;
  }
  CHECK(rejected >= 3);  // the bad record, the non-JSON line, the bad date
  const Results r = finish(merge(std::move(partials)), options());
  CHECK(r.input.rejected == rejected);
  uint64_t read_after = 0, accepted = 0, rejected_files = 0;
  for (const auto& f : r.input.files) {
    read_after += f.read;
    accepted += f.accepted;
    rejected_files += f.rejected;
  }
  CHECK(read_after == read);
  CHECK(accepted + rejected_files == read);
  CHECK(r.input.files.size() == 12);
  // The wide count arrives exactly: cyc/a's total holds 99999999999.
  const auto& model = *std::find_if(r.share.begin(), r.share.end(), [](const ShareTable& t) { return t.group == "model"; });
  auto row = std::find_if(model.rows.begin(), model.rows.end(), [](const ShareRow& x) { return x.key == "cyc/a"; });
  REQUIRE(row != model.rows.end());
  CHECK(row->downloads == 99999999999ull);
}

TEST_CASE("partial: serialize round-trips and merges like the original", "[partial]") {
  const auto parts = write_parts(corpus(), 2, test::temp_dir("partial-bytes"));
  Partial a = partial_of(parts[0]), b = partial_of(parts[1]);
  const std::string bytes_a = a.serialize(), bytes_b = b.serialize();
  CHECK(Partial::deserialize(bytes_a).serialize() == bytes_a);  // deterministic, lossless
  std::vector<Partial> direct, via_bytes;
  direct.push_back(std::move(a));
  direct.push_back(std::move(b));
  via_bytes.push_back(Partial::deserialize(bytes_b));
  via_bytes.push_back(Partial::deserialize(bytes_a));
  CHECK(canonical(finish(merge(std::move(via_bytes)), options())) ==
        canonical(finish(merge(std::move(direct)), options())));
}

TEST_CASE("partial: an empty session round-trips (every section empty)", "[partial]") {
  Session s(options());
  const std::string bytes = s.to_partial().serialize();
  const Partial back = Partial::deserialize(bytes);
  CHECK(back.repos.size() == 0);
  CHECK(back.unit_month.empty());
  CHECK(back.serialize() == bytes);
  std::vector<Partial> parts;
  parts.push_back(Partial::deserialize(bytes));
  CHECK(finish(merge(std::move(parts)), options()).input.units == 0);
}

TEST_CASE("partial: damaged bytes are an InputError, never a crash", "[partial]") {
  JobSpec spec;  // the embedded sample: a partial with every section filled
  spec.backend = "cpu";
  const std::string bytes = run_partial(spec).serialize();
  CHECK_THROWS_AS(Partial::deserialize(""), InputError);
  CHECK_THROWS_WITH(Partial::deserialize("PK\x03\x04 not a partial"), Catch::Contains("not an ecostat partial"));
  std::string newer = bytes;
  newer[8] = 9;  // format version 9
  CHECK_THROWS_WITH(Partial::deserialize(newer), Catch::Contains("partial format 9"));
  // Every truncation is refused.
  for (size_t n = 0; n < bytes.size(); n += 1 + n / 64) CHECK_THROWS_AS(Partial::deserialize(bytes.substr(0, n)), InputError);
  CHECK_THROWS_AS(Partial::deserialize(bytes + "x"), InputError);
  // Flipped bytes: either refused, or a partial whose ids and sizes are consistent enough to reduce.
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string damaged = bytes;
    damaged[rng() % damaged.size()] ^= static_cast<char>(1 + rng() % 255);
    try {
      Partial p = Partial::deserialize(damaged);
      EngineOptions o;
      o.backend = "cpu";
      (void)finish(std::move(p), o);
    } catch (const Error&) {
      // InputError from deserialize, or an engine error on a consistent but odd state: both fine.
    }
  }
}

TEST_CASE("partial: a merge whose sums pass 2^64-1 is refused", "[partial]") {
  Session a(options()), b(options());
  for (Session* s : {&a, &b}) {
    const uint32_t u = s->repositories().ensure("big/model", true);
    EventBatch batch;
    batch.push_wide(u, month_of(2024, 1), ~uint64_t{0} - 5);
    s->add_downloads(batch);
  }
  std::vector<Partial> parts;
  parts.push_back(a.to_partial());
  parts.push_back(b.to_partial());
  CHECK_THROWS_WITH(merge(std::move(parts)), Catch::Contains("past 2^64-1"));
}

TEST_CASE("session: a spent session and a batch naming unknown units are errors", "[partial]") {
  Session s(options());
  EventBatch batch;
  batch.push(3, month_of(2024, 1), 1);
  CHECK_THROWS_WITH(s.add_downloads(batch), Catch::Contains("only 0 repositories"));
  (void)s.finish();
  CHECK_THROWS_WITH(s.finish(), Catch::Contains("finished"));
}
