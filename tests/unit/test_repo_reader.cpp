// Repository records: JSON Lines (camelCase / snake_case), the CSV `metadata` form, base
// models from three sources, placeholders and every reject rule.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ecostat/errors.hpp"
#include "ecostat/host/readers.hpp"
#include <nlohmann/json.hpp>

using namespace ecostat;
using namespace ecostat::host;

namespace {

ReadStats read_text(const std::string& text, RepoTable& repos, RejectLog& rejects, const ReadOptions& opt = {}) {
  auto src = memory_source("mem.jsonl", text.data(), text.size());
  return read_repositories(*src, repos, rejects, {}, opt);
}

uint32_t unit(const RepoTable& t, const std::string& id) {
  const uint32_t u = t.ids.find(id);
  REQUIRE(u != kNone);
  return u;
}

std::vector<std::string> tags_of(const RepoTable& t, uint32_t u) {
  std::vector<std::string> out;
  for (uint32_t i = t.tag_offsets[u]; i < t.tag_offsets[u + 1]; ++i) out.emplace_back(t.tags.at(t.tag_ids[i]));
  return out;
}

struct Parent {
  std::string id;
  Relation rel;
  bool operator==(const Parent& o) const { return id == o.id && rel == o.rel; }
};

// Parents of a child in listed order (checks that `order` runs 0, 1, 2, ...).
std::vector<Parent> parents_of(const RepoTable& t, const std::string& child) {
  const uint32_t c = unit(t, child);
  std::vector<Parent> out;
  for (const auto& e : t.edges) {
    if (e.child != c) continue;
    CHECK(e.order == out.size());
    out.push_back({std::string(t.ids.at(e.parent)), e.relation});
  }
  return out;
}

void check_reconciles(const ReadStats& s) { CHECK(s.accepted + s.rejected == s.read); }

}  // namespace

namespace Catch {
template <>
struct StringMaker<Parent> {
  static std::string convert(const Parent& p) { return p.id + ":" + relation_name(p.rel); }
};
}  // namespace Catch

TEST_CASE("camelCase and snake_case records give the same row", "[repo_reader]") {
  const std::string camel =
      R"({"id": "Org/model-a", "author": "Org", "repoType": "dataset", "createdAt": "2024-05-06T10:00:00.000Z",)"
      R"( "likes": 3, "downloads": 10, "downloadsAllTime": 100, "pipelineTag": "text-generation",)"
      R"( "libraryName": "transformers", "tags": ["x", "y", "x"], "safetensors": {"parameters": {"BF16": 7}, "total": 7}})";
  const std::string snake =
      R"({"modelId": "Org/model-a", "author": "Org", "type": "dataset", "created_at": "2024-05-06 10:00:00+00:00",)"
      R"( "likes": 3, "downloads": 10, "downloads_all_time": 100, "pipeline_tag": "text-generation",)"
      R"( "library_name": "transformers", "tags": ["x", "y"], "safetensors": {"total": 7}})";
  for (const auto& text : {camel, snake}) {
    RepoTable t;
    RejectLog rj;
    const auto s = read_text(text + "\n", t, rj);
    REQUIRE(s.accepted == 1);
    CHECK(s.read == 1);
    const uint32_t u = unit(t, "Org/model-a");
    CHECK(t.authors.at(t.author[u]) == "Org");
    CHECK(t.kind[u] == RepoKind::dataset);
    CHECK(t.created_day[u] == days_from_civil(2024, 5, 6));
    CHECK(t.likes[u] == 3);
    CHECK(t.downloads_30d[u] == 10);
    CHECK(t.downloads_all_time[u] == 100);
    CHECK(t.has_all_time[u] == 1);
    CHECK(t.parameters[u] == 7);
    CHECK(t.pipeline_tags.at(t.pipeline_tag[u]) == "text-generation");
    CHECK(t.libraries.at(t.library[u]) == "transformers");
    CHECK(tags_of(t, u) == std::vector<std::string>{"x", "y"});  // a repeated tag counts once
    CHECK(t.placeholder[u] == 0);
    CHECK(t.edges.empty());
  }
}

TEST_CASE("Defaults: kind model, author from the id prefix, nulls are absent", "[repo_reader]") {
  RepoTable t;
  RejectLog rj;
  const auto s = read_text(
      "{\"id\": \"acme/m\", \"downloadsAllTime\": null, \"author\": null, \"pipeline_tag\": null, \"likes\": null}\n"
      "{\"id\": \"gpt2\"}\n",
      t, rj);
  REQUIRE(s.accepted == 2);
  const uint32_t a = unit(t, "acme/m"), b = unit(t, "gpt2");
  CHECK(t.kind[a] == RepoKind::model);
  CHECK(t.authors.at(t.author[a]) == "acme");
  CHECK(t.author[b] == kNone);  // no author and no prefix
  CHECK(t.has_all_time[a] == 0);
  CHECK(t.pipeline_tag[a] == kNone);
  CHECK(t.library[a] == kNone);
  CHECK(t.created_day[a] == kNoDay);
  CHECK(t.parameters[a] == 0);
  CHECK(t.likes[a] == 0);
}

