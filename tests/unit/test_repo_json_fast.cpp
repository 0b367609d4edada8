// The repository JSON reader's fast path (simdjson, host/src/repo_json_fast.cpp) against the
// DOM path it must equal: for every line of the fixtures, the sample data and a list of hostile
// lines, parse_repo_json (fast path, DOM when it declines) gives the same record or the same
// reject (field, reason) as parse_repo_json_dom, and a record the fast path takes is one the DOM
// path accepts with the same fields.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ecostat/dictionary.hpp"
#include "repo_record.hpp"
#include "text.hpp"

using ecostat::host::detail::Fail;
using ecostat::host::detail::RepoRecord;
using ecostat::host::detail::Window;

namespace {

std::string describe(const RepoRecord& r) {
  std::ostringstream o;
  o << "id=" << r.id << " author=" << r.author << " kind=" << int(r.kind) << " day=" << r.created_day
    << " likes=" << r.likes << " dl=" << r.downloads << " all=" << r.all_time << " has_all=" << r.has_all_time
    << " params=" << r.parameters << " pipe=" << (r.pipeline_tag.empty() ? "<none>" : r.pipeline_tag)
    << " lib=" << (r.library.empty() ? "<none>" : r.library) << " tags=[";
  for (const auto& t : r.tags) o << t << ",";
  o << "] parents=[";
  for (const auto& p : r.parents) o << p.id << ":" << int(p.relation) << ",";
  o << "]";
  return o.str();
}

std::string describe(const std::optional<Fail>& f, const RepoRecord& r) {
  return f ? "reject field='" + f->field + "' reason='" + f->reason + "'" : "record " + describe(r);
}

const Window kWindow{ecostat::host::kFirstDay, ecostat::host::kLastDay};

// A record with every field set, long texts included: parsed into a record before each line's,
// to show that a cleared record (readers reuse theirs for its storage) keeps nothing of it.
const char* const kEveryField =
    R"({"id":"some-organisation/some-model-name-0","author":"some-organisation","kind":"model",)"
    R"("createdAt":"2024-01-02T00:00:00.000Z","likes":3,"downloads":7,"downloadsAllTime":9,)"
    R"("pipeline_tag":"automatic-speech-recognition","library_name":"sentence-transformers",)"
    R"("tags":["a-long-tag-of-thirty-bytes-xyz","base_model:finetune:org/root-model-long-name"],)"
    R"("safetensors":{"total":100},"baseModels":{"relation":"adapter","models":[{"id":"org/other-base-model"},"org/second-base-model-name","org/root-model-long-name"]},)"
    R"("cardData":{"base_model":"org/card-base-model-name"}})";

// The hashes hash_fields sets, as the table's dictionaries would compute them.
void check_hashes(const RepoRecord& r) {
  using ecostat::Dictionary;
  auto hash = [](std::string_view s) { return s.empty() ? 0 : Dictionary::hash(s); };
  CHECK(r.hashed);
  CHECK(r.id_hash == Dictionary::hash(r.id));
  CHECK(r.author_hash == hash(ecostat::host::detail::author_of(r)));
  CHECK(r.pipeline_hash == hash(r.pipeline_tag));
  CHECK(r.library_hash == hash(r.library));
  REQUIRE(r.tag_hashes.size() == r.tags.size());
  for (size_t i = 0; i < r.tags.size(); ++i) CHECK(r.tag_hashes[i] == Dictionary::hash(r.tags[i]));
  for (const auto& p : r.parents) CHECK(p.id_hash == Dictionary::hash(p.id));
}

struct Tally {
  size_t lines = 0, fast = 0;
};

// One line through both paths; the outcomes must be identical.
void check_line(const std::string& line, Tally* tally) {
  const std::string_view text = ecostat::host::detail::trim(line);
  if (text.empty()) return;
  ++tally->lines;
  RepoRecord dom_rec, rec, fast_rec;
  const auto dom = ecostat::host::detail::parse_repo_json_dom(text, kWindow, &dom_rec);
  const auto combined = ecostat::host::detail::parse_repo_json(text, kWindow, &rec);
  INFO("line: " << line.substr(0, 400));
  CHECK(describe(combined, rec) == describe(dom, dom_rec));
  if (!combined) check_hashes(rec);
  RepoRecord reused;
  REQUIRE_FALSE(ecostat::host::detail::parse_repo_json(kEveryField, kWindow, &reused));
  REQUIRE(reused.parents.size() == 3);  // baseModels' three; the tag's and the card's add relations only
  REQUIRE(reused.tags.size() == 2);
  reused.clear();
  const auto again = ecostat::host::detail::parse_repo_json(text, kWindow, &reused);
  CHECK(describe(again, reused) == describe(dom, dom_rec));
  if (ecostat::host::detail::parse_repo_json_fast(text, kWindow, &fast_rec)) {
    ++tally->fast;
    CHECK(describe(std::nullopt, fast_rec) == describe(dom, dom_rec));
  }
}

Tally check_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  Tally tally;
  std::string line;
  while (std::getline(in, line)) check_line(line, &tally);
  return tally;
}

