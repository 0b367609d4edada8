// Arrow C Data Interface import, on arrays built by hand from the specification's layouts:
// sliced arrays (the array's and the batch's offsets), each string layout, dictionaries (one
// lookup per entry), integer range checks, dates and timestamps (floor division), wrong types,
// and C Streams whose every structure must be released exactly once.
#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <deque>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ecostat/host/arrow_columns.hpp"
#include "support/arrow_builders.hpp"

using namespace ecostat;
using namespace ecostat::host::arrow;

namespace {

using ecostat::testing::Arena;
using OptS = std::optional<std::string>;

// Every value of a string column, "<null>" for a null, "<bad>" for a bad cell.
std::vector<std::string> all_strings(const StringColumn& c) {
  std::vector<std::string> out;
  for (int64_t r = 0; r < c.length(); ++r) {
    std::string_view v;
    const Cell cell = c.get(r, &v);
    out.push_back(cell == Cell::value ? std::string(v) : cell == Cell::null ? "<null>" : "<bad>");
  }
  return out;
}

std::vector<std::string> all_days(const DayColumn& c) {
  std::vector<std::string> out;
  for (int64_t r = 0; r < c.length(); ++r) {
    int32_t d = 0;
    const Cell cell = c.get(r, &d);
    out.push_back(cell == Cell::value ? std::to_string(d) : cell == Cell::null ? "<null>" : "<bad>");
  }
  return out;
}

}  // namespace

TEST_CASE("arrow utf8 column with nulls, sliced by the column and by the batch", "[arrow]") {
  Arena ar;
  ArrowArray* col = ar.strings({OptS("a"), std::nullopt, OptS("ccc"), OptS(""), OptS("eeeee"), std::nullopt, OptS("g")});
  col->offset = 2;  // the column's view: ccc, "", eeeee, null, g
  col->length = 5;
  ArrowArray* ids = ar.primitive<int32_t>({10, 11, 12, 13, 14});
  ArrowArray* batch = ar.batch(3, {col, ids});
  batch->offset = 1;  // the batch's rows are the columns' elements 1..3
  ArrowSchema* schema = ar.schema("+s", "", {ar.schema("u", "repo"), ar.schema("i", "n")});

  RecordBatchView view(*schema, *batch);
  REQUIRE(view.num_rows() == 3);
  const StringColumn repo = view.strings(view.require("repo"));
  CHECK(repo.format() == "u");
  CHECK_FALSE(repo.is_dictionary());
  CHECK(all_strings(repo) == std::vector<std::string>{"", "eeeee", "<null>"});
  CHECK(repo.is_null(2));
  CHECK_FALSE(repo.is_null(0));
  int64_t n = 0;
  CHECK(view.integers(1).get_int64(0, &n) == Cell::value);
  CHECK(n == 11);

  SECTION("null_count -1 (unknown) still reads the bitmap") {
    col->null_count = -1;
    CHECK(all_strings(RecordBatchView(*schema, *batch).strings(0)) == std::vector<std::string>{"", "eeeee", "<null>"});
  }
  SECTION("null_count 0 means no nulls, whatever the bitmap holds") {
    col->null_count = 0;
    CHECK(all_strings(RecordBatchView(*schema, *batch).strings(0)) == std::vector<std::string>{"", "eeeee", ""});
  }
  SECTION("a null row of the batch struct is null in every column") {
    batch->null_count = 1;
    batch->buffers[0] = ar.bitmap({true, true, false, true});  // element 2 = row 1
    RecordBatchView v(*schema, *batch);
    CHECK(all_strings(v.strings(0)) == std::vector<std::string>{"", "<null>", "<null>"});
    CHECK(v.integers(1).is_null(1));
    CHECK_FALSE(v.integers(1).is_null(0));
  }
  SECTION("a column shorter than the batch is a batch error") {
    col->length = 3;  // elements 1..3 need 4
    CHECK_THROWS_WITH(RecordBatchView(*schema, *batch).strings(0),
                      Catch::Contains("'repo'") && Catch::Contains("3 rows where the batch needs 4"));
  }
}