TEST_CASE("Tags given as a Python-repr string are parsed", "[repo_reader]") {
  RepoTable t;
  RejectLog rj;
  const auto s = read_text(
      R"({"id": "o/m", "tags": "['vllm', 'safetensors', \"it's\", 'base_model:finetune:o/base', 'caf\\xe9']"})"
      "\n",
      t, rj);
  REQUIRE(s.accepted == 1);
  CHECK(tags_of(t, unit(t, "o/m")) ==
        std::vector<std::string>{"vllm", "safetensors", "it's", "base_model:finetune:o/base", "caf\xc3\xa9"});
  CHECK(parents_of(t, "o/m") == std::vector<Parent>{{"o/base", Relation::finetune}});
}

TEST_CASE("Base models from tags: both forms of one parent make one edge with the relation", "[repo_reader]") {
  RepoTable t;
  RejectLog rj;
  read_text(
      R"({"id": "c/merged", "tags": ["base_model:a/one", "base_model:b/two", "base_model:merge:a/one", "base_model:merge:b/two"]})"
      "\n"
      R"({"id": "c/quant", "tags": ["base_model:quantized:a/one", "base_model:a/one"]})"
      "\n"
      R"({"id": "c/plain", "tags": ["base_model:a/one"]})"
      "\n"
      R"({"id": "c/odd", "tags": ["base_model:distillation:a/one"]})"
      "\n",
      t, rj);
  CHECK(rj.total() == 0);
  CHECK(parents_of(t, "c/merged") == std::vector<Parent>{{"a/one", Relation::merge}, {"b/two", Relation::merge}});
  CHECK(parents_of(t, "c/quant") == std::vector<Parent>{{"a/one", Relation::quantized}});
  CHECK(parents_of(t, "c/plain") == std::vector<Parent>{{"a/one", Relation::unknown}});
  CHECK(parents_of(t, "c/odd") == std::vector<Parent>{{"a/one", Relation::unknown}});
  CHECK(t.edges.size() == 5);
}

TEST_CASE("Base models from baseModels: an object or a list of objects", "[repo_reader]") {
  RepoTable t;
  RejectLog rj;
  read_text(
      R"({"id": "c/lora", "baseModels": {"relation": "adapter", "models": [{"id": "a/one"}]}})"
      "\n"
      R"({"id": "c/multi", "baseModels": [{"relation": "merge", "models": [{"id": "a/one"}, {"id": "b/two"}]},)"
      R"( {"relation": "quantized", "models": ["d/three"]}]})"
      "\n"
      // baseModels decides the parents; a tag only supplies a missing relation.
      R"({"id": "c/mixed", "baseModels": {"models": [{"id": "a/one"}]}, "tags": ["base_model:finetune:a/one", "base_model:x/ignored"]})"
      "\n",
      t, rj);
  CHECK(rj.total() == 0);
  CHECK(parents_of(t, "c/lora") == std::vector<Parent>{{"a/one", Relation::adapter}});
  CHECK(parents_of(t, "c/multi") ==
        std::vector<Parent>{{"a/one", Relation::merge}, {"b/two", Relation::merge}, {"d/three", Relation::quantized}});
  CHECK(parents_of(t, "c/mixed") == std::vector<Parent>{{"a/one", Relation::finetune}});
  CHECK(t.ids.find("x/ignored") == kNone);
}

TEST_CASE("Base models from card_data: JSON object or YAML text", "[repo_reader]") {
  RepoTable t;
  RejectLog rj;
  read_text(
      R"({"id": "c/obj", "card_data": {"base_model": ["a/one", "b/two"], "base_model_relation": "merge"}})"
      "\n"
      R"({"id": "c/objstr", "cardData": {"base_model": "https://huggingface.co/a/one"}})"
      "\n"
      R"({"id": "c/yaml-block", "card_data": "language:\n- en\nbase_model:\n- a/one\n  # a comment\n- 'b/two'\ndatasets:\n- x/y\n"})"
      "\n"
      R"({"id": "c/yaml-scalar", "card_data": "---\nlicense: mit\nbase_model: \"a/one\"  \nbase_model_relation: adapter\n---\n"})"
      "\n"
      R"({"id": "c/yaml-flow", "cardData": "base_model: [a/one, 'b/two', \"d/three\"]\nlicense: mit"})"
      "\n"
      R"({"id": "c/yaml-null", "card_data": "base_model: null\ntags:\n- base_model: nested/ignored\n"})"
      "\n"
      R"({"id": "c/yaml-freetext", "card_data": "base_model: Llama 2 (the 7B one)\n"})"
      "\n",
      t, rj);
  CHECK(rj.total() == 0);
  CHECK(parents_of(t, "c/obj") == std::vector<Parent>{{"a/one", Relation::merge}, {"b/two", Relation::merge}});
  CHECK(parents_of(t, "c/objstr") == std::vector<Parent>{{"a/one", Relation::unknown}});
  CHECK(parents_of(t, "c/yaml-block") == std::vector<Parent>{{"a/one", Relation::unknown}, {"b/two", Relation::unknown}});
  CHECK(parents_of(t, "c/yaml-scalar") == std::vector<Parent>{{"a/one", Relation::adapter}});
  CHECK(parents_of(t, "c/yaml-flow") ==
        std::vector<Parent>{{"a/one", Relation::unknown}, {"b/two", Relation::unknown}, {"d/three", Relation::unknown}});
  CHECK(parents_of(t, "c/yaml-null").empty());
  CHECK(parents_of(t, "c/yaml-freetext").empty());  // free text with blanks is not an id
}

