// Slices of one downloads file (ecostat/host/download_ranges.hpp, JobSpec::downloads_slice and
// duplicate_scope, Partial::day_marks): a file cut into k slices, each read by its own job into
// a partial (as the ranks of `mpirun ecostat run` do), merged, gives the results JSON and the
// rejects of one job over the whole file, byte for byte (timings aside): units, sums, duplicate
// rows repeated across slices, the file's own line numbers, the input summary.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <random>

#include "ecostat/errors.hpp"
#include "ecostat/host/download_ranges.hpp"
#include "ecostat/host/parquet.hpp"
#include "ecostat/job.hpp"
#include "ecostat/partial.hpp"
#include "support/canonical_results.hpp"
#include "support/temp_files.hpp"

using namespace ecostat;

namespace {

// Per-period rows over 40 known-looking and 30 other repos, with bad dates and counts, exact
// duplicate rows, the same repo and day again, one-line quoted fields, a quote inside a field,
// blank lines, CRLF and wrong column counts; no record spans lines.
std::string messy_rows(unsigned seed, int rows) {
  std::mt19937 rng(seed);
  std::string s, previous = "org0/m0,2024-01-10,1";
  for (int i = 0; i < rows; ++i) {
    const int kind = int(rng() % 24);
    const std::string repo = rng() % 4 ? "org" + std::to_string(rng() % 5) + "/m" + std::to_string(rng() % 40)
                                       : "new" + std::to_string(rng() % 30) + "/x";
    const std::string date = "2024-0" + std::to_string(1 + rng() % 9) + "-1" + std::to_string(rng() % 10);
    std::string line = repo + "," + date + "," + std::to_string(rng() % 1000);
    if (kind == 0) line = repo + ",2024-13-01,5";
    if (kind == 1) line = repo + "," + date + ",-3";
    if (kind == 2) line = "\"" + repo + "\"," + date + ",7";
    if (kind == 3) line = "";
    if (kind == 4) line += "\r";
    if (kind == 5) line = repo + "," + date;
    if (kind == 6) line = "a\"b," + date + ",5";
    if (kind == 7) line = previous;  // the same row again, perhaps in another slice
    s += line + "\n";
    if (kind > 7) previous = line;
  }
  return s;
}

JobSpec base_spec(const std::string& path) {
  JobSpec spec;
  spec.min_date = "2024-02-01";  // rows before it are rejects, with their line (row) numbers
  spec.backend = "cpu";
  spec.threads = 2;
  spec.share_limit = 0;
  spec.downloads_path = path;
  return spec;
}

using test::canonical;  // tests/support/canonical_results.hpp

struct Outcome {
  std::string json, rejects;
};

Outcome whole(const std::string& path, const std::string& dir) {
  JobSpec spec = base_spec(path);
  spec.rejects_path = dir + "/whole-rejects.csv";
  Outcome o;
  o.json = canonical(run_job(spec));
  o.rejects = test::slurp(spec.rejects_path);
  return o;
}

// The CSV file's slices between the cuts, numbered as the scans count their lines.
std::vector<DownloadSlice> csv_slices(const std::string& path, const std::vector<uint64_t>& cuts) {
  std::vector<uint64_t> bounds{0};
  bounds.insert(bounds.end(), cuts.begin(), cuts.end());
  bounds.push_back(UINT64_MAX);
  std::vector<DownloadSlice> slices;
  uint64_t lines_before = 0;
  for (size_t k = 0; k + 1 < bounds.size(); ++k) {
    slices.push_back(DownloadSlice{bounds[k], bounds[k + 1], lines_before});
    lines_before += host::scan_download_slice(path, bounds[k], bounds[k + 1], 64u << 20).lines;
  }
  return slices;
}

// The file in slices, each its own job and partial, merged in slice order; the slices' file
// summaries added up as `ecostat run` over ranks does (cli/work_plan.cpp).
Outcome sliced(const std::string& path, const std::string& dir, const std::vector<DownloadSlice>& slices) {
  std::vector<Partial> parts;
  std::string rejects = "file,line,field,reason\n";
  for (const DownloadSlice& slice : slices) {
    JobSpec spec = base_spec(path);
    spec.downloads_slice = slice;
    spec.duplicate_scope = "the file";
    spec.rejects_path = dir + "/slice-rejects.csv";
    parts.push_back(run_partial(spec));
    const std::string text = test::slurp(spec.rejects_path);
    rejects += text.substr(text.find('\n') + 1);
  }
  Partial merged = merge(std::move(parts));
  // One file summary, as collapse_slices makes it.
  auto& files = merged.input.files;
  REQUIRE(files.size() == slices.size());
  for (size_t i = 1; i < files.size(); ++i) {
    files[0].read += files[i].read;
    files[0].accepted += files[i].accepted;
    files[0].rejected += files[i].rejected;
    files[0].bytes += files[i].bytes;
  }
  files.resize(1);
  merged.day_marks.clear();
  return {canonical(finish(std::move(merged), base_spec(path))), rejects};
}

}  // namespace

