// Repository input forms beyond JSON Lines: a top-level JSON array (the Hub API's response),
// epoch-millisecond dates (pandas' to_json default) and nested fields given as JSON text
// (pandas / CSV round trips). docs/input-formats.md.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ecostat/errors.hpp"
#include "ecostat/host/readers.hpp"
#include "ecostat/host/source.hpp"

using namespace ecostat;
using namespace ecostat::host;

namespace {

struct Read {
  ReadStats stats;
  RepoTable repos;
  std::vector<Reject> rejects;
};

Read read_text(const std::string& text, const ReadOptions& options = {}) {
  Read r;
  RejectLog log(false);
  auto src = memory_source("in.json", text.data(), text.size());
  r.stats = read_repositories(*src, r.repos, log, {}, options);
  r.rejects = log.first();
  return r;
}

uint32_t unit(const Read& r, const std::string& id) { return r.repos.ids.find(id); }

std::vector<std::string> parents_of(const Read& r, const std::string& id) {
  std::vector<std::string> out;
  for (const auto& e : r.repos.edges)
    if (e.child == unit(r, id)) out.emplace_back(r.repos.ids.at(e.parent));
  return out;
}

}  // namespace

TEST_CASE("repo forms: a JSON array of objects reads like the same records as JSON Lines", "[repo_forms]") {
  const std::string lines =
      "{\"id\":\"a/one\",\"downloads\":3,\"tags\":[\"x\"]}\n"
      "{\"id\":\"b/two\",\"downloads\":4,\"cardData\":{\"base_model\":\"a/one\"}}\n";
  const std::string array =
      "\xEF\xBB\xBF  [\n"
      "  {\"id\":\"a/one\",\"downloads\":3,\"tags\":[\"x\"]},\n"
      "  {\"id\":\"b/two\",\"downloads\":4,\"cardData\":{\"base_model\":\"a/one\"}}\n"
      "]\n";
  const Read a = read_text(lines), b = read_text(array);
  REQUIRE(b.stats.accepted == 2);
  CHECK(b.stats.read == 2);
  CHECK(b.stats.rejected == 0);
  REQUIRE(a.repos.size() == b.repos.size());
  for (uint32_t u = 0; u < a.repos.size(); ++u) {
    CHECK(a.repos.ids.at(u) == b.repos.ids.at(u));
    CHECK(a.repos.downloads_30d[u] == b.repos.downloads_30d[u]);
  }
  CHECK(parents_of(b, "b/two") == std::vector<std::string>{"a/one"});
}

TEST_CASE("repo forms: braces, brackets, commas and escaped quotes inside strings do not cut an element",
          "[repo_forms]") {
  const std::string array =
      "[{\"id\":\"a/one\",\"author\":\"x}]{[,\\\"\\\\\",\"downloads\":1},"
      "{\"id\":\"a/two\",\"cardData\":{\"nested\":[{\"k\":\"]\"},[1,2]]},\"downloads\":2}]";
  const Read r = read_text(array);
  CHECK(r.stats.read == 2);
  CHECK(r.stats.accepted == 2);
  REQUIRE(unit(r, "a/one") != kNone);
  CHECK(r.repos.authors.at(r.repos.author[unit(r, "a/one")]) == "x}]{[,\"\\");
  CHECK(r.repos.downloads_30d[unit(r, "a/two")] == 2);
}

TEST_CASE("repo forms: a bad array element is a reject at the line where it starts, the rest is read",
          "[repo_forms]") {
  const std::string array =
      "[\n"
      "{\"id\":\"a/one\"},\n"     // line 2
      "{\"id\": 5},\n"            // line 3: wrong type
      "{\"id\":\"a/three\",\n"    // line 4: invalid JSON spanning two lines
      " \"downloads\": -}\n"
      ", 17,\n"                   // line 6: not an object
      "{\"id\":\"a/seven\"}]\n";  // line 7
  const Read r = read_text(array);
  CHECK(r.stats.read == 5);
  CHECK(r.stats.accepted == 2);
  REQUIRE(r.rejects.size() == 3);
  CHECK(r.rejects[0].line == 3);
  CHECK(r.rejects[0].field == "id");
  CHECK(r.rejects[1].line == 4);
  CHECK_THAT(r.rejects[1].reason, Catch::StartsWith("invalid JSON"));
  CHECK(r.rejects[2].line == 6);
  CHECK_THAT(r.rejects[2].reason, Catch::Contains("not a JSON object"));
  CHECK(unit(r, "a/seven") != kNone);
}