TEST_CASE("Tags take precedence over the card, the card supplies a missing relation", "[repo_reader]") {
  RepoTable t;
  RejectLog rj;
  read_text(
      // As in the real lineage extract: the card lists two parents, the Hub resolved one.
      R"({"id": "c/one", "tags": ["base_model:b/two"], "card_data": "base_model:\n- a/one\n- b/two\nbase_model_relation: finetune\n"})"
      "\n",
      t, rj);
  CHECK(parents_of(t, "c/one") == std::vector<Parent>{{"b/two", Relation::finetune}});
  CHECK(t.ids.find("a/one") == kNone);
}

TEST_CASE("Unknown parents become placeholders - a later record fills one in, tags and all", "[repo_reader]") {
  RepoTable t;
  RejectLog rj;
  const auto s = read_text(
      R"({"id": "kid/a", "tags": ["t1", "base_model:adapter:mom/base"]})"
      "\n"
      R"({"id": "kid/b", "tags": ["t2"], "baseModels": {"relation": "merge", "models": [{"id": "mom/base"}, {"id": "dad/base"}]}})"
      "\n"
      R"({"id": "mom/base", "tags": ["t3", "t1"], "downloads": 42})"
      "\n"
      R"({"id": "kid/c", "tags": ["t4"]})"
      "\n",
      t, rj);
  REQUIRE(s.accepted == 4);
  // Rows in order of first appearance: kid/a, mom/base (placeholder), kid/b, dad/base, kid/c.
  REQUIRE(t.size() == 5);
  CHECK(t.ids.at(1) == "mom/base");
  CHECK(t.ids.at(3) == "dad/base");
  const uint32_t mom = unit(t, "mom/base"), dad = unit(t, "dad/base");
  CHECK(t.placeholder[mom] == 0);  // filled by its record
  CHECK(t.downloads_30d[mom] == 42);
  CHECK(t.placeholder[dad] == 1);
  CHECK(t.in_downloads_only[dad] == 0);
  CHECK(t.authors.at(t.author[dad]) == "dad");
  REQUIRE(t.tag_offsets.size() == t.size() + 1);
  CHECK(tags_of(t, unit(t, "kid/a")) == std::vector<std::string>{"t1", "base_model:adapter:mom/base"});
  CHECK(tags_of(t, mom) == std::vector<std::string>{"t3", "t1"});
  CHECK(tags_of(t, unit(t, "kid/b")) == std::vector<std::string>{"t2"});
  CHECK(tags_of(t, dad).empty());
  CHECK(tags_of(t, unit(t, "kid/c")) == std::vector<std::string>{"t4"});
  CHECK(parents_of(t, "kid/b") == std::vector<Parent>{{"mom/base", Relation::merge}, {"dad/base", Relation::merge}});
}

TEST_CASE("A self-reference is kept as an edge (the lineage builder reports it)", "[repo_reader]") {
  RepoTable t;
  RejectLog rj;
  read_text(R"({"id": "me/m", "tags": ["base_model:me/m"]})" "\n", t, rj);
  REQUIRE(t.edges.size() == 1);
  CHECK(t.edges[0].child == t.edges[0].parent);
  CHECK(t.size() == 1);
}

TEST_CASE("Duplicate ids: the first record wins, the second is rejected", "[repo_reader]") {
  RepoTable t;
  RejectLog rj;
  const auto s = read_text("{\"id\": \"o/m\", \"downloads\": 1}\n{\"id\": \"o/m\", \"downloads\": 2}\n", t, rj);
  CHECK(s.accepted == 1);
  CHECK(s.rejected == 1);
  CHECK(t.downloads_30d[unit(t, "o/m")] == 1);
  REQUIRE(rj.first().size() == 1);
  CHECK(rj.first()[0].line == 2);
  CHECK(rj.first()[0].field == "id");
  CHECK(rj.by_reason().at("duplicate id") == 1);
}

