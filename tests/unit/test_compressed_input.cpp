// Compressed inputs (gzip, zstd) and binary formats that are not text: detected by their magic
// bytes, decoded as they stream, or refused with a clear InputError (host/src/decompress.cpp,
// DecodedSource in host/src/source.cpp). Fixtures: tests/fixtures/compressed/make.sh.
#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "ecostat/engine.hpp"
#include "ecostat/job.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/host/parquet.hpp"
#include "ecostat/host/readers.hpp"
#include "ecostat/host/source.hpp"
#include "support/trickle_source.hpp"

using namespace ecostat;
using namespace ecostat::host;

namespace {

const std::string kEngine = std::string(ECOSTAT_FIXTURES) + "/engine/";
const std::string kComp = std::string(ECOSTAT_FIXTURES) + "/compressed/";

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

using test::TrickleSource;

std::string decode_all(ByteSource& raw) {
  DecodedSource d(raw);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = d.read(buf, sizeof buf)) > 0) out.append(buf, n);
  return out;
}

// What a download file gives: the stats and every event, in order.
struct DownloadRead {
  ReadStats stats;
  std::vector<uint64_t> events;  // unit << 40 | month << 24 | count
  std::vector<std::string> ids;
  std::vector<std::pair<uint64_t, uint64_t>> progress;
};

DownloadRead read_dl(ByteSource& src) {
  DownloadRead r;
  RepoTable repos;
  RejectLog rejects(false);
  r.stats = read_downloads(
      src, DownloadFormat::detect, repos, rejects, 4,
      [&](const EventBatch& b) {
        for (size_t i = 0; i < b.size(); ++i)
          r.events.push_back(uint64_t{b.unit[i]} << 40 | uint64_t{b.month[i]} << 24 | b.count[i]);
      },
      [&](uint64_t done, uint64_t total) { r.progress.emplace_back(done, total); });
  for (uint32_t u = 0; u < repos.size(); ++u) r.ids.emplace_back(repos.ids.at(u));
  return r;
}

struct RepoRead {
  ReadStats stats;
  RepoTable repos;
  std::vector<Reject> rejects;
};

RepoRead read_repos(ByteSource& src, const ReadOptions& options = {}) {
  RepoRead r;
  RejectLog rejects(false);
  r.stats = read_repositories(src, r.repos, rejects, {}, options);
  r.rejects = rejects.first();
  return r;
}

// The results JSON without what legitimately differs between two runs: timings and names.
nlohmann::json comparable(const Results& r) {
  auto j = nlohmann::json::parse(results_to_json(r));
  std::function<void(nlohmann::json&)> scrub = [&](nlohmann::json& v) {
    if (v.is_object()) {
      for (const char* k : {"timings_ms", "file", "files", "path", "bytes"}) v.erase(k);
      for (auto& [k, x] : v.items()) scrub(x);
    } else if (v.is_array()) {
      for (auto& x : v) scrub(x);
    }
  };
  scrub(j);
  return j;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.file() + ": " + e.reason();
  }
  return "no InputError";
}

}  // namespace

TEST_CASE("compressed: gzip and zstd downloads read exactly as the plain file", "[compressed]") {
  auto plain_src = open_source(kEngine + "downloads.csv");
  const DownloadRead plain = read_dl(*plain_src);
  REQUIRE(plain.stats.read > 0);
  for (const char* name : {"downloads.csv.gz", "downloads.csv.zst", "downloads.multi.csv.gz", "downloads.multi.csv.zst"}) {
    INFO(name);
    auto src = open_source(kComp + name);
    const DownloadRead got = read_dl(*src);
    CHECK(got.stats.read == plain.stats.read);
    CHECK(got.stats.accepted == plain.stats.accepted);
    CHECK(got.stats.rejected == plain.stats.rejected);
    CHECK(got.stats.bytes == plain.stats.bytes);  // decoded bytes
    CHECK(got.events == plain.events);
    CHECK(got.ids == plain.ids);
    // Progress is in compressed bytes, against the compressed size, and ends there.
    REQUIRE_FALSE(got.progress.empty());
    CHECK(got.progress.back().first == slurp(kComp + name).size());
    CHECK(got.progress.back().second == slurp(kComp + name).size());
  }
}