// Lines that test each field's wrong types, nulls, repeats, numbers at the edges, escapes,
// invalid UTF-8 and broken JSON.
std::vector<std::string> hostile_lines() {
  const std::string ok = R"("id":"org/m","createdAt":"2024-01-02T00:00:00.000Z")";
  std::vector<std::string> v = {
      "{" + ok + "}",
      "{}",
      "[]",
      "[{" + ok + "}]",
      "\"org/m\"",
      "123",
      "null",
      "{" + ok + "} x",
      "{" + ok + "}}",
      "{" + ok + "},",
      "{" + ok,
      R"({"id":"org/m")",
      R"({"id":"org/m",})",
      R"({"id" "org/m"})",
      R"({"id":"org/m" "likes":1})",
      R"({id:"org/m"})",
      R"({"id":'org/m'})",
      // every field with a wrong type, a null, an empty value
      R"({"id":5})", R"({"id":null})", R"({"id":""})", R"({"id":"bad id with spaces"})",
      R"({"modelId":"org/a"})", R"({"model_id":"org/a"})", R"({"id":null,"modelId":"org/a"})",
      R"({"id":"org/a","modelId":"org/b"})", R"({"modelId":"org/b","id":"org/a"})",
      R"({"id":"org/a","author":5})", R"({"id":"org/a","author":null})", R"({"id":"org/a","author":""})",
      R"({"id":"org/a","author":"x\u0000y"})",
      R"({"id":"org/a","kind":"dataset"})", R"({"id":"org/a","kind":"weird"})", R"({"id":"org/a","repoType":"space"})",
      R"({"id":"org/a","type":1})", R"({"id":"org/a","repo_type":"model","kind":"dataset"})",
      R"({"id":"org/a","createdAt":1700000000000})", R"({"id":"org/a","createdAt":1700000000000.5})",
      R"({"id":"org/a","createdAt":-1700000000000})", R"({"id":"org/a","createdAt":"1700000000000"})",
      R"({"id":"org/a","createdAt":9300000000000000000})", R"({"id":"org/a","createdAt":18446744073709551615})",
      R"({"id":"org/a","createdAt":1e400})", R"({"id":"org/a","createdAt":true})", R"({"id":"org/a","createdAt":"yesterday"})",
      R"({"id":"org/a","createdAt":"1890-01-01"})", R"({"id":"org/a","created_at":"2023-05-05 10:00:00+00:00"})",
      R"({"id":"org/a","createdAt":null,"created_at":"2023-05-05"})", R"({"id":"org/a","createdAt":0})",
      R"({"id":"org/a","likes":-1})", R"({"id":"org/a","likes":-0})", R"({"id":"org/a","likes":0})",
      R"({"id":"org/a","likes":1.0})", R"({"id":"org/a","likes":1.5})", R"({"id":"org/a","likes":1e3})",
      R"({"id":"org/a","likes":"12"})", R"({"id":"org/a","likes":null})", R"({"id":"org/a","likes":true})",
      R"({"id":"org/a","likes":18446744073709551615})", R"({"id":"org/a","likes":18446744073709551616})",
      R"({"id":"org/a","likes":123456789012345678901234567890})", R"({"id":"org/a","likes":9007199254740993.0})",
      R"({"id":"org/a","likes":01})", R"({"id":"org/a","likes":1.})", R"({"id":"org/a","likes":-})",
      R"({"id":"org/a","likes":NaN})", R"({"id":"org/a","likes":[1]})", R"({"id":"org/a","likes":{}})",
      R"({"id":"org/a","downloads":5,"downloads":6})", R"({"id":"org/a","downloads":5,"downloads":null})",
      R"({"id":"org/a","downloadsAllTime":7})", R"({"id":"org/a","downloads_all_time":7})",
      R"({"id":"org/a","downloadsAllTime":null,"downloads_all_time":7})", R"({"id":"org/a","downloadsAllTime":3,"downloads_all_time":7})",
      R"({"id":"org/a","downloads":18446744073709551615,"downloadsAllTime":1})",
      R"({"id":"org/a","pipeline_tag":""})", R"({"id":"org/a","pipeline_tag":5})", R"({"id":"org/a","pipelineTag":"fill-mask"})",
      R"({"id":"org/a","library_name":"peft","libraryName":"x"})", R"({"id":"org/a","libraryName":["x"]})",
      R"({"id":"org/a","safetensors":{"total":100}})", R"({"id":"org/a","safetensors":{"total":null}})",
      R"({"id":"org/a","safetensors":{"parameters":{"F16":3},"total":100}})", R"({"id":"org/a","safetensors":{}})",
      R"({"id":"org/a","safetensors":{"total":-5}})", R"({"id":"org/a","safetensors":{"total":1.5e9}})",
      R"({"id":"org/a","safetensors":{"total":"5"}})", R"({"id":"org/a","safetensors":{"total":1,"total":2}})",
      R"({"id":"org/a","safetensors":"{\"total\": 12}"})", R"({"id":"org/a","safetensors":""})",
      R"({"id":"org/a","safetensors":"null"})", R"({"id":"org/a","safetensors":"{bad"})", R"({"id":"org/a","safetensors":[1]})",
      R"({"id":"org/a","safetensors":null})", R"({"id":"org/a","safetensors":5})",
      R"({"id":"org/a","tags":["a","b","a",""]})", R"({"id":"org/a","tags":[]})", R"({"id":"org/a","tags":["a",1]})",
      R"({"id":"org/a","tags":["a",null]})", R"({"id":"org/a","tags":"['a', 'b']"})", R"({"id":"org/a","tags":"[\"a\", \"b\"]"})",
      R"({"id":"org/a","tags":"single"})", R"({"id":"org/a","tags":"[broken"})", R"({"id":"org/a","tags":5})",
      R"({"id":"org/a","tags":{"a":1}})", R"({"id":"org/a","tags":["x\u0000y"]})",
      R"({"id":"org/a","tags":["base_model:org/b","base_model:finetune:org/b"]})",
      R"({"id":"org/a","tags":["base_model:adapter:org/c"],"baseModels":{"relation":"finetune","models":[{"id":"org/c"}]}})",
      // base models and card data
      R"({"id":"org/a","baseModels":{"relation":"adapter","models":[{"id":"org/b"},"org/c"]}})",
      R"({"id":"org/a","baseModels":[{"relation":"merge","models":["org/b"]},{"relation":"merge","models":["org/c","org/b"]}]})",
      R"({"id":"org/a","baseModels":{"models":[{"id":"org/b","extra":[1,{"x":null}]}]}})",
      R"({"id":"org/a","baseModels":{"relation":null,"models":null}})", R"({"id":"org/a","baseModels":{"relation":5}})",
      R"({"id":"org/a","baseModels":{"models":{"id":"org/b"}}})", R"({"id":"org/a","baseModels":{"models":[5]}})",
      R"({"id":"org/a","baseModels":{"models":[{"name":"org/b"}]}})", R"({"id":"org/a","baseModels":{"models":[{"id":5}]}})",
      R"({"id":"org/a","baseModels":{"models":[{"id":"org/b","id":"org/c"}]}})",
      R"({"id":"org/a","baseModels":{"relation":"adapter","relation":"merge","models":["org/b"]}})",
      R"({"id":"org/a","baseModels":{"models":["org/b"],"relation":"quantized"}})",
      R"({"id":"org/a","baseModels":[5]})", R"({"id":"org/a","baseModels":"oops"})", R"({"id":"org/a","baseModels":""})",
      R"({"id":"org/a","baseModels":"{\"models\": [\"org/b\"]}"})", R"({"id":"org/a","baseModels":{"models":["not an id!"]}})",
      R"({"id":"org/a","base_models":{"models":["org/b"]}})", R"({"id":"org/a","baseModels":null,"base_models":{"models":["org/b"]}})",
      R"({"id":"org/a","baseModels":{"models":["org/b"]},"base_models":{"models":["org/c"]}})",
      R"({"id":"org/a","baseModels":{"models":["org/b"]},"base_models":5})",
      R"({"id":"org/a","baseModels":{"models":["org/b"]},"baseModels":{"models":["org/c"]}})",
      R"({"id":"org/a","cardData":{"base_model":"org/b","base_model_relation":"quantized"}})",
      R"({"id":"org/a","cardData":{"base_model":["org/b",5,null,"org/c"],"license":"mit"}})",
      R"({"id":"org/a","cardData":{"base_model":5,"base_model_relation":7}})", R"({"id":"org/a","cardData":{}})",
      R"({"id":"org/a","cardData":{"base_model":"org/b","base_model":"org/c"}})",
      R"({"id":"org/a","card_data":"base_model: org/b\nlicense: mit"})", R"({"id":"org/a","card_data":"{\"base_model\": \"org/b\"}"})",
      R"({"id":"org/a","card_data":"{oops"})", R"({"id":"org/a","cardData":5})", R"({"id":"org/a","cardData":["org/b"]})",
      R"({"id":"org/a","card_data":{"base_model":"org/b"},"cardData":{"base_model":"org/c"}})",
      R"({"id":"org/a","baseModels":{"models":["org/b"]},"cardData":{"base_model":"org/c","base_model_relation":"merge"}})",
      R"({"id":"org/a","cardData":{"base_model":"org/b","model-index":[{"results":[{"metrics":[{"value":0.5}]}]}]}})",
      // keys the reader skips: still checked as JSON
      R"({"id":"org/a","siblings":[{"rfilename":"a.bin"},{"rfilename":"b\u00e9"}]})",
      R"({"id":"org/a","siblings":[1,2,]})", R"({"id":"org/a","siblings":[1 2]})", R"({"id":"org/a","siblings":[1,2}})",
      R"({"id":"org/a","x":tru})", R"({"id":"org/a","x":nul})", R"({"id":"org/a","x":nullx})", R"({"id":"org/a","x":true,"y":false,"z":null})",
      R"({"id":"org/a","x":"\x"})", R"({"id":"org/a","x":"\ud800"})", R"({"id":"org/a","x":"\udc00"})",
      R"({"id":"org/a","x":"\ud83d\ude00"})", R"({"id":"org/a","x":"\ud83dx"})", R"({"id":"org/a","x":1e400})",
      R"({"id":"org/a","x":-1e-400})", R"({"id":"org/a","x":123456789012345678901234567890})", R"({"id":"org/a","x":-9223372036854775809})",
      R"({"id":"org/a","x":{"a":1,"a":2}})", R"({"id":"org/a","x":1,"x":2})", R"({"id":"org/a","x\"y":1})", R"({"id":"org/a","\x":1})",
      R"({"id":"org/a","x":01})", R"({"id":"org/a","x":.5})", R"({"id":"org/a","x":+1})", R"({"id":"org/a","x":Infinity})",
      R"({"id":"org/a", "x" : [ ] , "y" :{ } })", "{\"id\":\"org/a\",\t\"x\":\r\n1}", "{\"id\":\"org/a\",\f\"x\":1}",
      // escapes in the fields the reader uses
      R"({"\u0069d":"org/a"})", R"({"id":"org\/a"})", R"({"id":"org/\u00e9t\u00e9"})", R"({"id":"org/a\ud83d\ude00"})",
      R"({"id":"org/a","author":"\u00e9\ud83d\ude00"})", R"({"id":"org/a","author":"\ud800"})", R"({"id":"org/a","author":"a\tb"})",
      R"({"id":"org/a","pipeline_tag":"a\nb"})", R"({"id":"org/a","tags":["\u00e9","\u00e9"]})",
      // raw control characters, NUL, invalid UTF-8
      "{\"id\":\"org/a\",\"author\":\"a\tb\"}", "{\"id\":\"org/a\",\"x\":\"a\nb\"}", "{\"id\":\"org/a\",\"x\":\"a\x01\"}",
      std::string("{\"id\":\"org/a\",\"x\":\"a\0b\"}", 24), std::string("{\"id\":\"org/a\"}\0", 15),
      "{\"id\":\"org/a\",\"x\":\"\xff\"}", "{\"id\":\"org/a\",\"author\":\"\xc3\x28\"}", "{\"id\":\"org/a\",\"x\":\"\xed\xa0\x80\"}",
      "{\"id\":\"org/a\",\"x\":\"\xc0\xaf\"}", "{\"id\":\"org/a\",\"x\":\"\xf4\x90\x80\x80\"}", "{\"id\":\"org/a\",\"\xe9\":1}",
      "{\"id\":\"org/\xc3\xa9\"}", "{\"id\":\"org/a\",\"x\":\"\xe2\x82\"}",
  };
  // deep nesting in a skipped key, and an id repeated (the DOM keeps the last)
  v.push_back(R"({"id":"org/a","deep":)" + std::string(300, '[') + std::string(300, ']') + "}");
  v.push_back(R"({"id":"org/a","deep":)" + std::string(2000, '[') + std::string(2000, ']') + "}");
  v.push_back(R"({"id":"org/a","deep":)" + std::string(20, '[') + std::string(19, ']') + "}");
  v.push_back(R"({"id":"org/a","id":"org/b"})");
  v.push_back(R"({"id":"org/a","id":null})");
  v.push_back(R"({"id":"org/a","tags":[)" + [] {
    std::string s;
    for (int i = 0; i < 100; ++i) s += (i ? ",\"t" : "\"t") + std::to_string(i % 40) + "\"";
    return s;
  }() + "]}");
  return v;
}

}  // namespace

