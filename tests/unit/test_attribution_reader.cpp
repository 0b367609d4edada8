// Attribution tables.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "ecostat/errors.hpp"
#include "ecostat/host/readers.hpp"

using namespace ecostat;
using namespace ecostat::host;

namespace {
ReadStats read_text(const std::string& text, AttributionTable& t, RejectLog& rj) {
  auto src = memory_source("orgs.csv", text.data(), text.size());
  return read_attribution(*src, t, rj);
}
std::string value(const Dictionary& d, uint32_t id) { return id == kNone ? std::string("<none>") : std::string(d.at(id)); }
}  // namespace

TEST_CASE("Attribution: the real organization_regions.csv (hf_org,region,notes)", "[attribution]") {
  // tests/fixtures/attribution/organization_regions.csv, unchanged. Python's csv module gives
  // 118 rows, 118 distinct handles, regions us 45, china 38, eu 19, other 13, unknown 3.
  auto src = open_source(std::string(ECOSTAT_FIXTURES) + "/attribution/organization_regions.csv");
  AttributionTable t;
  RejectLog rj;
  const auto s = read_attribution(*src, t, rj);
  CHECK(s.read == 118);
  CHECK(s.accepted == 118);
  CHECK(rj.total() == 0);
  REQUIRE(t.handles.size() == 118);
  CHECK(t.regions.size() == 5);
  std::map<std::string, int> per_region;
  for (uint32_t h = 0; h < t.handles.size(); ++h) {
    ++per_region[value(t.regions, t.region[h])];
    CHECK(t.organisation[h] == kNone);
    CHECK(t.country[h] == kNone);
    CHECK(t.org_type[h] == kNone);
  }
  CHECK(per_region == std::map<std::string, int>{{"china", 38}, {"eu", 19}, {"other", 13}, {"unknown", 3}, {"us", 45}});
  CHECK(value(t.regions, t.region[t.handles.find("mistralai")]) == "eu");
  CHECK(value(t.regions, t.region[t.handles.find("Qwen")]) == "china");
}

TEST_CASE("Attribution: header synonyms in any case, empty cells, quoted cells, bad rows", "[attribution]") {
  const std::string text =
      "Handle,Parent,COUNTRY,Region,Type,Notes\r\n"
      "meta-llama,Meta,US,us,industry,\r\n"
      "facebook,Meta,US,us,industry,\"legacy, research\nnamespace\"\r\n"
      "lone,,,,,\r\n"
      " spaced , Org ,  , eu ,industry,\r\n"
      "meta-llama,Other,FR,eu,industry,\r\n"  // duplicate
      "Meta-Llama,Other,FR,eu,industry,\r\n"  // handles are case-sensitive: a different handle
      ",Org,US,us,industry,\r\n"              // empty handle
      "short,Org\r\n";                        // wrong column count
  AttributionTable t;
  RejectLog rj;
  const auto s = read_text(text, t, rj);
  CHECK(s.read == 8);
  CHECK(s.accepted == 5);
  CHECK(s.rejected == 3);
  REQUIRE(t.handles.size() == 5);
  const uint32_t fb = t.handles.find("facebook"), ml = t.handles.find("meta-llama"), lone = t.handles.find("lone"),
                 sp = t.handles.find("spaced");
  REQUIRE(fb != kNone);
  REQUIRE(sp != kNone);
  CHECK(t.organisation[fb] == t.organisation[ml]);
  CHECK(value(t.organisations, t.organisation[fb]) == "Meta");
  CHECK(value(t.countries, t.country[fb]) == "US");
  CHECK(value(t.org_types, t.org_type[fb]) == "industry");
  CHECK(t.organisation[lone] == kNone);
  CHECK(t.country[lone] == kNone);
  CHECK(t.region[lone] == kNone);
  CHECK(t.org_type[lone] == kNone);
  CHECK(value(t.organisations, t.organisation[sp]) == "Org");
  CHECK(t.country[sp] == kNone);  // blanks only
  CHECK(value(t.regions, t.region[sp]) == "eu");
  CHECK(value(t.countries, t.country[t.handles.find("Meta-Llama")]) == "FR");
  std::map<uint64_t, std::string> by_line;
  for (const auto& r : rj.first()) by_line[r.line] = r.reason;
  CHECK_THAT(by_line[7], Catch::StartsWith("duplicate handle"));
  CHECK(by_line[9] == "empty handle");
  CHECK_THAT(by_line[10], Catch::StartsWith("wrong column count"));
  CHECK(rj.by_reason().at("duplicate handle") == 1);
}