TEST_CASE("arrow large_utf8 column", "[arrow]") {
  Arena ar;
  ArrowArray* col = ar.strings<int64_t>({OptS("org/model"), std::nullopt, OptS("x")});
  ArrowSchema* schema = ar.schema("+s", "", {ar.schema("U", "id")});
  RecordBatchView view(*schema, *ar.batch(3, {col}));
  CHECK(all_strings(view.strings(view.require("repo|repo_id|id"))) ==
        std::vector<std::string>{"org/model", "<null>", "x"});
}

TEST_CASE("arrow string_view column: inline and out-of-line strings in variadic buffers", "[arrow]") {
  Arena ar;
  const std::string long1 = "meta-llama/Llama-3.1-8B-Instruct", long2 = "exactly-13-by", long3 = "another/long-repo-name";
  ArrowArray* col = ar.string_views({OptS("skip-me"), OptS("twelve-bytes"), std::nullopt, OptS(long1), OptS(""),
                                     OptS(long2), OptS(long3)});
  REQUIRE(col->n_buffers == 5);  // validity, views, 2 data buffers, sizes
  col->offset = 1;
  col->length = 6;
  ArrowSchema* schema = ar.schema("+s", "", {ar.schema("vu", "repo")});
  RecordBatchView view(*schema, *ar.batch(6, {col}));
  const StringColumn c = view.strings(0);
  CHECK(all_strings(c) == std::vector<std::string>{"twelve-bytes", "<null>", long1, "", long2, long3});

  SECTION("a view pointing past its buffer is a bad row, naming the buffer") {
    // Element 6 (long3) is in buffer 0; claim buffer 1 at an offset past its end.
    uint8_t* views = static_cast<uint8_t*>(const_cast<void*>(col->buffers[1]));
    const int32_t buffer = 1, at = 1000;
    std::memcpy(views + 16 * 6 + 8, &buffer, 4);
    std::memcpy(views + 16 * 6 + 12, &at, 4);
    std::string_view v;
    std::string why;
    CHECK(c.get(5, &v, &why) == Cell::bad);
    CHECK_THAT(why, Catch::Contains("outside its data buffers") && Catch::Contains("buffer 1"));
    CHECK(c.get(3, &v) == Cell::value);  // the other rows are unaffected
  }
}