TEST_CASE("download slices: k slices merged equal one job over the whole file", "[downloads][slices]") {
  const std::string dir = test::temp_dir("download-slices");
  struct Case {
    const char* name;
    std::string text;
  };
  const std::string rows = messy_rows(1, 3000);
  const std::vector<Case> cases{
      {"header", "repo,date,downloads\n" + rows},
      {"bom", "\xEF\xBB\xBFrepo,date,downloads\n" + rows},
      {"blank-lines-first", "\n\r\nrepo,date,downloads\n" + rows},
      {"headerless", "org1/m1,2024-01-05,3\n" + messy_rows(2, 2000)},
      {"no-final-newline", "repo,date,downloads\n" + rows + "org2/m2,2024-02-02,9"},
      {"extra-column", "repo,country,date,downloads\n" + [] {
         std::string s;
         for (int i = 0; i < 2000; ++i) s += "org" + std::to_string(i % 7) + "/m" + std::to_string(i % 50) + ",fr,2024-03-1" +
                                             std::to_string(i % 10) + "," + std::to_string(i) + "\n";
         return s;
       }()},
  };
  for (const Case& c : cases) {
    const std::string path = dir + "/" + c.name + ".csv";
    test::write_file(path, c.text);
    const Outcome expected = whole(path, dir);
    for (size_t pieces : {2u, 3u, 7u, 40u}) {
      INFO(c.name << ", " << pieces << " pieces");
      const std::vector<uint64_t> cuts = host::download_cuts(path, host::DownloadFormat::detect, pieces, 0, 64u << 20);
      REQUIRE(cuts.size() >= std::min<size_t>(pieces - 1, 2));
      for (size_t i = 0; i < cuts.size(); ++i) {
        CHECK(c.text[cuts[i] - 1] == '\n');  // each cut starts a line
        if (i > 0) CHECK(cuts[i] > cuts[i - 1]);
      }
      const Outcome got = sliced(path, dir, csv_slices(path, cuts));
      CHECK(got.json == expected.json);
      CHECK(got.rejects == expected.rejects);
    }
  }
  // The repeated rows span slices: without the day marks the merge would count fewer.
  const auto j = nlohmann::json::parse(whole(dir + "/header.csv", dir).json);
  CHECK(j["input"]["duplicate_download_rows"].get<uint64_t>() > 100);
}

TEST_CASE("download slices: files that are not cut, and records spanning lines", "[downloads][slices]") {
  const std::string dir = test::temp_dir("download-slices-not");
  const std::string rows = messy_rows(3, 500);
  auto cuts_of = [&](const std::string& name, const std::string& text, host::DownloadFormat f =
                                                                           host::DownloadFormat::detect) {
    test::write_file(dir + "/" + name, text);
    return host::download_cuts(dir + "/" + name, f, 4, 0, 64u << 20);
  };
  CHECK(cuts_of("plain.csv", "repo,date,downloads\n" + rows).size() == 3);
  CHECK(cuts_of("cumulative.csv", "repo,date,downloads_all_time\n" + rows).empty());
  CHECK(cuts_of("declared-cumulative.csv", "repo,date,downloads\n" + rows, host::DownloadFormat::cumulative).empty());
  CHECK(cuts_of("quoted-header.csv", "\"repo\",date,downloads\n" + rows).empty());
  CHECK(cuts_of("gzip.csv", std::string("\x1f\x8b\x08\x00", 4) + rows).empty());
  CHECK(cuts_of("only-header.csv", "repo,date,downloads\n").empty());
  CHECK(host::download_cuts(dir + "/plain.csv", host::DownloadFormat::detect, 1, 0, 64u << 20).empty());
  CHECK(host::download_cuts(dir + "/plain.csv", host::DownloadFormat::detect, 4, 1u << 20, 64u << 20).empty());
  CHECK_THROWS_AS(host::download_cuts(dir + "/missing.csv", host::DownloadFormat::detect, 4, 0, 64u << 20), InputError);

  // The scan counts line ends and finds a record spanning lines wherever it is; a quote inside a
  // field or a closed quoted field is not one.
  const std::string text = "repo,date,downloads\n" + rows + "\"org1/m\nx\",2024-01-01,5\n" + rows;
  test::write_file(dir + "/spans.csv", text);
  const uint64_t size = text.size();
  const host::SliceScan all = host::scan_download_slice(dir + "/spans.csv", 0, size, 64u << 20);
  CHECK(all.lines == uint64_t(std::count(text.begin(), text.end(), '\n')));
  CHECK(all.record_spans_lines);
  const size_t at = text.find("\"org1/m\n");
  CHECK_FALSE(host::scan_download_slice(dir + "/spans.csv", 0, at, 64u << 20).record_spans_lines);
  CHECK(host::scan_download_slice(dir + "/spans.csv", at, size, 64u << 20).record_spans_lines);
  // Over max_line, a line is not looked at (the readers reject it by its length).
  CHECK_FALSE(host::scan_download_slice(dir + "/spans.csv", at, size, 5).record_spans_lines);
}

