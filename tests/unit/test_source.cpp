// Byte sources, the line splitter, the reject log and the embedded sample.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ecostat/errors.hpp"
#include "ecostat/host/readers.hpp"
#include "ecostat/host/rejects.hpp"
#include "ecostat/host/sample.hpp"
#include "ecostat/host/source.hpp"
#include "support/trickle_source.hpp"

using namespace ecostat;
using namespace ecostat::host;

namespace {

using test::TrickleSource;

struct Line {
  std::string text;
  bool too_long;
  uint64_t number;
};

std::vector<Line> all_lines(ByteSource& src, size_t max_line = 64u << 20) {
  LineReader r(src, max_line);
  std::vector<Line> out;
  std::string_view v;
  bool tl = false;
  while (r.next(&v, &tl)) out.push_back({std::string(v), tl, r.line_number()});
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("memory_source reads its bytes in pieces and reports its name and size", "[source]") {
  const std::string data = "hello, world";
  auto src = memory_source("mem", data.data(), data.size());
  CHECK(src->name() == "mem");
  CHECK(src->size_hint() == data.size());
  char buf[5];
  std::string got;
  size_t n;
  while ((n = src->read(buf, sizeof buf)) > 0) got.append(buf, n);
  CHECK(got == data);
  CHECK(src->read(buf, sizeof buf) == 0);
}

TEST_CASE("LineReader splits LF and CRLF, keeps empty lines, takes a last line without terminator", "[source]") {
  const std::string data = "a\r\nbb\n\nccc\r\n\r\nlast";
  auto src = memory_source("m", data.data(), data.size());
  auto lines = all_lines(*src);
  REQUIRE(lines.size() == 6);
  CHECK(lines[0].text == "a");
  CHECK(lines[1].text == "bb");
  CHECK(lines[2].text == "");
  CHECK(lines[3].text == "ccc");
  CHECK(lines[4].text == "");
  CHECK(lines[5].text == "last");
  CHECK(lines[5].number == 6);
  for (auto& l : lines) CHECK_FALSE(l.too_long);
}

TEST_CASE("LineReader gives the same lines whatever the chunking", "[source]") {
  std::string data;
  for (int i = 0; i < 200; ++i) data += std::string(static_cast<size_t>(i % 17), 'x') + std::to_string(i) + (i % 3 ? "\n" : "\r\n");
  auto ref_src = memory_source("m", data.data(), data.size());
  const auto ref = all_lines(*ref_src);
  REQUIRE(ref.size() == 200);
  for (size_t step : {1u, 2u, 3u, 7u, 64u}) {
    TrickleSource t(data, step);
    const auto got = all_lines(t);
    REQUIRE(got.size() == ref.size());
    for (size_t i = 0; i < ref.size(); ++i) CHECK(got[i].text == ref[i].text);
  }
}

TEST_CASE("LineReader reports an over-long line once, skips it whole and goes on", "[source]") {
  const std::string big(10u << 20, 'z');  // 10 MiB, over a 1 MiB limit
  const std::string data = "short\n" + big + "\nafter\n" + big;  // the last one has no terminator
  auto src = memory_source("m", data.data(), data.size());
  LineReader r(*src, 1u << 20);
  std::string_view v;
  bool tl = false;
  REQUIRE(r.next(&v, &tl));
  CHECK((v == "short" && !tl));
  REQUIRE(r.next(&v, &tl));
  CHECK(tl);
  CHECK(v.empty());
  CHECK(r.line_number() == 2);
  REQUIRE(r.next(&v, &tl));
  CHECK((v == "after" && !tl));
  CHECK(r.line_number() == 3);
  REQUIRE(r.next(&v, &tl));
  CHECK(tl);
  CHECK(r.line_number() == 4);
  CHECK_FALSE(r.next(&v, &tl));
  CHECK(r.bytes_consumed() == data.size());
}

TEST_CASE("LineReader: a line of exactly max_line bytes is kept, one byte more is too long", "[source]") {
  const std::string data = std::string(100, 'a') + "\r\n" + std::string(101, 'b') + "\n";
  TrickleSource t(data, 9);
  const auto lines = all_lines(t, 100);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].text.size() == 100);
  CHECK_FALSE(lines[0].too_long);
  CHECK(lines[1].too_long);
}

TEST_CASE("open_source reads a file and names a missing path in its error", "[source]") {
  const std::string path = std::string(ECOSTAT_FIXTURES) + "/hostile_downloads.csv";
  auto src = open_source(path);
  CHECK(src->name() == path);
  CHECK(src->size_hint() == slurp(path).size());
  std::string got;
  char buf[7];
  size_t n;
  while ((n = src->read(buf, sizeof buf)) > 0) got.append(buf, n);
  CHECK(got == slurp(path));

  try {
    open_source("/nonexistent/dir/file.csv");
    FAIL("no exception");
  } catch (const InputError& e) {
    CHECK(e.file() == "/nonexistent/dir/file.csv");
    CHECK_THAT(e.reason(), Catch::Contains("No such file or directory"));
  }
  CHECK_THROWS_AS(open_source(ECOSTAT_FIXTURES), InputError);  // a directory
}

TEST_CASE("RejectLog counts by reason, keeps the first ones and writes quoted CSV", "[rejects]") {
  const std::string path = "ecostat_test_rejects.csv";
  {
    RejectLog log(false, path, 2);
    log.add("f.csv", 3, "downloads", "bad count: negative '-1'");
    log.add("f.csv", 4, "date", "unparseable date: 'x'");
    log.add("g, \"quoted\".csv", 5, "", "bad count: not an integer\nsecond line");
    CHECK(log.total() == 3);
    CHECK(log.first().size() == 2);
    CHECK(log.first()[1].line == 4);
    CHECK(log.by_reason().at("bad count") == 2);
    CHECK(log.by_reason().at("unparseable date") == 1);
    log.finish();  // the file appears when the run succeeds
  }
  CHECK(slurp(path) ==
        "file,line,field,reason\n"
        "f.csv,3,downloads,bad count: negative '-1'\n"
        "f.csv,4,date,unparseable date: 'x'\n"
        "\"g, \"\"quoted\"\".csv\",5,,\"bad count: not an integer\nsecond line\"\n");
  std::remove(path.c_str());
}