TEST_CASE("arrow dictionary-encoded strings: each entry looked up once per batch", "[arrow]") {
  Arena ar;
  // Dictionary array sliced by its own offset: entries are org/a, org/b, org/c, null.
  ArrowArray* dict = ar.strings({OptS("junk"), OptS("org/a"), OptS("org/b"), OptS("org/c"), std::nullopt});
  dict->offset = 1;
  dict->length = 4;
  ArrowArray* idx = ar.primitive<int32_t>({0, 1, 0, 2, std::nullopt, 1, 3, 7, 0});
  idx->dictionary = dict;
  ArrowSchema* schema = ar.schema("+s", "", {ar.schema("i", "repo", {}, ar.schema("u", nullptr))});
  ArrowArray* batch = ar.batch(9, {idx});
  RecordBatchView view(*schema, *batch);
  const StringColumn c = view.strings(0);
  REQUIRE(c.is_dictionary());
  REQUIRE(c.dictionary_size() == 4);

  // The consumer's pattern: map every entry once, then per row only the code.
  int lookups = 0;
  std::vector<std::string> mapped;
  for (int64_t k = 0; k < c.dictionary_size(); ++k) {
    std::string_view s;
    ++lookups;
    mapped.push_back(c.dictionary_entry(k, &s) == Cell::value ? "id:" + std::string(s) : "<null>");
  }
  std::vector<std::string> rows;
  for (int64_t r = 0; r < c.length(); ++r) {
    int64_t k = -1;
    std::string why;
    const Cell cell = c.code(r, &k, &why);
    rows.push_back(cell == Cell::value ? mapped[k] : cell == Cell::null ? "<null>" : "<bad: " + why + ">");
  }
  CHECK(lookups == 4);  // 4 entries for 9 rows
  CHECK(rows == std::vector<std::string>{"id:org/a", "id:org/b", "id:org/a", "id:org/c", "<null>", "id:org/b",
                                         "<null>", "<bad: dictionary index 7 outside the dictionary (4 entries)>",
                                         "id:org/a"});
  // get() resolves through the dictionary: a null entry is a null row, a bad index a bad row.
  CHECK(all_strings(c) == std::vector<std::string>{"org/a", "org/b", "org/a", "org/c", "<null>", "org/b", "<null>",
                                                   "<bad>", "org/a"});

  SECTION("uint8 and int64 indices") {
    ArrowArray* u8 = ar.primitive<uint8_t>({9, 2, 0});
    u8->offset = 1;  // a sliced index array: codes 2, 0
    u8->length = 2;
    u8->dictionary = dict;
    ArrowArray* i64 = ar.primitive<int64_t>({1, -1});
    i64->dictionary = dict;
    ArrowSchema* s2 = ar.schema("+s", "", {ar.schema("C", "a", {}, ar.schema("u", nullptr)),
                                           ar.schema("l", "b", {}, ar.schema("u", nullptr))});
    RecordBatchView v2(*s2, *ar.batch(2, {u8, i64}));
    CHECK(all_strings(v2.strings(0)) == std::vector<std::string>{"org/c", "org/a"});
    CHECK(all_strings(v2.strings(1)) == std::vector<std::string>{"org/b", "<bad>"});
  }
  SECTION("a dictionary of large_utf8 values is a string column too") {
    ArrowArray* big = ar.strings<int64_t>({OptS("x"), OptS("y")});
    ArrowArray* ix = ar.primitive<int16_t>({1, 1, 0});
    ix->dictionary = big;
    ArrowSchema* s2 = ar.schema("+s", "", {ar.schema("s", "repo", {}, ar.schema("U", nullptr))});
    CHECK(all_strings(RecordBatchView(*s2, *ar.batch(3, {ix})).strings(0)) == std::vector<std::string>{"y", "y", "x"});
  }
  SECTION("a dictionary column whose array lacks the dictionary is a batch error") {
    idx->dictionary = nullptr;
    CHECK_THROWS_WITH(view.strings(0), Catch::Contains("without its dictionary"));
  }
}