TEST_CASE("compressed: gzip and zstd repositories read exactly as the plain file", "[compressed]") {
  auto plain_src = open_source(kEngine + "repos.jsonl");
  const RepoRead plain = read_repos(*plain_src);
  REQUIRE(plain.stats.accepted > 0);
  for (const char* name : {"repos.jsonl.gz", "repos.jsonl.zst"}) {
    INFO(name);
    auto src = open_source(kComp + name);
    const RepoRead got = read_repos(*src);
    CHECK(got.stats.read == plain.stats.read);
    CHECK(got.stats.accepted == plain.stats.accepted);
    CHECK(got.stats.rejected == plain.stats.rejected);
    REQUIRE(got.repos.size() == plain.repos.size());
    for (uint32_t u = 0; u < plain.repos.size(); ++u) {
      CHECK(got.repos.ids.at(u) == plain.repos.ids.at(u));
      CHECK(got.repos.created_day[u] == plain.repos.created_day[u]);
      CHECK(got.repos.downloads_all_time[u] == plain.repos.downloads_all_time[u]);
    }
    CHECK(got.repos.edges.size() == plain.repos.edges.size());
  }
}

TEST_CASE("compressed: run_job gives the same results from gzip and zstd inputs", "[compressed]") {
  JobSpec j;
  j.repos_path = kEngine + "repos.jsonl";
  j.downloads_path = kEngine + "downloads.csv";
  j.orgs_path = kEngine + "orgs.csv";
  j.backend = "cpu";
  const auto plain = comparable(run_job(j));
  j.repos_path = kComp + "repos.jsonl.gz";
  j.downloads_path = kComp + "downloads.multi.csv.zst";
  CHECK(comparable(run_job(j)) == plain);
  j.repos_path = kComp + "repos.jsonl.zst";
  j.downloads_path = kComp + "downloads.csv.gz";
  CHECK(comparable(run_job(j)) == plain);
}

TEST_CASE("compressed: any chunking of the compressed bytes decodes the same (memory and stdin-like sources)",
          "[compressed]") {
  const std::string want = slurp(kEngine + "downloads.csv");
  for (const char* name : {"downloads.multi.csv.gz", "downloads.multi.csv.zst"}) {
    INFO(name);
    const std::string bytes = slurp(kComp + name);
    auto mem = memory_source("mem", bytes.data(), bytes.size());
    CHECK(decode_all(*mem) == want);
    for (size_t step : {1u, 2u, 3u, 5u, 64u}) {
      TrickleSource t(bytes, step, "trickle.gz");
      CHECK(decode_all(t) == want);
    }
    // The readers take a compressed memory source too.
    auto mem2 = memory_source("<stdin>", bytes.data(), bytes.size());
    CHECK(read_dl(*mem2).stats.accepted > 0);
  }
}

TEST_CASE("compressed: a thousandfold ratio streams in bounded pieces", "[compressed]") {
  for (const char* name : {"big.csv.gz", "big.csv.zst"}) {
    INFO(name);
    const std::string bytes = slurp(kComp + name);
    TrickleSource t(bytes, 4093, "trickle.gz");
    LineReader lines(t, 64);
    std::string_view line;
    bool too_long = false;
    uint64_t n = 0, last_progress = 0;
    bool monotone = true;
    while (lines.next(&line, &too_long)) {
      if (line != "a/m" + std::to_string(n % 10) + ",2024-01-01,1") {
        FAIL("line " << n + 1 << ": " << line);
      }
      ++n;
      monotone = monotone && lines.progress_bytes() >= last_progress;
      last_progress = lines.progress_bytes();
    }
    CHECK(n == 400000);
    CHECK(monotone);
    CHECK(lines.progress_bytes() == bytes.size());
    CHECK(lines.bytes_consumed() == 400000u * 18);
  }
}

TEST_CASE("compressed: corrupt or truncated gzip is an InputError naming the file and the reason", "[compressed]") {
  const std::string gz = slurp(kComp + "downloads.csv.gz");
  // Truncated in the middle of the deflate data, and just before the CRC/length trailer.
  for (size_t keep : {gz.size() / 2, gz.size() - 4, size_t{12}}) {
    INFO(keep);
    const std::string cut = gz.substr(0, keep);
    auto src = memory_source("cut.csv.gz", cut.data(), cut.size());
    const std::string e = error_of([&] { read_dl(*src); });
    CHECK_THAT(e, Catch::StartsWith("cut.csv.gz: gzip: unexpected end of stream at compressed byte " + std::to_string(keep)));
  }
  // A flipped byte in the data: the CRC (or the deflate decoder) catches it.
  std::string bad = gz;
  bad[bad.size() - 12] = static_cast<char>(bad[bad.size() - 12] ^ 0x55);
  auto src = memory_source("bad.csv.gz", bad.data(), bad.size());
  CHECK_THAT(error_of([&] { read_dl(*src); }), Catch::StartsWith("bad.csv.gz: gzip: corrupt data"));
  // Garbage after a complete member is not silently dropped.
  const std::string tail = gz + "garbage";
  auto src2 = memory_source("tail.csv.gz", tail.data(), tail.size());
  CHECK_THAT(error_of([&] { read_dl(*src2); }),
             Catch::Contains("gzip: trailing data that is not a gzip member at compressed byte " + std::to_string(gz.size())));
}