TEST_CASE("repo forms: a truncated array is a reject saying so, never silently short", "[repo_forms]") {
  // Inside an element.
  Read r = read_text("[{\"id\":\"a/one\"},\n{\"id\":\"a/tw");
  CHECK(r.stats.accepted == 1);
  REQUIRE(r.rejects.size() == 1);
  CHECK(r.rejects[0].line == 2);
  CHECK_THAT(r.rejects[0].reason, Catch::StartsWith("truncated JSON array"));
  // Between elements: every element is whole but the closing ']' is missing.
  r = read_text("[{\"id\":\"a/one\"},{\"id\":\"a/two\"}");
  CHECK(r.stats.accepted == 1);  // the last element has no ',' or ']' after it: it may be cut
  REQUIRE(r.rejects.size() == 1);
  CHECK_THAT(r.rejects[0].reason, Catch::StartsWith("truncated JSON array"));
  r = read_text("[{\"id\":\"a/one\"},\n\n");
  CHECK(r.stats.accepted == 1);
  REQUIRE(r.rejects.size() == 1);
  CHECK(r.rejects[0].line == 3);
  // A stray comma and text after the array.
  r = read_text("[{\"id\":\"a/one\"},,{\"id\":\"a/two\"}] x");
  CHECK(r.stats.accepted == 2);
  REQUIRE(r.rejects.size() == 2);
  CHECK_THAT(r.rejects[0].reason, Catch::Contains("empty array element"));
  CHECK_THAT(r.rejects[1].reason, Catch::Contains("after the array"));
  // Empty arrays and two appended pages.
  r = read_text(" [ ] ");
  CHECK(r.stats.read == 0);
  r = read_text("[{\"id\":\"a/one\"}]\n[{\"id\":\"a/two\"}]\n");
  CHECK(r.stats.accepted == 2);
  CHECK(r.rejects.empty());
}

TEST_CASE("repo forms: an array element over the size limit is rejected whole", "[repo_forms]") {
  ReadOptions o;
  o.max_line = 100;
  const std::string big = "{\"id\":\"a/big\",\"author\":\"" + std::string(500, 'z') + "\"}";
  const Read r = read_text("[" + big + ",{\"id\":\"a/small\"}]", o);
  CHECK(r.stats.read == 2);
  CHECK(r.stats.accepted == 1);
  REQUIRE(r.rejects.size() == 1);
  CHECK_THAT(r.rejects[0].reason, Catch::Contains("too long"));
  CHECK(unit(r, "a/small") != kNone);
}

TEST_CASE("repo forms: createdAt as epoch milliseconds, a number or a string of digits", "[repo_forms]") {
  // 1704449400000 ms = 2024-01-05T10:10:00Z; 2024-01-05 is day 19727.
  const Read r = read_text(
      "{\"id\":\"a/iso\",\"createdAt\":\"2024-01-05T10:00:00.000Z\"}\n"
      "{\"id\":\"a/ms\",\"createdAt\":1704449400000}\n"
      "{\"id\":\"a/mstext\",\"created_at\":\"1704449400000\"}\n"
      "{\"id\":\"a/msfloat\",\"createdAt\":1704449400000.0}\n"
      "{\"id\":\"a/midnight\",\"createdAt\":1704412800000}\n"   // 2024-01-05T00:00:00Z
      "{\"id\":\"a/before\",\"createdAt\":1704412799999}\n"     // one ms earlier: 2024-01-04
      "{\"id\":\"a/seconds\",\"createdAt\":1704449400}\n"       // seconds: read as ms, 1970-01-20
      "{\"id\":\"a/bool\",\"createdAt\":true}\n");
  for (const char* id : {"a/iso", "a/ms", "a/mstext", "a/msfloat", "a/midnight"}) {
    INFO(id);
    REQUIRE(unit(r, id) != kNone);
    CHECK(r.repos.created_day[unit(r, id)] == 19727);
  }
  REQUIRE(unit(r, "a/before") != kNone);
  CHECK(r.repos.created_day[unit(r, "a/before")] == 19726);
  REQUIRE(r.rejects.size() == 2);
  CHECK(r.rejects[0].line == 7);
  CHECK(r.rejects[0].field == "createdAt");
  CHECK_THAT(r.rejects[0].reason, Catch::Contains("read as epoch milliseconds: 1970-01-20"));
  CHECK_THAT(r.rejects[1].reason, Catch::Contains("expected a date string or epoch milliseconds"));
}