TEST_CASE("Hostile JSON Lines: every line is counted or rejected with its reason", "[repo_reader]") {
  // tests/fixtures/hostile_repos.jsonl, written by tests/fixtures/make_hostile.py (which lists
  // what each line is): 24 lines, 2 of them blank, 5 good records and 17 bad ones.
  auto src = open_source(std::string(ECOSTAT_FIXTURES) + "/hostile_repos.jsonl");
  RepoTable t;
  RejectLog rj;
  const auto s = read_repositories(*src, t, rj);
  CHECK(s.read == 22);
  CHECK(s.accepted == 5);
  CHECK(s.rejected == 17);
  check_reconciles(s);
  CHECK(rj.total() == 17);
  CHECK(t.size() == 5);
  CHECK(t.ids.find("good/bom-mid") != kNone);  // a BOM starting a line is skipped by the JSON parser
  CHECK(t.downloads_30d[unit(t, "good/max")] == 18446744073709551609ull);  // the sum is exactly 2^64-1
  CHECK(t.downloads_30d[unit(t, "good/one")] == 5);
  CHECK(t.downloads_30d[unit(t, "good/last")] == 1);
  std::map<uint64_t, std::pair<std::string, std::string>> by_line;
  for (const auto& r : rj.first()) by_line[r.line] = {r.field, r.reason};
  CHECK_THAT(by_line[2].second, Catch::StartsWith("invalid JSON"));
  CHECK(by_line[3].second == "NUL byte in line");
  CHECK(by_line[6] == std::make_pair(std::string("downloads"), std::string("bad count: overflows 64 bits")));
  CHECK_THAT(by_line[7].second, Catch::StartsWith("invalid JSON"));
  CHECK_THAT(by_line[9].second, Catch::StartsWith("not a JSON object"));
  CHECK_THAT(by_line[10].second, Catch::StartsWith("not a JSON object"));
  CHECK(by_line[11].first == "id");
  CHECK_THAT(by_line[11].second, Catch::StartsWith("wrong type"));
  CHECK(by_line[12] == std::make_pair(std::string("id"), std::string("empty id")));
  CHECK(by_line[13] == std::make_pair(std::string("id"), std::string("missing id")));
  CHECK_THAT(by_line[14].second, Catch::StartsWith("duplicate id"));
  CHECK(by_line[15] == std::make_pair(std::string("downloads"), std::string("bad count: negative")));
  CHECK(by_line[16].first == "downloads");
  CHECK_THAT(by_line[16].second, Catch::StartsWith("bad count: wrong type: string"));
  CHECK(by_line[17].first == "createdAt");
  CHECK_THAT(by_line[17].second, Catch::StartsWith("unparseable date"));
  CHECK(by_line[18].first == "repoType");
  CHECK_THAT(by_line[18].second, Catch::StartsWith("unknown repository kind"));
  CHECK(by_line[19].first == "tags");
  CHECK(by_line[20] == std::make_pair(std::string("tags"), std::string("unparseable tag list")));
  CHECK(by_line[23] == std::make_pair(std::string("likes"), std::string("bad count: not an integer")));
  CHECK(by_line.count(1) == 0);
  CHECK(by_line.count(21) == 0);
  CHECK(by_line.count(22) == 0);
  CHECK(by_line.count(24) == 0);
}

TEST_CASE("Repository reader edge inputs: empty, blank-only, a UTF-8 BOM, an over-long line", "[repo_reader]") {
  RepoTable t;
  RejectLog rj;
  auto s = read_text("", t, rj);
  CHECK((s.read == 0 && s.accepted == 0 && s.rejected == 0));
  s = read_text("\n  \n\r\n", t, rj);
  CHECK(s.read == 0);
  s = read_text("\xEF\xBB\xBF{\"id\": \"bom/first\"}\n", t, rj);
  CHECK(s.accepted == 1);
  CHECK(t.ids.find("bom/first") != kNone);

  // A 10 MB line under a 1 MB limit is rejected; the lines around it are read.
  std::string big = "{\"id\": \"big/one\", \"x\": \"" + std::string(10u << 20, 'a') + "\"}";
  ReadOptions opt;
  opt.max_line = 1u << 20;
  RepoTable t2;
  RejectLog rj2;
  s = read_text("{\"id\": \"a/1\"}\n" + big + "\n{\"id\": \"a/2\"}\n", t2, rj2, opt);
  CHECK(s.read == 3);
  CHECK(s.accepted == 2);
  CHECK(s.rejected == 1);
  REQUIRE(rj2.first().size() == 1);
  CHECK(rj2.first()[0].line == 2);
  CHECK_THAT(rj2.first()[0].reason, Catch::StartsWith("line too long"));
  CHECK(t2.ids.find("big/one") == kNone);
  CHECK(s.bytes == 14 + big.size() + 1 + 14);
}

TEST_CASE("Strict mode: the first bad record throws InputError with file, line and field", "[repo_reader]") {
  RepoTable t;
  RejectLog rj(true);
  try {
    read_text("{\"id\": \"o/a\"}\n\n{\"id\": \"o/b\", \"likes\": -1}\n", t, rj);
    FAIL("no exception");
  } catch (const InputError& e) {
    CHECK(e.file() == "mem.jsonl");
    CHECK(e.line() == 3);
    CHECK(e.field() == "likes");
    CHECK(e.reason() == "bad count: negative");
  }
}

