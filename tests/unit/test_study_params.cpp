// The parameters-table reader: the real tracked-models table, exact billions, and rejects that
// name file, line and field.
#include <catch2/catch.hpp>

#include "ecostat/errors.hpp"
#include "ecostat/host/readers.hpp"
#include "ecostat/host/source.hpp"

using namespace ecostat;
using namespace ecostat::host;

namespace {
ReadStats read_text(const std::string& text, ParameterTable& t, RejectLog& rejects) {
  auto src = memory_source("params.csv", text.data(), text.size());
  return read_parameters(*src, t, rejects);
}
uint64_t total_of(const ParameterTable& t, const std::string& id) {
  const uint32_t i = t.ids.find(id);
  REQUIRE(i != kNone);
  return t.total[i];
}
}  // namespace

TEST_CASE("params: the real tracked-models table reads whole", "[study][params]") {
  ParameterTable t;
  RejectLog rejects;
  auto src = open_source(std::string(ECOSTAT_FIXTURES) + "/study/model_parameters.csv");
  const ReadStats st = read_parameters(*src, t, rejects);
  CHECK(st.read == 299);
  CHECK(st.accepted == 299);
  CHECK(st.rejected == 0);
  CHECK(total_of(t, "deepseek-ai/DeepSeek-R1") == 671000000000ull);
  CHECK(t.active[t.ids.find("deepseek-ai/DeepSeek-R1")] == 37000000000ull);
  CHECK(total_of(t, "deepseek-ai/DeepSeek-OCR") == 3300000000ull);  // "3.3": exact, no binary rounding
  CHECK(total_of(t, "mistralai/Mistral-Nemo-Base-2407") == 12000000000ull);
  CHECK(t.active[t.ids.find("mistralai/Mistral-Nemo-Base-2407")] == 0);  // not given
}

TEST_CASE("params: decimals, whole counts and rejects", "[study][params]") {
  ParameterTable t;
  RejectLog rejects;
  const ReadStats st = read_text(
      "model_id,total_params_b,active_params_b\n"
      "a/one,0.125,\n"            // 2: 125,000,000
      "a/two,1.000000001,0.5\n"   // 3: 1,000,000,001 (9 decimals)
      "a/three,2.5000000000,\n"   // 4: trailing zeros past 9 decimals are fine
      ",1,\n"                     // 5: empty id
      "a/five,,\n"                // 6: missing count
      "a/six,-1,\n"               // 7: negative
      "a/seven,1e3,\n"            // 8: not a number
      "a/eight,0.0000000001,\n"   // 9: below one parameter
      "a/nine,0,\n"               // 10: zero
      "a/one,7,\n"                // 11: duplicate
      "a/ten,1,2,3\n"             // 12: wrong column count
      "a/eleven,4,x\n",           // 13: bad active count
      t, rejects);
  CHECK(st.read == 12);
  CHECK(st.accepted == 3);
  CHECK(st.rejected == 9);
  CHECK(total_of(t, "a/one") == 125000000ull);
  CHECK(total_of(t, "a/two") == 1000000001ull);
  CHECK(t.active[t.ids.find("a/two")] == 500000000ull);
  CHECK(total_of(t, "a/three") == 2500000000ull);
  const auto& r = rejects.first();
  REQUIRE(r.size() == 9);
  CHECK(r[0].file == "params.csv");
  CHECK(r[0].line == 5);
  CHECK(r[0].field == "model_id");
  CHECK(r[1].line == 6);
  CHECK(r[1].field == "total_params_b");
  CHECK(r[1].reason.find("missing") != std::string::npos);
  CHECK(r[2].reason.find("negative") != std::string::npos);
  CHECK(r[3].reason.find("not a number") != std::string::npos);
  CHECK(r[4].reason.find("9 decimals") != std::string::npos);
  CHECK(r[5].reason.find("zero") != std::string::npos);
  CHECK(r[6].line == 11);
  CHECK(r[6].reason.find("duplicate") != std::string::npos);
  CHECK(r[7].reason.find("column count") != std::string::npos);
  CHECK(r[8].field == "active_params_b");
}

TEST_CASE("params: whole-count columns and header errors", "[study][params]") {
  ParameterTable t;
  RejectLog rejects;
  read_text("id,parameters\nx/a,23572403200\nx/b,12.0\n", t, rejects);
  CHECK(total_of(t, "x/a") == 23572403200ull);
  CHECK(total_of(t, "x/b") == 12);  // a float export of an integer column
  CHECK(rejects.total() == 0);
  ParameterTable u;
  CHECK_THROWS_AS(read_text("name,total_params_b\n", u, rejects), InputError);
  CHECK_THROWS_AS(read_text("model_id,size\n", u, rejects), InputError);
  CHECK(read_text("", u, rejects).read == 0);
  RejectLog strict(true);
  CHECK_THROWS_AS(read_text("model_id,total_params_b\nx/a,-2\n", u, strict), InputError);
}
