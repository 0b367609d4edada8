// The streamed results document must be byte for byte what nlohmann's dump of one DOM gives
// (indentation, number and string formatting, U+FFFD for invalid UTF-8), for every indent,
// except that each row of a share list is one line, dumped compactly (layout_dump below).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "ecostat/engine.hpp"
#include "json_stream.hpp"

using namespace ecostat;
using json = nlohmann::ordered_json;

namespace {

std::string dump(const json& j, int indent) { return j.dump(indent, ' ', false, json::error_handler_t::replace); }

// The results document's layout (docs/results-schema.md, "Layout"): dump(doc, indent), except
// that each element of a share list (share.<table>[i]) is dump(-1) on its own line.
std::string layout_dump(const json& doc, int indent) {
  if (indent < 0) return dump(doc, -1);
  std::string out;
  auto line = [&](size_t depth) { out += '\n', out.append(depth * size_t(indent), ' '); };
  // level 1: the share object; 2: one of its lists; 3: a row of a list, written compactly
  std::function<void(const json&, size_t, int)> put = [&](const json& v, size_t depth, int level) {
    if (level == 3 || !v.is_structured() || v.empty()) {
      out += dump(v, -1);
      return;
    }
    out += v.is_object() ? '{' : '[';
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      out += first ? "" : ",";
      first = false;
      line(depth + 1);
      if (v.is_object()) out += dump(json(it.key()), -1) + ": ";
      const bool share = depth == 0 && v.is_object() && it.key() == "share";
      put(*it, depth + 1, level > 0 ? level + 1 : share ? 1 : 0);
    }
    line(depth);
    out += v.is_object() ? '}' : ']';
  };
  put(doc, 0, 0);
  return out;
}

std::string streamed(int indent, const std::function<void(detail::JsonStream&)>& write) {
  std::string out;
  {
    detail::JsonStream s([&](std::string_view b) { out.append(b); }, indent);
    write(s);
    s.flush();
  }
  return out;
}

const std::string kBadUtf8 = "bad\xff\xc0\x80key";
const std::string kEscapes = "quote\" back\\ tab\t nl\n ctl\x01 del\x7f \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80";

// Ties on downloads broken by key, an unknown row, keys needing escapes or replacement.
Results results_with_rows() {
  Results r;
  ShareTable t;
  t.group = "model";
  t.total = 30;
  t.groups = 4;
  t.rows = {{"b/x", 10, 1.0 / 3}, {kEscapes, 10, 1.0 / 3}, {kBadUtf8, 5, 1.0 / 6}, {"unknown", 5, 1.0 / 6}};
  r.share.push_back(t);
  ShareTable empty;
  empty.group = "country";
  r.share.push_back(empty);
  ShareMonthTable m;
  m.group = "org_type";
  m.month_totals = {{month_of(2024, 1), 7}, {month_of(2024, 3), 1}};
  m.rows = {{"lab", month_of(2024, 1), 7, 1.0}, {kBadUtf8, month_of(2024, 3), 1, 1.0}};
  r.share_month.push_back(m);
  ShareYearTable y;  // share.country_x_year, from the study's DOM
  y.group = "country";
  y.year_totals = {{2024, 12}};
  y.rows = {{"US", 2024, 9, 0.75}, {kEscapes, 2024, 3, 0.25}};
  r.study.attribution.share_year.push_back(y);
  r.timings.push_back({"read", 1.5});
  return r;
}

}  // namespace

TEST_CASE("JsonStream writes the bytes of nlohmann dump for every kind of value", "[json][outputs]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  json dom;
  dom["s"] = kEscapes;
  dom["bad"] = kBadUtf8;
  dom["u"] = std::numeric_limits<uint64_t>::max();
  dom["zero"] = 0.0;
  dom["negzero"] = -0.0;
  dom["tiny"] = 1e-300;
  dom["frac"] = 123456789.125;
  dom["third"] = 1.0 / 3;
  dom["nan"] = nullptr;
  dom["empty_a"] = json::array();
  dom["empty_o"] = json::object();
  dom["nested"] = {{"a", {1, 2, {{"x", "y"}}}}, {"b", json::object()}};
  dom["rows"] = {{{"k", "v"}, {"n", 3u}}, json::object()};
  for (int indent : {-1, 0, 1, 2, 4}) {
    const std::string got = streamed(indent, [&](detail::JsonStream& s) {
      s.begin_object();
      s.key("s"), s.value(std::string_view(kEscapes));
      s.key("bad"), s.value(std::string_view(kBadUtf8));
      s.key("u"), s.value(std::numeric_limits<uint64_t>::max());
      s.key("zero"), s.value(0.0);
      s.key("negzero"), s.value(-0.0);
      s.key("tiny"), s.value(1e-300);
      s.key("frac"), s.value(123456789.125);
      s.key("third"), s.value(1.0 / 3);
      s.key("nan"), s.value(nan);
      s.key("empty_a"), s.begin_array(), s.end_array();
      s.key("empty_o"), s.begin_object(), s.end_object();
      s.key("nested"), s.dom_value(dom["nested"]);  // a DOM value inside a streamed object
      s.key("rows");
      s.begin_array();
      s.begin_object();
      s.key("k"), s.value(std::string_view("v"));
      s.key("n"), s.value(uint64_t(3));
      s.end_object();
      s.dom_value(json::object());
      s.end_array();
      s.end_object();
    });
    INFO("indent " << indent);
    CHECK(got == dump(dom, indent));
  }
}