TEST_CASE("arrow integer columns: int32, int64, uint64, range checks as row problems", "[arrow]") {
  Arena ar;
  ArrowArray* i32 = ar.primitive<int32_t>({5, -3, std::nullopt, std::numeric_limits<int32_t>::max()});
  ArrowArray* i64 = ar.primitive<int64_t>({std::numeric_limits<int64_t>::min(), 0, 7, 1});
  ArrowArray* u64 = ar.primitive<uint64_t>({(1ull << 63) + 1, 42, 0, std::numeric_limits<uint64_t>::max()});
  ArrowArray* u16 = ar.primitive<uint16_t>({65535, 1, 2, 3});
  ArrowSchema* schema = ar.schema("+s", "", {ar.schema("i", "downloads"), ar.schema("l", "a"), ar.schema("L", "b"),
                                             ar.schema("S", "c")});
  ArrowArray* batch = ar.batch(4, {i32, i64, u64, u16});
  BatchContext ctx;
  ctx.source = "arrow:downloads";
  ctx.batch = 2;
  ctx.first_row = 1000;
  RecordBatchView view(*schema, *batch, ctx);

  const IntColumn d = view.integers(view.require("downloads"));
  CHECK_FALSE(d.is_unsigned());
  uint64_t u = 0;
  int64_t s = 0;
  std::string why;
  CHECK(d.get_uint64(0, &u, &why) == Cell::value);
  CHECK(u == 5);
  CHECK(d.get_int64(1, &s) == Cell::value);
  CHECK(s == -3);
  // A negative value where a count is required: a problem of that row only.
  REQUIRE(d.get_uint64(1, &u, &why) == Cell::bad);
  CHECK(why == "negative value -3");
  const host::Reject r = view.reject(d.problem(1, why));
  CHECK(r.file == "arrow:downloads");
  CHECK(r.line == 1002);  // global row 1001, 1-based
  CHECK(r.field == "downloads");
  CHECK(r.reason == "negative value -3");
  CHECK(d.get_uint64(2, &u) == Cell::null);
  const host::Reject null_reject = view.reject(d.problem(2, kNullRequired));
  CHECK(null_reject.line == 1003);
  CHECK(null_reject.reason == "null where a value is required");
  CHECK(d.get_uint64(3, &u) == Cell::value);
  CHECK(u == 2147483647u);

  const IntColumn a = view.integers(1);
  CHECK(a.get_int64(0, &s) == Cell::value);
  CHECK(s == std::numeric_limits<int64_t>::min());
  CHECK(a.get_uint64(0, &u) == Cell::bad);

  const IntColumn b = view.integers(2);
  CHECK(b.is_unsigned());
  CHECK(b.get_uint64(0, &u) == Cell::value);
  CHECK(u == (1ull << 63) + 1);
  REQUIRE(b.get_int64(0, &s, &why) == Cell::bad);
  CHECK(why == "value 9223372036854775809 above the int64 range");
  CHECK(b.get_int64(1, &s) == Cell::value);
  CHECK(s == 42);
  CHECK(b.get_uint64(3, &u) == Cell::value);
  CHECK(u == std::numeric_limits<uint64_t>::max());

  CHECK(view.integers(3).get_uint64(0, &u) == Cell::value);
  CHECK(u == 65535);

  SECTION("a sliced integer column reads from its offset") {
    i64->offset = 2;
    i64->length = 2;
    batch->length = 2;
    RecordBatchView v(*schema, *batch);
    CHECK(v.integers(1).get_int64(0, &s) == Cell::value);
    CHECK(s == 7);
    CHECK(v.integers(1).get_int64(1, &s) == Cell::value);
    CHECK(s == 1);
  }
}

TEST_CASE("arrow timestamps to UTC days: each unit, with and without zone, negatives floored", "[arrow]") {
  Arena ar;
  const int64_t day_ms = 86400000;
  ArrowArray* ms = ar.primitive<int64_t>({0, -1, day_ms, -day_ms, -day_ms - 1, std::nullopt, 19000 * day_ms + 5});
  ArrowArray* sec = ar.primitive<int64_t>({86399, 86400, -86400, std::numeric_limits<int64_t>::max(), 0, 0, 0});
  ArrowArray* us = ar.primitive<int64_t>({-1, 86400000000LL, 0, 0, 0, 0, 0});
  ArrowArray* ns = ar.primitive<int64_t>({-1, 86400000000000LL * 19000, std::numeric_limits<int64_t>::min(), 0, 0, 0, 0});
  ArrowSchema* schema = ar.schema("+s", "", {ar.schema("tsm:UTC", "date"), ar.schema("tss:", "s"),
                                             ar.schema("tsu:Europe/Paris", "u"), ar.schema("tsn:", "n")});
  ArrowArray* batch = ar.batch(7, {ms, sec, us, ns});
  RecordBatchView view(*schema, *batch);

  CHECK(all_days(view.days(view.require("day|date"))) ==
        std::vector<std::string>{"0", "-1", "1", "-1", "-2", "<null>", "19000"});
  const DayColumn s = view.days(1);
  CHECK(all_days(s) == std::vector<std::string>{"0", "1", "-1", "<bad>", "0", "0", "0"});
  int32_t d;
  std::string why;
  CHECK(s.get(3, &d, &why) == Cell::bad);
  CHECK_THAT(why, Catch::StartsWith("date out of range: 9223372036854775807"));
  // A zone does not change the day: the value is the instant since the epoch (UTC).
  CHECK(all_days(view.days(2))[0] == "-1");
  CHECK(all_days(view.days(2))[1] == "1");
  const std::vector<std::string> n = all_days(view.days(3));
  CHECK(n[0] == "-1");
  CHECK(n[1] == "19000");
  CHECK(n[2] == "-106752");  // INT64_MIN ns, 1677-09-21

  SECTION("a sliced timestamp column reads from its offset") {
    ms->offset = 4;
    ms->length = 3;
    batch->length = 3;
    CHECK(all_days(RecordBatchView(*schema, *batch).days(0)) == std::vector<std::string>{"-2", "<null>", "19000"});
  }
}