TEST_CASE("Repository JSON fast path equals the DOM path on the fixtures and sample data", "[repo][simdjson]") {
  const std::string fixtures = ECOSTAT_FIXTURES, data = ECOSTAT_DATA_DIR;
  Tally total;
  for (const std::string& path :
       {fixtures + "/hostile_repos.jsonl", fixtures + "/engine/repos.jsonl", fixtures + "/study/repos.jsonl",
        data + "/sample/repos_generated.jsonl", data + "/sample/repos_kblab.jsonl"}) {
    INFO(path);
    const Tally t = check_file(path);
    CHECK(t.lines > 0);
    total.lines += t.lines;
    total.fast += t.fast;
  }
  // The fast path must take the ordinary records, not decline everything.
  if (ecostat::host::detail::repo_json_fast_enabled()) CHECK(total.fast * 2 > total.lines);
  else WARN("built without simdjson (ECOSTAT_SIMDJSON): only the DOM path ran");
}

// The build links libsimdjson ahead of pyarrow's libparquet/libarrow (which export their own
// simdjson): a build with both must still bind simdjson's calls to libsimdjson and use the
// fast path, not quietly fall back to the slow one.
TEST_CASE("Repository JSON fast path is in use wherever it is compiled", "[repo][simdjson]") {
  if (!ecostat::host::detail::repo_json_fast_compiled()) {
    WARN("built without simdjson (ECOSTAT_SIMDJSON): nothing to check");
    return;
  }
  CHECK(ecostat::host::detail::repo_json_fast_enabled());
}