TEST_CASE("The streamed results document equals the dump of its own DOM", "[json][outputs]") {
  const Results r = results_with_rows();
  for (int indent : {-1, 2}) {
    const std::string text = results_to_json(r, indent);
    INFO("indent " << indent);
    REQUIRE(text.back() == '\n');
    const json parsed = json::parse(text);
    CHECK(layout_dump(parsed, indent) + "\n" == text);  // nlohmann's formatting, rows on one line
    // The rows are there, in order, with invalid UTF-8 replaced.
    const json& rows = parsed["share"]["model"];
    REQUIRE(rows.size() == 4);
    CHECK(rows[1]["key"] == kEscapes);
    CHECK(rows[2]["key"] == "bad\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDkey");
    CHECK(rows[0]["share"].get<double>() == 1.0 / 3);
    CHECK(parsed["share"]["country"] == json::array());
    const json& months = parsed["share"]["org_type_x_month"];
    REQUIRE(months.size() == 2);
    CHECK(months[1]["month"] == "2024-03");
    CHECK(months[0]["downloads"] == 7);
    CHECK(parsed["share_info"]["org_type_x_month"]["listed"] == 2);
    CHECK(parsed["share"]["country_x_year"][1]["key"] == kEscapes);
  }
  // The layout itself, spelled out: each row of a share list on one line, compact.
  const std::string text = results_to_json(r, 2);
  CHECK(text.find("\n      {\"key\":\"b/x\",\"downloads\":10,\"share\":0.3333333333333333},\n") != std::string::npos);
  CHECK(text.find("\n      {\"key\":\"lab\",\"month\":\"2024-01\",\"downloads\":7,\"share\":1.0},\n") !=
        std::string::npos);
  CHECK(text.find("\n      {\"key\":\"US\",\"year\":2024,\"downloads\":9,\"share\":0.75},\n") != std::string::npos);
  CHECK(text.find("\n    \"country\": [],\n") != std::string::npos);
}

TEST_CASE("Results JSON written in pieces, to a string and to a file are the same bytes", "[json][outputs]") {
  const Results r = results_with_rows();
  const std::string whole = results_to_json(r);
  std::string pieces;
  size_t calls = 0;
  write_results_json(r, [&](std::string_view b) { pieces.append(b), ++calls; });
  CHECK(pieces == whole);
  CHECK(calls >= 2);  // the document, then its final newline
  char path[] = "/tmp/ecostat-json-stream-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  write_results_json_file(r, path);
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  std::remove(path);
  CHECK(s.str() == whole);
}