TEST_CASE("CSV form: quoted metadata spanning lines, doubled quotes, CRLF, bad rows", "[repo_reader]") {
  const std::string csv =
      ",model_id,metadata,depth\r\n"
      "0,a/root,\"{\"\"id\"\": \"\"a/root\"\", \"\"tags\"\": [\"\"x,y\"\"],\r\n \"\"downloads\"\": 9}\",0\r\n"
      "\r\n"
      "1,b/kid,\"{\"\"id\"\": \"\"b/kid\"\", \"\"tags\"\": \"\"['base_model:finetune:a/root']\"\"}\",1\r\n"
      "2,c/short,\"{\"\"id\"\": \"\"c/short\"\"}\"\r\n"
      "3,d/empty,,1\r\n"
      "4,e/bad,\"{\"\"id\"\": \"\"e/bad\"\", \"\"downloads\"\": \"\"many\"\"}\",1\r\n"
      "5,f/quote,\"{}\"x,1\r\n";
  RepoTable t;
  RejectLog rj;
  auto src = memory_source("mem.csv", csv.data(), csv.size());
  const auto s = read_repositories(*src, t, rj);
  CHECK(s.read == 6);
  CHECK(s.accepted == 2);
  CHECK(s.rejected == 4);
  CHECK(t.downloads_30d[unit(t, "a/root")] == 9);
  CHECK(tags_of(t, unit(t, "a/root")) == std::vector<std::string>{"x,y"});
  CHECK(parents_of(t, "b/kid") == std::vector<Parent>{{"a/root", Relation::finetune}});
  std::map<uint64_t, std::string> by_line;
  for (const auto& r : rj.first()) by_line[r.line] = r.reason;
  // Records start on lines 2 (spanning 2-3), 5, 6, 7, 8 and 9; line 4 is blank.
  CHECK(by_line.count(5) == 0);
  CHECK_THAT(by_line[6], Catch::StartsWith("wrong column count"));
  CHECK(by_line[7] == "empty metadata");
  CHECK_THAT(by_line[8], Catch::StartsWith("bad count"));
  CHECK_THAT(by_line[9], Catch::StartsWith("malformed CSV"));
}

TEST_CASE("CSV form: an unterminated quoted field at end of input is one reject", "[repo_reader]") {
  const std::string csv = "model_id,metadata\na/x,\"{\"\"id\"\": \"\"a/x\"\"}\"\nb/y,\"{\"\"id\"\": \n\n";
  RepoTable t;
  RejectLog rj;
  auto src = memory_source("mem.csv", csv.data(), csv.size());
  const auto s = read_repositories(*src, t, rj);
  CHECK(s.read == 2);
  CHECK(s.accepted == 1);
  REQUIRE(rj.first().size() == 1);
  CHECK(rj.first()[0].line == 3);
  CHECK_THAT(rj.first()[0].reason, Catch::Contains("unterminated"));
}