TEST_CASE("RejectLog in strict mode throws InputError carrying file, line and field", "[rejects]") {
  RejectLog log(true);
  try {
    log.add("in.jsonl", 7, "downloads", "bad count: negative");
    FAIL("no exception");
  } catch (const InputError& e) {
    CHECK(e.file() == "in.jsonl");
    CHECK(e.line() == 7);
    CHECK(e.field() == "downloads");
    CHECK(e.reason() == "bad count: negative");
  }
  CHECK(log.total() == 1);
}

TEST_CASE("RejectLog: an unwritable rejects path is an InputError", "[rejects]") {
  CHECK_THROWS_AS(RejectLog(false, "/nonexistent/dir/rejects.csv"), InputError);
}

TEST_CASE("The embedded sample holds the files of data/sample byte for byte", "[sample]") {
  const auto names = sample_file_names();
  // The study's generated extras (data/README.md) sit beside the real extracts.
  REQUIRE(names == std::vector<std::string>{"downloads.csv", "downloads_generated.csv", "orgs.csv", "orgs_generated.csv",
                                            "params.csv", "repos.csv", "repos_generated.jsonl", "repos_kblab.jsonl"});
  for (const auto& n : names) {
    const EmbeddedFile* f = find_sample_file(n);
    REQUIRE(f != nullptr);
    const std::string disk = slurp(std::string(ECOSTAT_DATA_DIR) + "/sample/" + n);
    CHECK(f->size == disk.size());
    CHECK(std::string(f->data, f->size) == disk);
    CHECK(f->data[f->size] == '\0');
  }
  CHECK(find_sample_file("nope.csv") == nullptr);
  CHECK_THROWS_AS(open_sample_file("nope.csv"), InputError);
  CHECK(open_sample_file("orgs.csv")->name() == "sample:orgs.csv");
}

TEST_CASE("The embedded sample reads without a single reject", "[sample]") {
  // Expected counts from data/make_sample.py's inputs (checked with Python's csv and json):
  // 67 lineage records; 80 KB/KBLab models + 5 KBLab datasets; 2710 + 146 KBLab series rows
  // + 67 lineage snapshot rows; 118 organization_regions rows + 6 hand-written handles.
  // Download sum: 21,080,400 (models) + 197,145 (datasets) + 494,326 (lineage) = 21,771,871.
  RepoTable repos;
  RejectLog rejects;
  const auto& in = sample_inputs();
  // the real extracts first, then the generated study data (data/README.md)
  REQUIRE(in.repositories.size() == 3);
  CHECK(in.repositories[2] == "repos_generated.jsonl");
  CHECK(in.parameters == std::vector<std::string>{"params.csv"});
  auto s1 = open_sample_file(in.repositories[0]);
  auto st1 = read_repositories(*s1, repos, rejects);
  CHECK(st1.accepted == 67);
  auto s2 = open_sample_file(in.repositories[1]);
  auto st2 = read_repositories(*s2, repos, rejects);
  CHECK(st2.accepted == 85);
  uint64_t sum = 0, events = 0;
  auto s3 = open_sample_file(in.downloads.at(0));
  auto st3 = read_downloads(*s3, DownloadFormat::per_period, repos, rejects, 1000, [&](const EventBatch& b) {
    events += b.size();
    for (auto c : b.count) sum += c;
  });
  CHECK(st3.accepted == 2710 + 146 + 67);
  CHECK(sum == 21771871u);
  AttributionTable att;
  auto s4 = open_sample_file(in.attribution.at(0));
  auto st4 = read_attribution(*s4, att, rejects);
  CHECK(st4.accepted == 124);
  CHECK(rejects.total() == 0);
  // Every download record names a repository that has a record: no placeholder appears.
  CHECK(repos.size() == 67 + 85);
  uint64_t placeholders = 0;
  for (auto p : repos.placeholder) placeholders += p;
  CHECK(placeholders == 0);
  // KB and KBLab share one parent organisation.
  const uint32_t kb = att.handles.find("KB"), kblab = att.handles.find("KBLab");
  REQUIRE(kb != kNone);
  REQUIRE(kblab != kNone);
  CHECK(att.organisation[kb] == att.organisation[kblab]);
  CHECK(att.organisations.at(att.organisation[kb]) == "National Library of Sweden");
}

TEST_CASE("The generated part of the embedded sample reads without a reject", "[sample]") {
  RepoTable repos;
  AttributionTable att;
  ParameterTable params;
  RejectLog rejects;
  const auto& in = sample_inputs();
  for (const auto& f : in.repositories) read_repositories(*open_sample_file(f), repos, rejects);
  for (const auto& f : in.attribution) read_attribution(*open_sample_file(f), att, rejects);
  for (const auto& f : in.parameters) CHECK(read_parameters(*open_sample_file(f), params, rejects).accepted > 0);
  uint64_t events = 0;
  for (const auto& f : in.downloads)
    read_downloads(*open_sample_file(f), DownloadFormat::per_period, repos, rejects, 1000,
                   [&](const EventBatch& b) { events += b.size(); });
  CHECK(events > 2710 + 146 + 67);
  CHECK(rejects.total() == 0);
}