// Long share tables are formatted in slices on several threads (core/src/share_rows_json.cpp):
// more rows than a few waves of slices, keys that need escapes or replacement, a non-finite
// share and months that change inside slices. The text must be dump's and must not depend on
// the thread count.
TEST_CASE("Long share tables: the same bytes for every thread count and indent", "[json][outputs][parallel]") {
  Results r;
  auto keys = std::make_shared<std::string>();
  const size_t n = 150001;
  std::vector<std::pair<size_t, size_t>> places;
  for (size_t i = 0; i < n; ++i) {
    const std::string k = i % 997 == 0 ? kEscapes + std::to_string(i) : i % 1009 == 0 ? kBadUtf8 : "org/model-" + std::to_string(i);
    places.emplace_back(keys->size(), k.size());
    *keys += k;
  }
  ShareTable t;
  t.group = "model";
  t.key_text = keys;
  ShareMonthTable m;
  m.group = "model";
  m.key_text = keys;
  for (size_t i = 0; i < n; ++i) {
    const std::string_view k(keys->data() + places[i].first, places[i].second);
    // Runs of equal counts and shares, as in a long tail (the writer reuses a repeated
    // number's text), broken by shares one bit apart and by 0.0 against -0.0.
    const uint64_t count = (n - i) / 7;
    double share = double(count) / double(n);
    if (i % 11 == 3) share = std::nextafter(share, 1.0);
    if (count == 0) share = i % 2 ? 0.0 : -0.0;
    if (i == 77777) share = std::numeric_limits<double>::quiet_NaN();
    t.rows.push_back({k, count, share});
    m.rows.push_back({k, Month(month_of(2023, 1) + i / 40000), count, share});
  }
  r.share.push_back(t);
  r.share_month.push_back(m);
  for (int indent : {-1, 2, 4}) {
    const std::string one = results_to_json(r, indent, 1);
    INFO("indent " << indent);
    const json parsed = json::parse(one);
    CHECK(layout_dump(parsed, indent) + "\n" == one);  // nlohmann's formatting, NaN as null, rows on one line
    REQUIRE(parsed["share"]["model"].size() == n);
    REQUIRE(parsed["share"]["model_x_month"].size() == n);
    CHECK(parsed["share"]["model"][77777]["share"].is_null());
    CHECK(parsed["share"]["model_x_month"][n - 1]["month"] == "2023-04");
    CHECK(parsed["share"]["model"][997]["key"] == kEscapes + "997");
    // Each row's own numbers, bit for bit (the layout check above cannot see a neighbour's
    // text written in a row's place: it re-dumps what was parsed).
    size_t wrong = 0;
    for (const char* list : {"model", "model_x_month"}) {
      const json& rows = parsed["share"][list];
      for (size_t i = 0; i < n; ++i) {
        const double want = t.rows[i].share;
        const json& got = rows[i]["share"];
        const bool same = std::isnan(want) ? got.is_null()
                                           : got.is_number() && got.get<double>() == want &&
                                                 std::signbit(got.get<double>()) == std::signbit(want);
        wrong += !same || rows[i]["downloads"].get<uint64_t>() != t.rows[i].downloads;
      }
    }
    CHECK(wrong == 0);
    for (unsigned threads : {2u, 7u}) {
      INFO("threads " << threads);
      CHECK(results_to_json(r, indent, threads) == one);
    }
  }
  // To a file: the slices (about 400 KB each) go past OutputFile's buffer, written as they are.
  char path[] = "/tmp/ecostat-json-long-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  write_results_json_file(r, path, 2, 2);
  std::ifstream f(path, std::ios::binary);
  std::ostringstream text;
  text << f.rdbuf();
  std::remove(path);
  CHECK(text.str() == results_to_json(r, 2, 1));
}

// is_plain_json_text checks 16 bytes at a time: every byte value at every place of strings of
// 0 to 40 bytes must give the byte-by-byte answer.
TEST_CASE("is_plain_json_text: the same answer as a byte loop for every byte at every place", "[json][outputs]") {
  auto reference = [](const std::string& s) {
    for (unsigned char c : s)
      if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
    return true;
  };
  size_t checked = 0;
  for (size_t len = 0; len <= 40; ++len) {
    std::string s(len, 'a');
    REQUIRE(detail::is_plain_json_text(s) == reference(s));
    for (size_t at = 0; at < len; ++at)
      for (int c = 0; c < 256; ++c) {
        s[at] = char(c);
        if (detail::is_plain_json_text(s) != reference(s)) FAIL("length " << len << ", byte " << c << " at " << at);
        ++checked;
      }
  }
  CHECK(checked == 256u * (40u * 41u / 2u));
}

// A table whose key text is all plain writes its rows without checking each key; a row whose
// key lies elsewhere (a table built by other code) is still checked and escaped.
TEST_CASE("Share rows: keys outside a plain key text are still escaped", "[json][outputs]") {
  Results r;
  auto keys = std::make_shared<std::string>();
  for (int i = 0; i < 20000; ++i) *keys += "org/m-" + std::to_string(i) + ",";
  const std::string elsewhere = kEscapes + "x";
  ShareMonthTable m;
  m.group = "model";
  m.key_text = keys;
  for (size_t i = 0; i < 20000; ++i) {
    const std::string_view k = i % 4999 == 7 ? std::string_view(elsewhere) : std::string_view(keys->data() + i * 3, 5);
    m.rows.push_back({k, Month(month_of(2024, 1)), 20000 - i, 0.5});
  }
  r.share_month.push_back(m);
  for (unsigned threads : {1u, 2u}) {
    const std::string text = results_to_json(r, 2, threads);
    const json parsed = json::parse(text);
    CHECK(layout_dump(parsed, 2) + "\n" == text);
    CHECK(parsed["share"]["model_x_month"][7]["key"] == elsewhere);
    CHECK(parsed["share"]["model_x_month"][8]["key"] == std::string(keys->data() + 24, 5));
  }
}