TEST_CASE("arrow date32, date64 and ISO date strings to days", "[arrow]") {
  Arena ar;
  ArrowArray* d32 = ar.primitive<int32_t>({19000, -1, std::nullopt, 0});
  ArrowArray* d64 = ar.primitive<int64_t>({-1, 19000LL * 86400000, std::numeric_limits<int64_t>::max(), std::nullopt});
  ArrowArray* iso = ar.strings({OptS("2024-03-05"), OptS("2024-03-05T23:59:59Z"), OptS("1969-12-31"), OptS("soon")});
  ArrowArray* dict = ar.strings({OptS("2021-01-01"), OptS("not-a-date")});
  ArrowArray* codes = ar.primitive<int8_t>({0, 1, 0, std::nullopt});
  codes->dictionary = dict;
  ArrowSchema* schema =
      ar.schema("+s", "", {ar.schema("tdD", "a"), ar.schema("tdm", "b"), ar.schema("u", "c"),
                           ar.schema("c", "d", {}, ar.schema("u", nullptr))});
  RecordBatchView view(*schema, *ar.batch(4, {d32, d64, iso, codes}));
  CHECK(all_days(view.days(0)) == std::vector<std::string>{"19000", "-1", "<null>", "0"});
  CHECK(all_days(view.days(1)) == std::vector<std::string>{"-1", "19000", "<bad>", "<null>"});
  CHECK(all_days(view.days(2)) == std::vector<std::string>{"19787", "19787", "-1", "<bad>"});
  int32_t day;
  std::string why;
  CHECK(view.days(2).get(3, &day, &why) == Cell::bad);
  CHECK(why == "not a date: 'soon'");
  CHECK(all_days(view.days(3)) == std::vector<std::string>{"18628", "<bad>", "18628", "<null>"});
}

TEST_CASE("arrow column of the wrong type or missing is a batch error naming it", "[arrow]") {
  Arena ar;
  ArrowArray* f64 = ar.primitive<double>({1.5, 2.0});
  ArrowArray* s = ar.strings({OptS("x"), OptS("y")});
  ArrowArray* idx = ar.primitive<int32_t>({0, 0});
  idx->dictionary = ar.strings({OptS("x")});
  ArrowSchema* schema = ar.schema("+s", "", {ar.schema("g", "downloads"), ar.schema("u", "repo"),
                                             ar.schema("i", "kind", {}, ar.schema("u", nullptr))});
  BatchContext ctx;
  ctx.source = "arrow:hub";
  ctx.batch = 4;
  RecordBatchView view(*schema, *ar.batch(2, {f64, s, idx}), ctx);

  try {
    view.integers(view.require("downloads"));
    FAIL("a float64 column was taken as integers");
  } catch (const ArrowBatchError& e) {
    CHECK(e.batch() == 4);
    CHECK(e.file() == "arrow:hub");
    CHECK(e.field() == "downloads");
    CHECK_THAT(e.what(), Catch::Contains("'g' (float64)") && Catch::Contains("integer is required") &&
                             Catch::Contains("batch 4"));
  }
  CHECK_THROWS_WITH(view.strings(0), Catch::Contains("'downloads'") && Catch::Contains("'g' (float64) where a string"));
  CHECK_NOTHROW(view.days(1));
  CHECK_THROWS_WITH(view.integers(1), Catch::Contains("'u' (utf8)"));
  CHECK_THROWS_WITH(view.integers(2), Catch::Contains("'kind'") &&
                                          Catch::Contains("dictionary of 'u' (utf8) with 'i' (int32) indices"));
  CHECK_THROWS_WITH(view.days(0), Catch::Contains("where a date is required"));

  CHECK(view.find("repo_id|repo") == 1);
  CHECK(view.find("Repo") == -1);  // case-sensitive
  CHECK(view.find("nothing|downloads|repo") == 0);
  CHECK_THROWS_WITH(view.require("repo_id|id|modelId"),
                    Catch::Contains("field 'repo_id'") && Catch::Contains("no column named repo_id, id or modelId"));

  SECTION("a batch that is not a struct") {
    ArrowSchema* not_struct = ar.schema("i", "x");
    CHECK_THROWS_WITH(RecordBatchView(*not_struct, *f64), Catch::Contains("'i' (int32), not a struct"));
  }
  SECTION("a column with nulls but no bitmap") {
    f64->null_count = 1;
    CHECK_THROWS_WITH(view.integers(0), Catch::Contains("without a validity bitmap"));
  }
}

