// Outputs that are always valid and never half-written: invalid UTF-8 in results, atomic and
// checked output files, the rejects file, CSV tables, the version fields.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "ecostat/detail/output_file.hpp"
#include "ecostat/engine.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/host/rejects.hpp"
#include "ecostat/version.hpp"

using namespace ecostat;

namespace {

// A fresh empty directory, removed with its files at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    char buf[] = "/tmp/ecostat-outputs-XXXXXX";
    REQUIRE(::mkdtemp(buf) != nullptr);
    path = buf;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::vector<std::string> entries() const {  // hidden ones included
    std::vector<std::string> names;
    DIR* d = ::opendir(path.c_str());
    while (const dirent* e = ::readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") names.emplace_back(e->d_name);
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }
};

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_plain(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

const std::string kBad = "bad\xff\xc0\x80key";  // an invalid byte and an overlong NUL
const std::string kReplaced = "bad\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDkey";

}  // namespace

TEST_CASE("valid_utf8 keeps well-formed text and replaces each ill-formed sequence", "[outputs][utf8]") {
  CHECK(valid_utf8("plain ascii") == "plain ascii");
  CHECK(valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") == "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  CHECK(valid_utf8(kBad) == kReplaced);
  CHECK(valid_utf8("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate, encoded
  CHECK(valid_utf8("a\xE2\x82") == "a\xEF\xBF\xBD");                            // truncated at the end
  CHECK(valid_utf8("\xF4\x90\x80\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // above U+10FFFF
}

TEST_CASE("A results document with invalid UTF-8 in a key and a reject is valid JSON", "[outputs][utf8]") {
  Results r;
  ShareTable t;
  t.group = "author";
  t.groups = 1;
  t.total = 5;
  t.rows.push_back({kBad, 5, 1.0});
  r.share.push_back(t);
  r.input.first_rejects.push_back({"in.jsonl", 3, "author", "bad text: " + kBad});
  r.input.rejected_by_reason[kBad] = 1;
  std::string doc;
  REQUIRE_NOTHROW(doc = results_to_json(r));
  nlohmann::json j;
  REQUIRE_NOTHROW(j = nlohmann::json::parse(doc));  // throws on invalid UTF-8
  CHECK(j["share"]["author"][0]["key"] == kReplaced);
  CHECK(j["input"]["first_rejects"][0]["reason"] == "bad text: " + kReplaced);
  CHECK(j["input"]["rejected_by_reason"].contains(kReplaced));
}

TEST_CASE("The results document names the ecostat version and commit", "[outputs][version]") {
  const nlohmann::json j = nlohmann::json::parse(results_to_json(Results{}));
  CHECK(j["ecostat_version"] == std::string(version()));
  CHECK(j["commit"] == std::string(commit()));
  CHECK(std::string(version()).find('.') != std::string::npos);
  CHECK_FALSE(std::string(commit()).empty());
}

TEST_CASE("The results say when a device accumulator had to adapt to its memory, and only then", "[outputs]") {
  Results r;
  r.backend.name = "cuda";
  r.backend.device = "NVIDIA H200";
  SECTION("the CPU backend (no report): no memory object, no line") {
    const auto j = nlohmann::json::parse(results_to_json(r));
    CHECK_FALSE(j.at("backend").contains("memory"));
    CHECK(results_to_text(r, 5).find("did not fit") == std::string::npos);
    CHECK(memory_notes(r).empty());
  }
  SECTION("a device accumulator that fitted: the object, no line") {
    r.accumulator = AccumulatorReport{true, false, 1, 8388608, 0};
    const auto j = nlohmann::json::parse(results_to_json(r));
    const auto& m = j.at("backend").at("memory");
    CHECK(m.at("partitioned") == false);
    CHECK(m.at("finish_passes") == 1);
    CHECK(m.at("chunk_events") == 8388608);
    CHECK(m.at("chunk_halvings") == 0);
    const std::string text = results_to_text(r, 5);
    CHECK(text.find("did not fit") == std::string::npos);
    CHECK(text.find("halved") == std::string::npos);
    CHECK(memory_notes(r).empty());
  }
  SECTION("one that ran finish in passes with a halved ring: both said") {
    r.accumulator = AccumulatorReport{true, true, 4, 65536, 7};
    const auto j = nlohmann::json::parse(results_to_json(r));
    CHECK(j.at("backend").at("memory").at("finish_passes") == 4);
    CHECK(j.at("backend").at("memory").at("partitioned") == true);
    CHECK(j.at("backend").at("memory").at("chunk_halvings") == 7);
    const std::string text = results_to_text(r, 5);
    CHECK(text.find("finish ran in 4 passes over unit ranges") != std::string::npos);
    CHECK(text.find("halved 7 times to fit the cuda device, to 65,536 events") != std::string::npos);
    // The same sentences as the CLI's stderr note (note_device_memory prints these).
    const std::vector<std::string> notes = memory_notes(r);
    REQUIRE(notes.size() == 2);
    CHECK(text.find("  " + notes[0] + "\n") != std::string::npos);
    CHECK(text.find("  " + notes[1] + "\n") != std::string::npos);
  }
}

TEST_CASE("OutputFile: the target appears only on commit, complete", "[outputs][atomic]") {
  TempDir d;
  const std::string path = d.path + "/results.json";
  write_plain(path, "previous");
  {
    OutputFile f(path);
    f.write("new ");
    f.write("content");
    CHECK(read_all(path) == "previous");  // not yet
    f.commit();
  }
  CHECK(read_all(path) == "new content");
  CHECK(d.entries() == std::vector<std::string>{"results.json"});  // no temporary left
}

TEST_CASE("OutputFile: a large file written in pieces of every size arrives whole", "[outputs][atomic]") {
  // Past the writeback start (every 8 MiB), through the buffer and around it.
  TempDir d;
  const std::string path = d.path + "/results.json";
  write_plain(path, "previous");
  std::string expected;
  {
    OutputFile f(path);
    uint64_t x = 88172645463325252ull;  // xorshift: piece sizes from 0 to 1 MiB
    while (expected.size() < (size_t(21) << 20)) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      const size_t n = size_t(x % (size_t(1) << (x % 21)));
      const std::string piece(n, char('a' + expected.size() % 26));
      f.write(piece);
      expected += piece;
    }
    f.commit();
  }
  CHECK(read_all(path) == expected);
  CHECK(d.entries() == std::vector<std::string>{"results.json"});
}

TEST_CASE("OutputFile: without commit the previous file stays and the temporary is removed", "[outputs][atomic]") {
  TempDir d;
  const std::string path = d.path + "/results.json";
  write_plain(path, "previous");
  {
    OutputFile f(path);
    f.write(std::string(3 << 20, 'x'));  // past the buffer: bytes reach the temporary
  }
  CHECK(read_all(path) == "previous");
  CHECK(d.entries() == std::vector<std::string>{"results.json"});
}

TEST_CASE("OutputFile: a write error names the path and the OS reason", "[outputs][atomic]") {
  if (::access("/dev/full", W_OK) != 0) {
    WARN("no /dev/full here");
    return;
  }
  try {
    write_file_atomically("/dev/full", "some results\n");
    FAIL("no error for /dev/full");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("/dev/full") && Catch::Contains("No space left on device"));
  }
}

TEST_CASE("OutputFile: a missing directory is an error before anything is written", "[outputs][atomic]") {
  CHECK_THROWS_WITH(check_output_file("/nonexistent-dir/results.json"), Catch::Contains("No such file or directory"));
  CHECK_THROWS_AS(OutputFile("/nonexistent-dir/results.json"), Error);
  CHECK_NOTHROW(check_output_file("-"));
  CHECK_NOTHROW(check_output_file("/dev/null"));
}

TEST_CASE("ensure_output_directory creates the parents, same_file compares inodes", "[outputs]") {
  TempDir d;
  ensure_output_directory(d.path + "/a/b/c");
  struct stat st;
  CHECK(::stat((d.path + "/a/b/c").c_str(), &st) == 0);
  write_plain(d.path + "/x", "1");
  REQUIRE(::link((d.path + "/x").c_str(), (d.path + "/y").c_str()) == 0);
  CHECK(same_file(d.path + "/x", d.path + "/a/../y"));
  CHECK_FALSE(same_file(d.path + "/x", d.path + "/a"));
  CHECK_FALSE(same_file(d.path + "/x", d.path + "/missing"));
}

TEST_CASE("CSV tables: staged, moved into place together, invalid UTF-8 replaced", "[outputs][csv]") {
  TempDir d;
  Results r;
  ShareTable t;
  t.group = "author";
  t.rows.push_back({kBad, 5, 1.0});
  r.share.push_back(t);
  write_results_csv(r, d.path + "/tables");
  const std::string text = read_all(d.path + "/tables/share_author.csv");
  CHECK(text.find(kReplaced + ",5,") != std::string::npos);
  DIR* dir = ::opendir((d.path + "/tables").c_str());
  bool hidden = false;
  while (const dirent* e = ::readdir(dir)) hidden |= (e->d_name[0] == '.' && std::string(e->d_name).size() > 2);
  ::closedir(dir);
  CHECK_FALSE(hidden);  // the staging directory is gone
}

TEST_CASE("RejectLog: the rejects file replaces the previous one only on finish", "[outputs][rejects]") {
  TempDir d;
  const std::string path = d.path + "/rejects.csv";
  write_plain(path, "previous");
  {
    host::RejectLog log(false, path);
    log.add("in.jsonl", 2, "author", "bad text: " + kBad);
    CHECK(read_all(path) == "previous");
  }  // a failed run: no finish
  CHECK(read_all(path) == "previous");
  CHECK(d.entries() == std::vector<std::string>{"rejects.csv"});
  {
    host::RejectLog log(false, path);
    log.add("in.jsonl", 2, "author", "bad text: " + kBad);
    log.finish();
  }
  CHECK(read_all(path) == "file,line,field,reason\nin.jsonl,2,author,bad text: " + kReplaced + "\n");
  CHECK(d.entries() == std::vector<std::string>{"rejects.csv"});
}

TEST_CASE("RejectLog: a write error at finish names the OS reason", "[outputs][rejects]") {
  if (::access("/dev/full", W_OK) != 0) {
    WARN("no /dev/full here");
    return;
  }
  host::RejectLog log(false, "/dev/full");
  log.add("in.csv", 1, "date", "unparseable");
  CHECK_THROWS_WITH(log.finish(), Catch::Contains("No space left on device"));
}