TEST_CASE("compressed: corrupt or truncated zstd is an InputError naming the file and the reason", "[compressed]") {
  const std::string zs = slurp(kComp + "downloads.multi.csv.zst");
  const std::string cut = zs.substr(0, zs.size() - 3);
  auto src = memory_source("cut.csv.zst", cut.data(), cut.size());
  CHECK_THAT(error_of([&] { read_dl(*src); }),
             Catch::StartsWith("cut.csv.zst: zstd: unexpected end of stream at compressed byte " + std::to_string(cut.size())));
  std::string bad = zs;
  bad[6] = static_cast<char>(0xff);  // the first frame's header
  bad[7] = static_cast<char>(0xff);
  auto src2 = memory_source("bad.csv.zst", bad.data(), bad.size());
  CHECK_THAT(error_of([&] { read_dl(*src2); }), Catch::StartsWith("bad.csv.zst: zstd: corrupt data"));
  const std::string tail = zs + "garbage!";
  auto src3 = memory_source("tail.csv.zst", tail.data(), tail.size());
  CHECK_THAT(error_of([&] { read_dl(*src3); }), Catch::StartsWith("tail.csv.zst: zstd: corrupt data"));
}

TEST_CASE("compressed: Parquet, Arrow IPC, zip and other binaries are clear errors, never rejects", "[compressed]") {
  struct Case {
    std::string bytes, says;
  };
  const std::vector<Case> cases = {
      // A text reader never reads Parquet; without Parquet support it says how to build it.
      {std::string("PAR1\x15\x04\x15\x10", 8) + "rest",
       std::string("a Parquet file, not JSON Lines or CSV text: ") +
           (parquet_supported() ? "Parquet is read from a file path given as repositories or downloads" : kParquetNotBuilt)},
      {"ARROW1\0\0rest", "a Arrow IPC file"},
      {std::string("\xff\xff\xff\xff\x10\0\0\0", 8), "a Arrow IPC file"},
      {std::string("PK\x03\x04\x14\0\0\0", 8), "a zip file"},
      {"BZh91AY&SY", "a bzip2 file"},
      {std::string("\xfd" "7zXZ\0\0\x04", 8), "a xz file"},
  };
  for (const auto& c : cases) {
    INFO(c.says);
    auto a = memory_source("in.bin", c.bytes.data(), c.bytes.size());
    CHECK_THAT(error_of([&] { read_dl(*a); }), Catch::StartsWith("in.bin: " + c.says));
    auto b = memory_source("in.bin", c.bytes.data(), c.bytes.size());
    CHECK_THAT(error_of([&] { read_repos(*b); }), Catch::StartsWith("in.bin: " + c.says));
  }
  CHECK(sniff_format("PAR1") == InputFormat::parquet);
  CHECK(sniff_format("\x1f\x8b") == InputFormat::gzip);
  CHECK(sniff_format("{\"id\"") == InputFormat::text);
  CHECK(sniff_format("") == InputFormat::text);
}

TEST_CASE("compressed: a Parquet file given to run_job is a clear error naming it", "[compressed]") {
  const std::string path = "ecostat_test_input.parquet";
  {
    std::ofstream f(path, std::ios::binary);
    f << std::string("PAR1\x15\x04\x15\x10\x15\x14", 10) << "PAR1";
  }
  JobSpec j;
  j.repos_path = path;
  j.backend = "cpu";
  const std::string error = error_of([&] { run_job(j); });
  CHECK_THAT(error, Catch::StartsWith(path + ": ") && Catch::Contains("Parquet"));
  if (!parquet_supported()) CHECK_THAT(error, Catch::Contains(kParquetNotBuilt));
  std::remove(path.c_str());
}