TEST_CASE("Attribution: other column spellings and missing optional columns", "[attribution]") {
  AttributionTable t;
  RejectLog rj;
  const auto s = read_text("author,organization,org_type\nalice,,individual\n", t, rj);
  CHECK(s.accepted == 1);
  CHECK(value(t.org_types, t.org_type[0]) == "individual");
  CHECK(t.region[0] == kNone);
  CHECK(t.country[0] == kNone);
}

TEST_CASE("Attribution: no handle column is an InputError - empty and header-only files read nothing", "[attribution]") {
  AttributionTable t;
  RejectLog rj;
  try {
    read_text("name,region\nx,eu\n", t, rj);
    FAIL("no exception");
  } catch (const InputError& e) {
    CHECK(e.file() == "orgs.csv");
    CHECK(e.line() == 1);
    CHECK_THAT(e.reason(), Catch::Contains("handle"));
  }
  auto s = read_text("", t, rj);
  CHECK((s.read == 0 && s.accepted == 0));
  s = read_text("hf_org,region,notes\n", t, rj);
  CHECK((s.read == 0 && s.accepted == 0));
  CHECK(t.handles.size() == 0);
}

TEST_CASE("Attribution: strict mode throws on a duplicate handle", "[attribution]") {
  AttributionTable t;
  RejectLog rj(true);
  try {
    read_text("hf_org,region\na,eu\nb,us\na,us\n", t, rj);
    FAIL("no exception");
  } catch (const InputError& e) {
    CHECK(e.line() == 4);
    CHECK(e.field() == "hf_org");
    CHECK_THAT(e.reason(), Catch::StartsWith("duplicate handle"));
  }
}

TEST_CASE("Attribution and parameters: invalid UTF-8 or a NUL in a field is a reject naming the field", "[attribution]") {
  AttributionTable t;
  RejectLog rj;
  static const char kText[] =
      "handle,organisation,country,region,notes\n"
      "good,Org,FR,eu,x\n"                    // 2 ok
      "bad\xff,Org,FR,eu,x\n"                 // 3 handle
      "other,Caf\xc3,FR,eu,x\n"               // 4 organisation (a truncated sequence)
      "third,Org,F\0R,eu,x\n"                 // 5 country (a NUL)
      "fourth,Org,FR,\xc0\xaf,x\n"            // 6 region (an overlong form)
      "fifth,Org,FR,eu,\xff\n"                // 7 notes: not read, so not checked
      "sixth,Soci\xc3\xa9t\xc3\xa9,FR,eu,x\n";  // 8 ok: valid UTF-8
  const std::string text(kText, sizeof kText - 1);
  const auto s = read_text(text, t, rj);
  CHECK(s.read == 7);
  CHECK(s.accepted == 3);
  CHECK(s.rejected == 4);
  std::map<uint64_t, std::pair<std::string, std::string>> by_line;
  for (const auto& r : rj.first()) by_line[r.line] = {r.field, r.reason};
  CHECK(by_line.at(3) == std::make_pair(std::string("handle"), std::string("invalid UTF-8")));
  CHECK(by_line.at(4) == std::make_pair(std::string("organisation"), std::string("invalid UTF-8")));
  CHECK(by_line.at(5) == std::make_pair(std::string("country"), std::string("NUL byte")));
  CHECK(by_line.at(6) == std::make_pair(std::string("region"), std::string("invalid UTF-8")));
  CHECK(t.organisations.size() == 2);  // Org, Société: nothing from a rejected row

  ParameterTable p;
  RejectLog prj;
  const std::string ptext = "model_id,parameters\na/ok,100\na/bad\xfe,200\na/x,12\xff\n";
  auto src = memory_source("params.csv", ptext.data(), ptext.size());
  const auto ps = read_parameters(*src, p, prj);
  CHECK(ps.accepted == 1);
  CHECK(ps.rejected == 2);
  REQUIRE(prj.first().size() == 2);
  CHECK(prj.first()[0].field == "model_id");
  CHECK(prj.first()[0].reason == "invalid UTF-8");
  CHECK_THAT(prj.first()[1].reason, Catch::Contains("12\\xff"));  // the message escapes the byte
}