TEST_CASE("The real Mistral-Small-24B lineage extract", "[repo_reader][real]") {
  // tests/fixtures/lineage/: the real file, unchanged (provenance in tests/fixtures/README.md).
  // Expected values were computed independently in Python (csv + json + PyYAML) from the
  // same file: 67 records; parents from `base_model:` tags: 66 edges, all finetune, 9 distinct
  // parents, every parent among the records; 46 authors; sum of downloads 494,326, of likes
  // 1,523; 56 records with safetensors.total, summing to 1,296,650,570,501; 162 distinct tags,
  // 1,051 (record, tag) pairs; the root's tags: 43; pipeline tags 44 text-generation,
  // 3 text-classification, 20 none; depth (following the parent) matches the file's `depth`
  // column: 1 at depth 0, 22 at 1, 36 at 2, 8 at 3. The root lists 30 children in its
  // `children` column, 22 of which are records of the file. One card (ConicCat/MistralSmallV3R)
  // names a second base model that the Hub's tags do not: the tags win (see input-formats.md).
  auto src = open_source(std::string(ECOSTAT_FIXTURES) + "/lineage/mistral-small-24b-base-2501_finetunes.csv");
  RepoTable t;
  RejectLog rj;
  const auto s = read_repositories(*src, t, rj);
  CHECK(s.read == 67);
  CHECK(s.accepted == 67);
  CHECK(s.rejected == 0);
  REQUIRE(t.size() == 67);  // no placeholder
  CHECK(t.authors.size() == 46);
  uint64_t downloads = 0, likes = 0, params = 0, with_params = 0, pairs = 0;
  for (uint32_t u = 0; u < t.size(); ++u) {
    downloads += t.downloads_30d[u];
    likes += t.likes[u];
    params += t.parameters[u];
    with_params += t.parameters[u] != 0;
    pairs += t.tag_offsets[u + 1] - t.tag_offsets[u];
    CHECK(t.has_all_time[u] == 0);  // downloads_all_time is null throughout
    CHECK(t.placeholder[u] == 0);
  }
  CHECK(downloads == 494326);
  CHECK(likes == 1523);
  CHECK(with_params == 56);
  CHECK(params == 1296650570501ull);
  CHECK(t.tags.size() == 162);
  CHECK(pairs == 1051);

  REQUIRE(t.edges.size() == 66);
  std::map<std::string, int> per_parent;
  for (const auto& e : t.edges) {
    CHECK(e.relation == Relation::finetune);
    CHECK(e.order == 0);
    ++per_parent[std::string(t.ids.at(e.parent))];
  }
  const std::map<std::string, int> expected_parents = {
      {"mistralai/Mistral-Small-24B-Instruct-2501", 27},
      {"mistralai/Mistral-Small-24B-Base-2501", 22},
      {"unsloth/Mistral-Small-24B-Base-2501", 5},
      {"unsloth/Mistral-Small-24B-Instruct-2501", 4},
      {"NousResearch/DeepHermes-3-Mistral-24B-Preview", 3},
      {"arcee-ai/Arcee-Blitz", 2},
      {"AlSamCur123/DeepHermes-3-Mistral-24BContinuedFine", 1},
      {"IntervitensInc/Mistral-Small-24B-Instruct-2501-chatml", 1},
      {"huihui-ai/Mistral-Small-24B-Instruct-2501-abliterated", 1}};
  CHECK(per_parent == expected_parents);
  CHECK(parents_of(t, "ConicCat/MistralSmallV3R") == std::vector<Parent>{{"arcee-ai/Arcee-Blitz", Relation::finetune}});

  // Depth by following the (single) parent edge.
  std::vector<uint32_t> parent(t.size(), kNone);
  for (const auto& e : t.edges) parent[e.child] = e.parent;
  std::map<int, int> depth_count;
  for (uint32_t u = 0; u < t.size(); ++u) {
    int d = 0;
    for (uint32_t v = u; parent[v] != kNone; v = parent[v]) ++d;
    ++depth_count[d];
  }
  CHECK(depth_count == std::map<int, int>{{0, 1}, {1, 22}, {2, 36}, {3, 8}});

  const uint32_t root = unit(t, "mistralai/Mistral-Small-24B-Base-2501");
  CHECK(parent[root] == kNone);
  CHECK(t.created_day[root] == days_from_civil(2025, 1, 23));
  CHECK(t.downloads_30d[root] == 19970);
  CHECK(t.likes[root] == 240);
  CHECK(t.parameters[root] == 23572403200ull);
  CHECK(t.libraries.at(t.library[root]) == "vllm");
  CHECK(t.pipeline_tags.at(t.pipeline_tag[root]) == "text-generation");
  CHECK(t.tag_offsets[root + 1] - t.tag_offsets[root] == 43);
  std::map<std::string, int> pipelines;
  for (uint32_t u = 0; u < t.size(); ++u) ++pipelines[std::string(t.pipeline_tag[u] == kNone ? "" : t.pipeline_tags.at(t.pipeline_tag[u]))];
  CHECK(pipelines == std::map<std::string, int>{{"", 20}, {"text-classification", 3}, {"text-generation", 44}});
}

TEST_CASE("Creation dates: date-times in both spellings, a date outside the window is rejected", "[repo_reader]") {
  RepoTable t;
  RejectLog rj;
  ReadOptions from_1970;  // the widest window: 1970-01-01 .. 7431-03-31
  from_1970.min_day = kFirstDay;
  from_1970.max_day = kLastDay;
  const auto s = read_text(
      "{\"id\": \"d/1\", \"createdAt\": \"2020-02-29\"}\n"
      "{\"id\": \"d/2\", \"created_at\": \"1970-01-01T00:00:00Z\"}\n"
      "{\"id\": \"d/3\", \"createdAt\": \"9999-01-01T00:00:00Z\"}\n"
      "{\"id\": \"d/4\", \"createdAt\": true}\n",  // (a number is epoch ms: test_repo_input_forms.cpp)
      t, rj, from_1970);
  CHECK(s.accepted == 2);
  CHECK(s.rejected == 2);
  CHECK(t.created_day[unit(t, "d/1")] == days_from_civil(2020, 2, 29));
  CHECK(t.created_day[unit(t, "d/2")] == 0);
  REQUIRE(rj.first().size() == 2);
  CHECK_THAT(rj.first()[0].reason, Catch::StartsWith("date out of range"));
  CHECK(rj.first()[1].field == "createdAt");
  CHECK_THAT(rj.first()[1].reason, Catch::StartsWith("wrong type"));
}

TEST_CASE("Creation dates: the default window 2000-01-01..2040-12-31 rejects the record, a bad time is unparseable", "[repo_reader]") {
  RepoTable t;
  RejectLog rj;
  const auto s = read_text(
      "{\"id\": \"w/1\", \"createdAt\": \"2022-03-02T23:29:04.000Z\"}\n"  // the Hub's form
      "{\"id\": \"w/2\", \"createdAt\": \"7000-12-31\"}\n"
      "{\"id\": \"w/3\", \"createdAt\": \"1970-01-01\"}\n"
      "{\"id\": \"w/4\", \"createdAt\": \"2024-01-05Tgarbage\"}\n"
      "{\"id\": \"w/5\", \"createdAt\": \"7500-01-01\"}\n",
      t, rj);
  CHECK(s.accepted == 1);
  CHECK(s.rejected == 4);
  CHECK(t.ids.find("w/2") == kNone);  // the whole record is rejected
  const auto& r = rj.first();
  REQUIRE(r.size() == 4);
  CHECK(r[0].reason == "date out of range: '7000-12-31' (outside 2000-01-01..2040-12-31)");
  CHECK(r[0].field == "createdAt");
  CHECK_THAT(r[1].reason, Catch::StartsWith("date out of range"));
  CHECK_THAT(r[2].reason, Catch::StartsWith("unparseable date"));
  CHECK_THAT(r[3].reason, Catch::StartsWith("date out of range"));  // a valid date, not "unparseable"
}