TEST_CASE("Repository JSON fast path equals the DOM path on hostile lines", "[repo][simdjson]") {
  Tally tally;
  for (const auto& line : hostile_lines()) check_line(line, &tally);
  if (ecostat::host::detail::repo_json_fast_enabled()) {
    CHECK(tally.fast > 30);  // the well-formed ones
    CHECK(tally.fast < tally.lines);
  }
}

TEST_CASE("Repository JSON fast path takes a Hub record with base models", "[repo][simdjson]") {
  if (!ecostat::host::detail::repo_json_fast_enabled()) return;
  const std::string line =
      R"({"id":"org/m-lora","author":"org","createdAt":"2025-02-07T00:00:00.000Z","likes":4,"downloads":46,)"
      R"("downloadsAllTime":501,"pipeline_tag":"text-generation","library_name":"peft","tags":["peft","region:us"],)"
      R"("safetensors":{"total":1501015059},"baseModels":{"relation":"adapter","models":[{"id":"org/m"}]}})";
  RepoRecord rec;
  REQUIRE(ecostat::host::detail::parse_repo_json_fast(line, kWindow, &rec));
  CHECK(rec.id == "org/m-lora");
  CHECK(rec.likes == 4);
  CHECK(rec.downloads == 46);
  CHECK(rec.all_time == 501);
  CHECK(rec.parameters == 1501015059);
  REQUIRE(rec.parents.size() == 1);
  CHECK(rec.parents[0].id == "org/m");
  CHECK(rec.parents[0].relation == ecostat::Relation::adapter);
}