namespace {

using ecostat::testing::TestStream;
using ecostat::testing::make_stream;
using ecostat::testing::check_all_released_once;

// Three batches of (repo utf8, downloads int64) of 2, 3 and 1 rows.
void three_batches(Arena& ar, TestStream& t) {
  t.schema = ar.schema("+s", "", {ar.schema("u", "repo"), ar.schema("l", "downloads")});
  t.batches.push_back(ar.batch(2, {ar.strings({OptS("a/1"), OptS("a/2")}), ar.primitive<int64_t>({1, 2})}));
  t.batches.push_back(ar.batch(3, {ar.strings({OptS("b/1"), std::nullopt, OptS("b/3")}), ar.primitive<int64_t>({3, 4, -5})}));
  t.batches.push_back(ar.batch(1, {ar.strings({OptS("c/1")}), ar.primitive<int64_t>({6})}));
}

}  // namespace

TEST_CASE("arrow stream of three batches: rows, contexts, every release called once", "[arrow]") {
  Arena ar;
  TestStream t;
  three_batches(ar, t);
  ArrowArrayStream stream = make_stream(&t);

  std::vector<std::string> seen;
  std::vector<host::Reject> rejects;
  const uint64_t n = for_each_batch(&stream, "hub", [&](const RecordBatchView& batch) {
    const StringColumn repo = batch.strings(batch.require("repo"));
    const IntColumn downloads = batch.integers(batch.require("downloads"));
    for (int64_t r = 0; r < batch.num_rows(); ++r) {
      std::string_view id;
      uint64_t count = 0;
      std::string why;
      if (repo.get(r, &id) != Cell::value) {
        rejects.push_back(batch.reject(repo.problem(r, kNullRequired)));
        continue;
      }
      if (downloads.get_uint64(r, &count, &why) != Cell::value) {
        rejects.push_back(batch.reject(downloads.problem(r, why)));
        continue;
      }
      seen.push_back(std::to_string(batch.context().batch) + ":" + std::string(id) + "=" + std::to_string(count));
    }
  });
  CHECK(n == 3);
  CHECK(seen == std::vector<std::string>{"0:a/1=1", "0:a/2=2", "1:b/1=3", "2:c/1=6"});
  REQUIRE(rejects.size() == 2);
  CHECK(rejects[0].file == "arrow:hub");
  CHECK(rejects[0].line == 4);  // batch 1 starts at global row 2; its row 1 is line 4
  CHECK(rejects[0].field == "repo");
  CHECK(rejects[1].line == 5);
  CHECK(rejects[1].field == "downloads");
  CHECK(rejects[1].reason == "negative value -5");
  CHECK(stream.release == nullptr);  // moved into the reader
  CHECK(t.releases == 1);
  check_all_released_once(ar);
}