TEST_CASE("repo forms: nested fields given as JSON text are parsed, bad text is a reject naming the field",
          "[repo_forms]") {
  const Read r = read_text(
      "{\"id\":\"p/base\"}\n"
      "{\"id\":\"a/st\",\"safetensors\":\"{\\\"total\\\": 7000}\"}\n"
      "{\"id\":\"a/bm\",\"baseModels\":\"{\\\"relation\\\":\\\"quantized\\\",\\\"models\\\":[{\\\"id\\\":\\\"p/base\\\"}]}\"}\n"
      "{\"id\":\"a/card\",\"cardData\":\"{\\\"base_model\\\": \\\"p/base\\\"}\"}\n"
      "{\"id\":\"a/tags\",\"tags\":\"[\\\"t\\\\/1\\\", \\\"t2\\\"]\"}\n"
      "{\"id\":\"a/empty\",\"safetensors\":\"\",\"baseModels\":\"null\"}\n"
      "{\"id\":\"a/badst\",\"safetensors\":\"{total: 7}\"}\n"
      "{\"id\":\"a/badbm\",\"baseModels\":\"[{\\\"models\\\": [\"}\n"
      "{\"id\":\"a/badcard\",\"cardData\":\"{not json\"}\n"
      "{\"id\":\"a/stlist\",\"safetensors\":\"[1]\"}\n");
  REQUIRE(unit(r, "a/st") != kNone);
  CHECK(r.repos.parameters[unit(r, "a/st")] == 7000);
  CHECK(parents_of(r, "a/bm") == std::vector<std::string>{"p/base"});
  REQUIRE(r.repos.edges.size() >= 1);
  CHECK(parents_of(r, "a/card") == std::vector<std::string>{"p/base"});
  REQUIRE(unit(r, "a/tags") != kNone);
  const uint32_t t = unit(r, "a/tags");
  REQUIRE(r.repos.tag_offsets[t + 1] - r.repos.tag_offsets[t] == 2);
  CHECK(r.repos.tags.at(r.repos.tag_ids[r.repos.tag_offsets[t]]) == "t/1");
  CHECK(unit(r, "a/empty") != kNone);
  REQUIRE(r.rejects.size() == 4);
  CHECK(r.rejects[0].field == "safetensors");
  CHECK_THAT(r.rejects[0].reason, Catch::StartsWith("invalid JSON text"));
  CHECK(r.rejects[1].field == "baseModels");
  CHECK_THAT(r.rejects[1].reason, Catch::StartsWith("invalid JSON text"));
  CHECK(r.rejects[2].field == "cardData");
  CHECK(r.rejects[3].field == "safetensors");
  CHECK_THAT(r.rejects[3].reason, Catch::Contains("expected an object"));
}

TEST_CASE("repo forms: a gzip or zstd JSON array reads as the plain JSON Lines", "[repo_forms]") {
  const std::string dir = std::string(ECOSTAT_FIXTURES);
  auto plain_src = open_source(dir + "/engine/repos.jsonl");
  RepoTable plain;
  RejectLog plain_log(false);
  const ReadStats ps = read_repositories(*plain_src, plain, plain_log);
  REQUIRE(ps.accepted > 0);
  for (const char* name : {"repos.array.json.gz", "repos.array.json.zst"}) {
    INFO(name);
    auto src = open_source(dir + "/compressed/" + name);
    RepoTable repos;
    RejectLog log(false);
    const ReadStats s = read_repositories(*src, repos, log);
    CHECK(s.read == ps.read);
    CHECK(s.accepted == ps.accepted);
    CHECK(s.rejected == ps.rejected);
    REQUIRE(repos.size() == plain.size());
    for (uint32_t u = 0; u < plain.size(); ++u) {
      CHECK(repos.ids.at(u) == plain.ids.at(u));
      CHECK(repos.created_day[u] == plain.created_day[u]);
      CHECK(repos.parameters[u] == plain.parameters[u]);
    }
    CHECK(repos.edges.size() == plain.edges.size());
  }
}