TEST_CASE("Repository table writer: a record without its hashes is added as one with them", "[repo]") {
  using ecostat::RepoTable;
  using ecostat::host::ReadOptions;
  using ecostat::host::ReadStats;
  using ecostat::host::RejectLog;
  using ecostat::host::detail::RepoTableWriter;
  RepoRecord hashed;
  REQUIRE_FALSE(ecostat::host::detail::parse_repo_json(kEveryField, kWindow, &hashed));
  REQUIRE(hashed.hashed);
  RepoRecord bare = hashed;  // as a producer that did not call hash_fields would hand it over
  bare.hashed = false;
  bare.id_hash = bare.author_hash = bare.pipeline_hash = bare.library_hash = 0;
  bare.tag_hashes.clear();
  for (auto& p : bare.parents) p.id_hash = 0;
  auto add = [](const RepoRecord& rec, RepoTable* table) {
    RejectLog rejects;
    ReadStats stats;
    RepoTableWriter writer(*table, rejects, stats, ReadOptions{});
    writer.add(rec, 1);
    writer.finish();
    CHECK(stats.accepted == 1);
  };
  RepoTable a, b;
  add(hashed, &a);
  add(bare, &b);
  CHECK(b.ids.strings() == a.ids.strings());
  CHECK(b.authors.strings() == a.authors.strings());
  CHECK(b.tags.strings() == a.tags.strings());
  CHECK(b.tag_ids == a.tag_ids);
  CHECK(b.pipeline_tag == a.pipeline_tag);
  CHECK(b.library == a.library);
  REQUIRE(b.edges.size() == 3);
  // Every string went in under its own hash: a lookup that hashes it again finds it.
  for (uint32_t u = 0; u < b.size(); ++u) CHECK(b.ids.find(b.ids.at(u)) == u);
  CHECK(b.authors.find("some-organisation") == b.author[0]);
  CHECK(b.pipeline_tags.find("automatic-speech-recognition") == b.pipeline_tag[0]);
  for (uint32_t t = 0; t < b.tags.size(); ++t) CHECK(b.tags.find(b.tags.at(t)) == t);
}