TEST_CASE("A NUL byte in a JSON line makes the line a reject (nothing after it vanishes)", "[repo_reader]") {
  RepoTable t;
  RejectLog rj;
  const std::string text = std::string("{\"id\": \"n/1\"}\0{\"id\": \"n/2\"}\n", 28) + "{\"id\": \"n/3\"}\n";
  const auto s = read_text(text, t, rj);
  CHECK(s.read == 2);
  CHECK(s.accepted == 1);
  CHECK(s.rejected == 1);
  CHECK(t.ids.find("n/1") == kNone);
  CHECK(t.ids.find("n/3") != kNone);
  REQUIRE(rj.first().size() == 1);
  CHECK(rj.first()[0].line == 1);
  CHECK(rj.first()[0].reason == "NUL byte in line");
}

namespace {
// Every string the reader stored must be valid UTF-8: nlohmann's dump throws otherwise.
void check_all_text_valid(const RepoTable& t) {
  for (const Dictionary* d : {&t.ids, &t.authors, &t.pipeline_tags, &t.libraries, &t.tags})
    for (uint32_t i = 0; i < d->size(); ++i) CHECK_NOTHROW(nlohmann::json(std::string(d->at(i))).dump());
}
}  // namespace

TEST_CASE("Invalid UTF-8 anywhere in a repository record is a reject, never stored", "[repo_reader]") {
  RepoTable t;
  RejectLog rj;
  const auto s = read_text(
      "{\"id\": \"u/1\", \"tags\": [\"ok\"]}\n"
      "{\"id\": \"u/2\", \"tags\": [\"bad\xff\"]}\n"            // in a tag
      "{\"id\": \"u/3\", \"ignored_key\": \"\xc3\x28\"}\n"       // in a key the reader skips
      "{\"id\": \"u/4\", \"author\": \"\xed\xa0\x80\"}\n"        // an encoded surrogate
      "{\"id\": \"u/5\", \"pipeline_tag\": \"caf\xc3\xa9\"}\n",  // valid: accepted
      t, rj);
  CHECK(s.read == 5);
  CHECK(s.accepted == 2);
  CHECK(s.rejected == 3);
  for (const auto& r : rj.first()) {
    CHECK_THAT(r.reason, Catch::StartsWith("invalid UTF-8"));
    CHECK_NOTHROW(nlohmann::json(r.reason).dump());
  }
  check_all_text_valid(t);
}

TEST_CASE("Lone surrogates: a JSON escape, a Python-repr tag or a card escape never makes invalid text", "[repo_reader]") {
  RepoTable t;
  RejectLog rj;
  const auto s = read_text(
      "{\"id\": \"s/1\", \"tags\": [\"\\ud800\"]}\n"                                // JSON: the parser rejects it
      "{\"id\": \"s/2\", \"tags\": \"['a', '\\\\ud800']\"}\n"                      // Python repr: unparseable list
      "{\"id\": \"s/3\", \"tags\": \"['\\\\ud83d\\\\ude00']\"}\n"                  // a surrogate pair: one emoji
      "{\"id\": \"s/4\", \"card_data\": \"base_model: \\\"a/\\\\udc00\\\"\\n\"}\n"  // card text: never a reject
      "{\"id\": \"s/5\", \"tags\": [\"\\u0000\"]}\n",                              // a NUL in a tag
      t, rj);
  CHECK(s.read == 5);
  CHECK(s.accepted == 2);
  CHECK(s.rejected == 3);
  const auto& r = rj.first();
  REQUIRE(r.size() == 3);
  CHECK_THAT(r[0].reason, Catch::StartsWith("invalid JSON"));
  CHECK_THAT(r[1].reason, Catch::StartsWith("unparseable tag list"));
  CHECK(r[2].reason == "NUL byte");
  CHECK(tags_of(t, unit(t, "s/3")) == std::vector<std::string>{"\xf0\x9f\x98\x80"});
  check_all_text_valid(t);
  // --strict: the first one is a clean InputError, not a JSON library exception.
  RepoTable t2;
  RejectLog strict(true);
  CHECK_THROWS_AS(read_text("{\"id\": \"s/2\", \"tags\": \"['\\\\ud800']\"}\n", t2, strict), InputError);
}