TEST_CASE("arrow stream: an exception in the consumer still releases everything once", "[arrow]") {
  Arena ar;
  TestStream t;
  three_batches(ar, t);
  ArrowArrayStream stream = make_stream(&t);
  CHECK_THROWS_AS(for_each_batch(&stream, "hub",
                                 [&](const RecordBatchView& batch) {
                                   if (batch.context().batch == 1) batch.integers(batch.require("repo"));
                                 }),
                  ArrowBatchError);
  CHECK(t.next == 2);  // batch 2 was never asked for: the stream's release freed it
  CHECK(t.releases == 1);
  check_all_released_once(ar);
}

TEST_CASE("arrow stream: a failing get_next is an InputError with get_last_error's text", "[arrow]") {
  Arena ar;
  TestStream t;
  three_batches(ar, t);
  t.fail_next_at = 1;
  ArrowArrayStream stream = make_stream(&t);
  int batches = 0;
  try {
    for_each_batch(&stream, "parquet-scan", [&](const RecordBatchView&) { ++batches; });
    FAIL("the failing stream was read to its end");
  } catch (const InputError& e) {
    CHECK(e.file() == "arrow:parquet-scan");
    CHECK_THAT(e.reason(), Catch::StartsWith("get_next failed: row group 2: checksum mismatch (error " +
                                             std::to_string(EIO)));
  }
  CHECK(batches == 1);
  CHECK(t.releases == 1);
  check_all_released_once(ar);
}

TEST_CASE("arrow stream: a failing get_schema or a non-struct schema is an InputError", "[arrow]") {
  Arena ar;
  TestStream t;
  three_batches(ar, t);
  SECTION("get_schema fails") {
    t.fail_schema = true;
    ArrowArrayStream stream = make_stream(&t);
    CHECK_THROWS_WITH(ArrowStreamReader(&stream, "x"), Catch::Contains("arrow:x") &&
                                                           Catch::Contains("get_schema failed: schema unavailable: bucket gone"));
  }
  SECTION("the schema is not a struct") {
    t.schema->format = "l";
    ArrowArrayStream stream = make_stream(&t);
    CHECK_THROWS_WITH(ArrowStreamReader(&stream, "x"), Catch::Contains("'l' (int64), not a struct"));
  }
  CHECK(t.releases == 1);  // released although the reader's constructor threw
  check_all_released_once(ar);
}

TEST_CASE("arrow stream reader: batches one by one, then end of stream", "[arrow]") {
  Arena ar;
  TestStream t;
  three_batches(ar, t);
  ArrowArrayStream stream = make_stream(&t);
  {
    ArrowStreamReader reader(&stream, "s");
    CHECK(reader.schema().n_children == 2);
    OwnedArray batch;
    BatchContext ctx;
    std::vector<uint64_t> first_rows;
    while (reader.next(&batch, &ctx)) first_rows.push_back(ctx.first_row);
    CHECK(first_rows == std::vector<uint64_t>{0, 2, 5});
    CHECK(reader.rows_read() == 6);
    CHECK_FALSE(reader.next(&batch));  // stays at the end without asking the producer again
    CHECK(t.calls == 4);
    CHECK(t.releases == 0);  // the stream lives as long as the reader
  }
  CHECK(t.releases == 1);
  check_all_released_once(ar);
}

TEST_CASE("arrow owned structs release once and move ownership", "[arrow]") {
  Arena ar;
  ArrowArray* a = ar.primitive<int32_t>({1});
  {
    OwnedArray owner(a);
    CHECK(a->release == nullptr);  // moved out of the producer's struct
    OwnedArray moved(std::move(owner));
    CHECK_FALSE(owner.valid());
    CHECK(moved.valid());
    CHECK(moved.get().length == 1);
  }
  ArrowSchema* s = ar.schema("+s", "", {ar.schema("i", "x")});
  { OwnedSchema owner(s); }
  check_all_released_once(ar);
}
