// DownloadRowParser (host/src/download_rows.cpp) on its own: dates come from a small table
// keyed by their bytes, so every date read in any order (the table's entries colliding, a date
// seen again after its entry was taken) must give what parse_day gives, and a bad date must
// never reuse an earlier good one. With the repo-id check left to after the lookup, a bad id is
// still the reason given first.
#include <catch2/catch.hpp>

#include <random>

#include "download_rows.hpp"
#include "ecostat/types.hpp"
#include "text.hpp"

using namespace ecostat;
using namespace ecostat::host::detail;

namespace {

DownloadLayout three_columns() {
  DownloadLayout l;
  l.repo = 0, l.date = 1, l.count = 2;
  l.n_columns = 3;
  l.header = {"repo", "date", "downloads"};
  return l;
}

}  // namespace

TEST_CASE("download rows: every date gives parse_day's day and month, in any order", "[downloads]") {
  const DownloadLayout layout = three_columns();
  const int32_t lo = days_from_civil(2015, 1, 1), hi = days_from_civil(2030, 12, 31);
  for (auto check : {DownloadRowParser::RepoCheck::here, DownloadRowParser::RepoCheck::after_lookup}) {
    DownloadRowParser parser(layout, lo, hi, /*text_stays=*/false, check);
    std::mt19937 rng(7);
    // 20,000 rows over 16 years of days (far more than the table's 2,048 entries), some
    // malformed or outside the window, some with a time of day.
    for (int i = 0; i < 20000; ++i) {
      const int32_t day = lo - 400 + int32_t(rng() % uint32_t(hi - lo + 800));
      std::string date = iso_date(day);
      const int form = int(rng() % 16);
      if (form == 0) date[5] = '1', date[6] = '3';      // month 13
      if (form == 1) date += "T12:00:00Z";
      if (form == 2) date[9] = 'x';
      if (form == 3) date = "";
      const std::string_view cells[3] = {"org/m", date, "5"};
      DownloadRowParser::Row row;
      DownloadRowParser::Problem why;
      int32_t want_day = 0;
      Month want_month = 0;
      const DateStatus want = parse_day(date, lo, hi, &want_day, &want_month);
      INFO(i << ": '" << date << "'");
      REQUIRE(parser.parse(cells, 3, &row, &why) == (want == DateStatus::ok));
      if (want == DateStatus::ok) {
        REQUIRE(row.day == want_day);
        REQUIRE(row.month == want_month);
        REQUIRE(row.value == 5);
      } else {
        REQUIRE(why.field != nullptr);
        REQUIRE(*why.field == "date");
      }
    }
  }
}

TEST_CASE("download rows: a bad id is the reason first, whether checked before or after the lookup",
          "[downloads]") {
  const DownloadLayout layout = three_columns();
  DownloadRowParser here(layout, 0, days_from_civil(2040, 12, 31));
  DownloadRowParser after(layout, 0, days_from_civil(2040, 12, 31), false,
                          DownloadRowParser::RepoCheck::after_lookup);
  struct Row {
    const char* repo;
    const char* date;
    const char* count;
  };
  const Row rows[] = {{"bad\x01id", "2024-01-01", "5"},  {"bad\x01id", "2024-13-01", "5"},
                      {"bad\x01id", "2024-01-01", "-3"}, {"", "2024-01-01", "x"},
                      {"ok/id", "2024-13-01", "5"},       {"ok/id", "2024-01-01", ""},
                      {"\xff/x", "2024-01-02", "1"},      {"ok/id", "2024-01-02", "9"}};
  for (const Row& r : rows) {
    INFO(r.repo << "," << r.date << "," << r.count);
    const std::string_view cells[3] = {r.repo, r.date, r.count};
    DownloadRowParser::Row a, b;
    DownloadRowParser::Problem why_a, why_b;
    const bool ok_a = here.parse(cells, 3, &a, &why_a);
    bool ok_b = after.parse(cells, 3, &b, &why_b);
    // After the lookup: the caller checks an accepted row's id when the table lacks it.
    if (ok_b) ok_b = after.check_repo_id(b.repo, &why_b);
    REQUIRE(ok_a == ok_b);
    if (!ok_a) {
      CHECK((why_a.field ? *why_a.field : "") == (why_b.field ? *why_b.field : ""));
      CHECK(why_a.reason == why_b.reason);
    } else {
      CHECK(a.day == b.day);
      CHECK(a.value == b.value);
    }
  }
}