TEST_CASE("Numbers in JSON: 1e3 is the integer 1000, a float above 2^53 is not exact", "[repo_reader]") {
  RepoTable t;
  RejectLog rj;
  const auto s = read_text(
      "{\"id\": \"f/1\", \"likes\": 1e3, \"downloads\": 12.0}\n"
      "{\"id\": \"f/2\", \"downloads\": 1.5e3}\n"
      "{\"id\": \"f/3\", \"downloads\": 9007199254740993.0}\n"
      "{\"id\": \"f/4\", \"downloads\": 9007199254740993}\n",
      t, rj);
  CHECK(s.accepted == 3);
  CHECK(t.likes[unit(t, "f/1")] == 1000);
  CHECK(t.downloads_30d[unit(t, "f/1")] == 12);
  CHECK(t.downloads_30d[unit(t, "f/2")] == 1500);
  CHECK(t.downloads_30d[unit(t, "f/4")] == 9007199254740993ull);  // an integer is exact at any size
  REQUIRE(rj.first().size() == 1);
  CHECK_THAT(rj.first()[0].reason, Catch::StartsWith("bad count: not exact"));
}

TEST_CASE("Sums of downloads and downloads_all_time over all records must fit in 64 bits", "[repo_reader]") {
  RepoTable t;
  RejectLog rj;
  read_text("{\"id\": \"m/1\", \"downloadsAllTime\": 18446744073709551615, \"downloads\": 5}\n", t, rj);
  // A second file of the same job continues the same sums.
  try {
    read_text("{\"id\": \"m/2\", \"downloads\": 7}\n{\"id\": \"m/3\", \"downloads_all_time\": 1}\n", t, rj);
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    CHECK(e.file() == "mem.jsonl");
    CHECK(e.line() == 2);
    CHECK(e.field() == "downloads_all_time");
    CHECK(e.reason() == "download counts sum past 2^64-1: totals would not be exact");
  }
  CHECK(t.ids.find("m/3") == kNone);
  RepoTable t2;
  CHECK_THROWS_WITH(read_text("{\"id\": \"a/1\", \"downloads\": 18446744073709551615}\n"
                              "{\"id\": \"a/2\", \"downloads\": 1}\n",
                              t2, rj),
                    Catch::Contains("download counts sum past 2^64-1"));
  CHECK(rj.total() == 0);
}

TEST_CASE("A record with 200,000 tags (each listed twice) keeps each once, in first-listed order", "[repo_reader]") {
  std::string line = "{\"id\": \"big/tags\", \"tags\": [";
  const int n = 200000;
  for (int pass = 0; pass < 2; ++pass)
    for (int i = 0; i < n; ++i) line += (pass || i ? ",\"t" : "\"t") + std::to_string((i * 7919) % n) + "\"";
  line += ",\"\"]}\n";
  RepoTable t;
  RejectLog rj;
  const auto s = read_text(line, t, rj);
  REQUIRE(s.accepted == 1);
  const auto tags = tags_of(t, unit(t, "big/tags"));
  REQUIRE(tags.size() == static_cast<size_t>(n));
  CHECK(tags[0] == "t0");
  CHECK(tags[1] == "t7919");
  CHECK(tags[n - 1] == "t" + std::to_string((static_cast<int64_t>(n - 1) * 7919) % n));
  CHECK(std::set<std::string>(tags.begin(), tags.end()).size() == static_cast<size_t>(n));
}

TEST_CASE("A record with 70,000 parents: one edge each, primary first, relations merged across sources", "[repo_reader]") {
  // 65,535 distinct parents (the most a record may list), each named twice in baseModels and
  // once more as a base_model:finetune: tag that supplies the relation.
  const int n = 65535;
  std::string line = "{\"id\": \"big/child\", \"baseModels\": {\"models\": [";
  for (int pass = 0; pass < 2; ++pass)
    for (int i = 0; i < n; ++i) line += (pass || i ? ",\"p/" : "\"p/") + std::to_string(n - 1 - i) + "\"";
  line += "]}, \"tags\": [";
  for (int i = 0; i < n; ++i) line += (i ? ",\"base_model:finetune:p/" : "\"base_model:finetune:p/") + std::to_string(i) + "\"";
  line += "]}\n";
  RepoTable t;
  RejectLog rj;
  const auto s = read_text(line, t, rj);
  REQUIRE(s.accepted == 1);
  const auto ps = parents_of(t, "big/child");
  REQUIRE(ps.size() == static_cast<size_t>(n));
  CHECK(ps.front() == Parent{"p/" + std::to_string(n - 1), Relation::finetune});  // the first listed is primary
  CHECK(ps.back() == Parent{"p/0", Relation::finetune});
  // 70,000 distinct parents are more than a record may list: a reject, found in linear time.
  std::string over = "{\"id\": \"big/over\", \"baseModels\": {\"models\": [";
  for (int i = 0; i < 70000; ++i) over += (i ? ",\"q/" : "\"q/") + std::to_string(i) + "\"";
  over += "]}}\n";
  const auto s2 = read_text(over, t, rj);
  CHECK(s2.rejected == 1);
  CHECK_THAT(rj.first().at(0).reason, Catch::StartsWith("more than 65535 base models"));
}