TEST_CASE("download slices: day marks round-trip and count pairs both partials named", "[downloads][slices][partial]") {
  const std::string dir = test::temp_dir("download-slices-marks");
  test::write_file(dir + "/a.csv", "repo,date,downloads\nx/a,2024-03-01,1\nx/b,2024-03-02,1\nx/a,2024-05-01,1\n");
  test::write_file(dir + "/b.csv", "repo,date,downloads\nx/c,2024-03-01,1\nx/a,2024-03-01,2\nx/a,2024-05-01,1\n"
                                   "x/b,2025-03-02,1\n");
  auto part = [&](const std::string& file, const std::string& scope) {
    JobSpec spec = base_spec(dir + "/" + file);
    spec.duplicate_scope = scope;
    return run_partial(spec);
  };
  Partial a = part("a.csv", "s");
  REQUIRE(a.day_marks.size() == 1);
  CHECK(a.day_marks[0].unit.size() == 2);
  // Through bytes and back, then merged: x/a on 2024-03-01 and 2024-05-01 were named by both.
  std::vector<Partial> two;
  two.push_back(Partial::deserialize(a.serialize()));
  two.push_back(Partial::deserialize(part("b.csv", "s").serialize()));
  Partial m = merge(std::move(two));
  CHECK(m.input.duplicate_download_rows == 2);
  REQUIRE(m.day_marks.size() == 1);
  CHECK(m.day_marks[0].unit.size() == 3);
  // Different scopes (two files read whole) are not compared.
  std::vector<Partial> apart;
  apart.push_back(part("a.csv", "s1"));
  apart.push_back(part("b.csv", "s2"));
  Partial n = merge(std::move(apart));
  CHECK(n.input.duplicate_download_rows == 0);
  CHECK(n.day_marks.size() == 2);
  // A blob whose marks name a unit outside the partial is refused.
  Partial bad = part("a.csv", "s");
  bad.day_marks[0].unit[0] = 99;
  CHECK_THROWS_AS(Partial::deserialize(bad.serialize()), InputError);
}

TEST_CASE("download slices: Parquet row groups merged equal the whole file", "[downloads][slices][parquet]") {
  const std::string path = std::string(ECOSTAT_FIXTURES) + "/parquet/downloads.parquet";  // 3 row groups of 100
  if (!host::parquet_supported()) {
    WARN("built without Parquet: only the refusal is checked");
    CHECK_THROWS_AS(host::parquet_download_cuts(path, host::DownloadFormat::detect, 3, 0), InputError);
    return;
  }
  const std::string dir = test::temp_dir("download-slices-parquet");
  const Outcome expected = whole(path, dir);
  // The fixture has rejects (rows before min_date) in every row group and rows repeated across them.
  const auto j = nlohmann::json::parse(expected.json);
  REQUIRE(j["input"]["rejected"].get<uint64_t>() > 20);
  REQUIRE(j["input"]["duplicate_download_rows"].get<uint64_t>() > 100);
  CHECK(expected.rejects.find(",205,") != std::string::npos);  // row 205 (2024-01-…), in the last row group
  for (size_t pieces : {2u, 3u, 5u}) {
    INFO(pieces << " pieces");
    const auto cuts = host::parquet_download_cuts(path, host::DownloadFormat::detect, pieces, 0);
    REQUIRE(cuts.size() == std::min<size_t>(pieces, 3) - 1);
    std::vector<DownloadSlice> slices;
    uint64_t begin = 0, rows_before = 0;
    for (const auto& c : cuts) {
      CHECK(c.rows_before == 100 * c.row_group);
      slices.push_back(DownloadSlice{begin, c.row_group, rows_before, true});
      begin = c.row_group;
      rows_before = c.rows_before;
    }
    slices.push_back(DownloadSlice{begin, UINT64_MAX, rows_before, true});
    const Outcome got = sliced(path, dir, slices);
    CHECK(got.json == expected.json);
    CHECK(got.rejects == expected.rejects);
  }
  CHECK(host::parquet_download_cuts(path, host::DownloadFormat::cumulative, 3, 0).empty());
  CHECK(host::parquet_download_cuts(path, host::DownloadFormat::detect, 1, 0).empty());
  CHECK(host::parquet_download_cuts(path, host::DownloadFormat::detect, 3, 1u << 30).empty());
}
