// The parallel JSON Lines reader of repository records (host/src/repo_reader_parallel.cpp)
// against read_repositories on the same files: the same table (ids in the same order, every
// column, tags, edges), the same rejects and counts, for any thread count and chunk size.
#include <catch2/catch.hpp>

#include <random>
#include <tuple>

#include "ecostat/errors.hpp"
#include "ecostat/host/readers.hpp"
#include "ecostat/host/rejects.hpp"
#include "ecostat/host/sample.hpp"
#include "ecostat/host/source.hpp"
#include "repo_reader_parallel.hpp"
#include "support/temp_files.hpp"

using namespace ecostat;
using namespace ecostat::host;

namespace {

struct Outcome {
  RepoTable table;
  std::vector<std::tuple<std::string, uint64_t, std::string, std::string>> rejects;
  ReadStats stats;
};

Outcome read(const std::string& path, unsigned threads, size_t chunk, bool* taken = nullptr) {
  Outcome o;
  o.table.ensure("dl/only", true);  // a placeholder from an earlier input, filled by a record
  RejectLog rejects;
  ReadOptions opt;
  opt.max_line = 400;
  opt.parallel_min_bytes = 0;
  opt.parallel_chunk_bytes = chunk;
  if (threads == 0) {
    auto src = open_source(path);
    o.stats = read_repositories(*src, o.table, rejects, {}, opt);
  } else {
    const bool ok = detail::read_repositories_parallel(path, o.table, rejects, {}, opt, threads, &o.stats);
    if (taken) *taken = ok;
    REQUIRE((ok || taken));
  }
  for (const auto& r : rejects.first()) o.rejects.emplace_back(r.file, r.line, r.field, r.reason);
  return o;
}

void same(const Outcome& a, const Outcome& b) {
  CHECK(a.table.ids.strings() == b.table.ids.strings());
  CHECK(a.table.authors.strings() == b.table.authors.strings());
  CHECK(a.table.tags.strings() == b.table.tags.strings());
  CHECK(a.table.author == b.table.author);
  CHECK(a.table.kind == b.table.kind);
  CHECK(a.table.created_day == b.table.created_day);
  CHECK(a.table.downloads_30d == b.table.downloads_30d);
  CHECK(a.table.downloads_all_time == b.table.downloads_all_time);
  CHECK(a.table.parameters == b.table.parameters);
  CHECK(a.table.pipeline_tag == b.table.pipeline_tag);
  CHECK(a.table.library == b.table.library);
  CHECK(a.table.tag_offsets == b.table.tag_offsets);
  CHECK(a.table.tag_ids == b.table.tag_ids);
  CHECK(a.table.placeholder == b.table.placeholder);
  CHECK(a.table.in_downloads_only == b.table.in_downloads_only);
  REQUIRE(a.table.edges.size() == b.table.edges.size());
  for (size_t i = 0; i < a.table.edges.size(); ++i) {
    CHECK(a.table.edges[i].child == b.table.edges[i].child);
    CHECK(a.table.edges[i].parent == b.table.edges[i].parent);
  }
  CHECK(a.rejects == b.rejects);
  CHECK(a.stats.read == b.stats.read);
  CHECK(a.stats.accepted == b.stats.accepted);
  CHECK(a.stats.rejected == b.stats.rejected);
  CHECK(a.stats.bytes == b.stats.bytes);
}

std::string sample_text(const std::string& name) {
  auto src = open_sample_file(name);
  std::string text;
  char buf[1 << 16];
  for (size_t n; (n = src->read(buf, sizeof buf)) > 0;) text.append(buf, n);
  return text;
}

}  // namespace

TEST_CASE("parallel repositories: same as read_repositories for any threads and chunk size", "[repos][parallel]") {
  std::string text = "\xEF\xBB\xBF\n  \n";  // a BOM and blank lines before the first record
  text += sample_text("repos_kblab.jsonl") + sample_text("repos_generated.jsonl");
  text += "{\"id\":\"dl/only\",\"downloads\":5,\"tags\":[\"late\",\"x\"]}\r\n";  // fills the placeholder
  text += "{\"id\":\"synth-uni/Uni-BERT-Large\"}\n";                             // a duplicate id
  text += "not json\n\n";
  text += "{\"id\":\"a/b\",\"downloads\":-1}\n";
  text += "{\"id\":\"long/line\",\"x\":\"" + std::string(500, 'x') + "\"}\n";  // over max_line
  text += "{\"id\":\"c/d\",\"cardData\":{\"base_model\":\"new/parent\"}}";     // no final newline
  const std::string path = test::temp_dir("parallel-repos") + "/repos.jsonl";
  test::write_file(path, text);
  const Outcome expected = read(path, 0, 0);
  REQUIRE(expected.stats.read > 100);
  REQUIRE(expected.stats.rejected >= 4);
  for (unsigned threads : {1u, 2u, 3u, 7u})
    for (size_t chunk : {size_t(1), size_t(100), size_t(4096), size_t(1) << 20}) {
      INFO(threads << " threads, chunks of " << chunk << " bytes");
      same(read(path, threads, chunk), expected);
    }
}

TEST_CASE("parallel repositories: other forms are left to read_repositories", "[repos][parallel]") {
  const std::string dir = test::temp_dir("parallel-repos-skip");
  test::write_file(dir + "/array.json", "[{\"id\":\"a/b\"}]\n");
  test::write_file(dir + "/meta.csv", ",model_id,metadata\n0,a/b,\"{\"\"id\"\": \"\"a/b\"\"}\"\n");
  test::write_file(dir + "/blank.jsonl", "\n\n");
  for (unsigned threads : {1u, 2u})
    for (const char* name : {"array.json", "meta.csv", "blank.jsonl"}) {
      INFO(name << ", " << threads << " threads");
      bool taken = true;
      const Outcome o = read(dir + "/" + name, threads, 64, &taken);
      CHECK_FALSE(taken);
      CHECK(o.table.size() == 1);  // untouched: only the placeholder
    }
}

TEST_CASE("parallel repositories: a strict reader stops at the first reject, as one thread does", "[repos][parallel]") {
  std::string text;
  for (int i = 0; i < 3000; ++i) text += "{\"id\":\"org/m" + std::to_string(i) + "\",\"downloads\":1}\n";
  text += "{\"id\":\"org/bad\",\"downloads\":-1}\n";
  for (int i = 0; i < 3000; ++i) text += "{\"id\":\"org/n" + std::to_string(i) + "\",\"downloads\":1}\n";
  const std::string path = test::temp_dir("parallel-repos-strict") + "/repos.jsonl";
  test::write_file(path, text);
  for (unsigned threads : {1u, 2u, 4u}) {
    INFO(threads << " threads");
    RepoTable table;
    RejectLog rejects(true);
    ReadOptions opt;
    opt.parallel_min_bytes = 0;
    opt.parallel_chunk_bytes = 512;
    ReadStats stats;
    std::string what;
    try {
      detail::read_repositories_parallel(path, table, rejects, {}, opt, threads, &stats);
    } catch (const InputError& e) {
      what = e.what();
    }
    CHECK(what.find(":3001") != std::string::npos);  // the file and line of the reject
    CHECK(what.find("downloads") != std::string::npos);
    CHECK(table.size() == 3000);  // the records before it, none after
  }
}
