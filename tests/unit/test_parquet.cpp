// Parquet files as Arrow C streams (host/include/ecostat/host/parquet.hpp). Fixtures:
// tests/fixtures/parquet (make_fixtures.py, written by pyarrow; this test runs no Python).
// In a build without Parquet (ECOSTAT_PARQUET=OFF, or AUTO without pyarrow) the cases that
// need the reader check the "built without Parquet" error instead and WARN that they did.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ecostat/errors.hpp"
#include "ecostat/host/arrow_readers.hpp"
#include "ecostat/host/parquet.hpp"
#include "support/scoped_env.hpp"
#include "support/temp_files.hpp"

using namespace ecostat;
using namespace ecostat::host;

namespace {

const std::string kDownloads = std::string(ECOSTAT_FIXTURES) + "/parquet/downloads.parquet";
const std::string kRepos = std::string(ECOSTAT_FIXTURES) + "/parquet/repos.parquet";
const std::string kPaged = std::string(ECOSTAT_FIXTURES) + "/parquet/downloads_paged.parquet";

// The fixture's downloads.parquet, row i (make_fixtures.py).
std::string expected_repo(int i) {
  const int k = i % 7;
  return "org" + std::to_string(k % 3) + "/model-" + std::to_string(k);
}
int64_t expected_downloads(int i) { return (static_cast<int64_t>(i) * 37) % 1000; }

// Owns an exported stream and what was read from it, releasing everything.
struct Stream {
  ArrowArrayStream s{};
  ArrowSchema schema{};
  std::vector<ArrowArray> batches;
  ~Stream() {
    for (ArrowArray& a : batches)
      if (a.release) a.release(&a);
    if (schema.release) schema.release(&schema);
    if (s.release) s.release(&s);
  }
  void read_schema() { REQUIRE(s.get_schema(&s, &schema) == 0); }
  // Reads every batch; returns get_next's first non-zero code (0 at a clean end).
  int read_all() {
    for (;;) {
      ArrowArray a{};
      const int rc = s.get_next(&s, &a);
      if (rc != 0) return rc;
      if (!a.release) return 0;  // end of stream
      batches.push_back(a);
    }
  }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

std::string utf8_at(const ArrowArray& a, int64_t i) {
  const auto* offsets = static_cast<const int32_t*>(a.buffers[1]);
  const auto* data = static_cast<const char*>(a.buffers[2]);
  const int64_t j = a.offset + i;
  return std::string(data + offsets[j], static_cast<size_t>(offsets[j + 1] - offsets[j]));
}

// Where a case cannot run here: checks the "built without Parquet" error and says so.
void check_not_built() {
  WARN("this build has no Parquet support (ECOSTAT_PARQUET=OFF, or AUTO without pyarrow): "
       "checking the 'built without Parquet' error instead of reading the file");
  ArrowArrayStream s{};
  CHECK(error_of([&] { open_parquet_stream(kDownloads, 0, &s); }) == kDownloads + ": " + kParquetNotBuilt);
  CHECK(s.release == nullptr);
}

}  // namespace

TEST_CASE("parquet: files are recognised by their magic bytes, not their names", "[parquet]") {
  const std::string dir = test::temp_dir("parquet");
  CHECK(is_parquet_file(kDownloads));
  CHECK(is_parquet_file(kRepos));
  test::write_file(dir + "/text.parquet", "repo,date,downloads\n");
  CHECK_FALSE(is_parquet_file(dir + "/text.parquet"));
  test::write_file(dir + "/short", "PAR");
  CHECK_FALSE(is_parquet_file(dir + "/short"));
  test::write_file(dir + "/noext", "PAR1 and whatever follows");
  CHECK(is_parquet_file(dir + "/noext"));
  CHECK_FALSE(is_parquet_file("-"));
  CHECK_FALSE(is_parquet_file(dir));                   // a directory
  CHECK_FALSE(is_parquet_file(dir + "/missing.parquet"));
  CHECK_FALSE(is_parquet_file("/dev/null"));           // not a regular file
}

TEST_CASE("parquet: the downloads stream has the file's schema, every row in order, repo dictionary-encoded", "[parquet]") {
  if (!parquet_supported()) return check_not_built();
  for (unsigned threads : {1u, 2u, 3u, 8u, 0u}) {
    INFO("threads = " << threads);
    Stream st;
    open_parquet_stream(kDownloads, threads, &st.s);
    st.read_schema();
    REQUIRE(st.schema.n_children == 3);
    CHECK(std::string(st.schema.children[0]->name) == "repo");
    CHECK(std::string(st.schema.children[1]->name) == "date");
    CHECK(std::string(st.schema.children[2]->name) == "downloads");
    // repo: int32 indices into a utf8 dictionary; date stays plain utf8 (stored plain).
    CHECK(std::string(st.schema.children[0]->format) == "i");
    REQUIRE(st.schema.children[0]->dictionary != nullptr);
    CHECK(std::string(st.schema.children[0]->dictionary->format) == "u");
    CHECK(std::string(st.schema.children[1]->format) == "u");
    CHECK(st.schema.children[1]->dictionary == nullptr);
    CHECK(std::string(st.schema.children[2]->format) == "l");

    REQUIRE(st.read_all() == 0);
    CHECK(st.batches.size() == 3);  // one per 100-row group (batches hold up to 256Ki rows)
    int row = 0;
    int64_t mismatches = 0;
    for (const ArrowArray& b : st.batches) {
      REQUIRE(b.n_children == 3);
      const ArrowArray& repo = *b.children[0];
      REQUIRE(repo.dictionary != nullptr);
      CHECK(repo.dictionary->length <= 7);  // the file's dictionary, not one entry per row
      const auto* idx = static_cast<const int32_t*>(repo.buffers[1]);
      const ArrowArray& downloads = *b.children[2];
      const auto* counts = static_cast<const int64_t*>(downloads.buffers[1]);
      for (int64_t i = 0; i < b.length; ++i, ++row) {
        if (utf8_at(*repo.dictionary, idx[repo.offset + i]) != expected_repo(row)) ++mismatches;
        if (counts[downloads.offset + i] != expected_downloads(row)) ++mismatches;
      }
    }
    CHECK(row == 300);  // the file's rows, each once
    CHECK(mismatches == 0);
  }
}

namespace {

// downloads_paged.parquet (make_fixtures.py): rows in runs of 1,000; every 13th run's repo null.
struct PagedRow {
  std::optional<std::string> repo;
  int32_t date = 0;
  int64_t downloads = 0;
  bool operator==(const PagedRow& o) const { return repo == o.repo && date == o.date && downloads == o.downloads; }
};
PagedRow expected_paged(int64_t i) {
  const int64_t r = i / 1000;
  PagedRow row;
  if (r % 13 != 5) row.repo = "org" + std::to_string(r % 7 % 3) + "/model-" + std::to_string(r % 7);
  row.date = static_cast<int32_t>(19723 + r % 60);
  row.downloads = 1 + r % 5;
  return row;
}

bool valid_at(const ArrowArray& a, int64_t i) {
  if (a.null_count == 0 || a.buffers[0] == nullptr) return true;
  const int64_t j = a.offset + i;
  return (static_cast<const uint8_t*>(a.buffers[0])[j / 8] >> (j % 8)) & 1;
}

// Every row of the stream, in order.
std::vector<PagedRow> paged_rows(const Stream& st) {
  std::vector<PagedRow> rows;
  for (const ArrowArray& b : st.batches) {
    const ArrowArray& repo = *b.children[0];
    const auto* idx = static_cast<const int32_t*>(repo.buffers[1]);
    const auto* dates = static_cast<const int32_t*>(b.children[1]->buffers[1]);
    const auto* counts = static_cast<const int64_t*>(b.children[2]->buffers[1]);
    for (int64_t i = 0; i < b.length; ++i) {
      PagedRow row;
      if (valid_at(repo, i)) row.repo = utf8_at(*repo.dictionary, idx[repo.offset + i]);
      row.date = dates[b.children[1]->offset + i];
      row.downloads = counts[b.children[2]->offset + i];
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

}  // namespace

TEST_CASE("parquet: a dictionary column read from its pages keeps nulls and every page, one dictionary a row group", "[parquet]") {
  if (!parquet_supported()) return check_not_built();
  for (unsigned threads : {1u, 3u}) {
    INFO("threads = " << threads);
    Stream pages;
    open_parquet_stream(kPaged, threads, &pages.s);
    pages.read_schema();
    REQUIRE(pages.schema.n_children == 3);
    CHECK(std::string(pages.schema.children[0]->format) == "i");
    REQUIRE(pages.schema.children[0]->dictionary != nullptr);
    CHECK(std::string(pages.schema.children[1]->format) == "tdD");
    REQUIRE(pages.read_all() == 0);
    // Row group 0 (300,000 rows) in two batches of up to 256Ki rows, row group 1 in one.
    REQUIRE(pages.batches.size() == 3);
    CHECK(pages.batches[0].length == 262144);
    CHECK(pages.batches[2].length == 1000);
    // Both batches of row group 0 hold the same dictionary (its 7 entries, once).
    const ArrowArray& d0 = *pages.batches[0].children[0]->dictionary;
    const ArrowArray& d1 = *pages.batches[1].children[0]->dictionary;
    CHECK(d0.length == 7);
    CHECK(d0.buffers[1] == d1.buffers[1]);
    CHECK(d0.buffers[2] == d1.buffers[2]);

    const std::vector<PagedRow> rows = paged_rows(pages);
    REQUIRE(rows.size() == 301000);
    int64_t mismatches = 0, nulls = 0;
    for (int64_t i = 0; i < 301000; ++i) {
      mismatches += !(rows[static_cast<size_t>(i)] == expected_paged(i));
      nulls += !rows[static_cast<size_t>(i)].repo;
    }
    CHECK(mismatches == 0);
    CHECK(nulls == 23000);  // 23 null runs of 1,000

    // The same file through Arrow's own dictionary reader: the same rows, but each batch with
    // its own copy of the dictionary (so the read above did take the page path).
    test::ScopedEnv arrow_only("ECOSTAT_PARQUET_PAGE_DICTIONARIES", "0");
    Stream arrow;
    open_parquet_stream(kPaged, threads, &arrow.s);
    REQUIRE(arrow.read_all() == 0);
    REQUIRE(arrow.batches.size() == 3);
    CHECK(arrow.batches[0].children[0]->dictionary->buffers[2] != arrow.batches[1].children[0]->dictionary->buffers[2]);
    CHECK((paged_rows(arrow) == rows));

    // Buffers from Arrow's default memory pool instead of the C library's: the same rows.
    test::ScopedEnv default_pool("ECOSTAT_PARQUET_POOL", "default");
    Stream pooled;
    open_parquet_stream(kPaged, threads, &pooled.s);
    REQUIRE(pooled.read_all() == 0);
    CHECK((paged_rows(pooled) == rows));
  }
}

// Hostile pages for the page-level dictionary reader (and Arrow's for the other columns): one
// byte of the fixture's column chunks changed, at 400 places (one file each), footer intact.
// Each file must end with an error naming the input (about 340 do: page headers, levels,
// encodings) or be read whole with every row counted, accepted or rejected (an index outside
// the dictionary is a reject). Under ASan (CI) an out-of-bounds access in our code fails it.
TEST_CASE("parquet: corrupt pages of a dictionary column end the stream or are rows counted, never a crash", "[parquet]") {
  if (!parquet_supported()) return check_not_built();
  const std::string dir = test::temp_dir("parquet");
  const std::string whole = test::slurp(kPaged);
  uint32_t footer = 0;
  std::memcpy(&footer, whole.data() + whole.size() - 8, 4);
  REQUIRE(footer + 12 < whole.size());
  const size_t pages_end = whole.size() - 8 - footer;  // the column chunks lie in [4, pages_end)
  constexpr int kPlaces = 400;
  int errors = 0, read_whole = 0;
  for (int k = 0; k < kPlaces; ++k) {
    std::string bytes = whole;
    const size_t at = 4 + (static_cast<size_t>(k) * 7919) % (pages_end - 4);
    bytes[at] = static_cast<char>(bytes[at] ^ (1 + k % 255));
    const std::string path = dir + "/hostile.parquet";
    test::write_file(path, bytes);
    INFO("corrupted at byte " << at);
    RepoTable repos;
    RejectLog rejects;
    DownloadJob job;
    uint64_t events = 0;
    try {
      ArrowArrayStream s{};
      open_parquet_stream(path, 2, &s);
      const ReadStats st = read_downloads_arrow(&s, "hostile", DownloadFormat::detect, repos, rejects, 1 << 16,
                                                [&](const EventBatch& b) { events += b.size() + b.wide.size(); }, {}, job);
      CHECK(st.read == st.accepted + st.rejected);
      CHECK(events <= st.accepted);  // null repos are rejects; zero counts add no event
      ++read_whole;
    } catch (const std::exception& e) {
      CHECK(std::string(e.what()).find("hostile") != std::string::npos);  // names the input
      ++errors;
    }
  }
  CHECK(errors + read_whole == kPlaces);
  CHECK(errors > 0);  // some corruption must have been noticed
}

TEST_CASE("parquet: the repositories stream keeps nulls, timestamps and the tags list", "[parquet]") {
  if (!parquet_supported()) return check_not_built();
  Stream st;
  open_parquet_stream(kRepos, 0, &st.s);
  st.read_schema();
  REQUIRE(st.schema.n_children == 5);
  const char* names[] = {"id", "author", "createdAt", "tags", "downloads"};
  const char* formats[] = {"u", "u", "tsm:UTC", "+l", "l"};
  for (int c = 0; c < 5; ++c) {
    INFO("column " << names[c]);
    CHECK(std::string(st.schema.children[c]->name) == names[c]);
    CHECK(std::string(st.schema.children[c]->format) == formats[c]);
    CHECK(st.schema.children[c]->dictionary == nullptr);  // stored plain: read plain
  }
  REQUIRE(st.schema.children[3]->n_children == 1);
  CHECK(std::string(st.schema.children[3]->children[0]->format) == "u");
  REQUIRE(st.read_all() == 0);
  REQUIRE(st.batches.size() == 1);
  const ArrowArray& b = st.batches[0];
  CHECK(b.length == 4);
  CHECK(utf8_at(*b.children[0], 2) == "bob/adapter");
  CHECK(b.children[1]->null_count == 1);   // author of bob/adapter
  CHECK(b.children[2]->null_count == 1);   // its createdAt
  const auto* created = static_cast<const int64_t*>(b.children[2]->buffers[1]);
  CHECK(created[b.children[2]->offset] == 1704448800000);  // 2024-01-05T10:00:00Z in ms
  CHECK(b.children[3]->null_count == 1);   // carol/quant's tags
  const ArrowArray& tags = *b.children[3];
  const auto* tag_offsets = static_cast<const int32_t*>(tags.buffers[1]);
  CHECK(tag_offsets[tags.offset + 2] - tag_offsets[tags.offset + 1] == 2);  // acme/base-ft: 2 tags
  CHECK(utf8_at(*tags.children[0], tag_offsets[tags.offset + 1] + 1) == "base_model:acme/base");
}

TEST_CASE("parquet: an unreadable or corrupt file is an InputError naming it", "[parquet]") {
  if (!parquet_supported()) return check_not_built();
  const std::string dir = test::temp_dir("parquet");
  const std::string whole = test::slurp(kDownloads);
  REQUIRE(whole.size() > 100);

  const std::string truncated = dir + "/truncated.parquet";  // its footer cut off
  test::write_file(truncated, whole.substr(0, whole.size() / 2));
  ArrowArrayStream s{};
  CHECK_THROWS_AS(open_parquet_stream(truncated, 0, &s), InputError);
  CHECK_THAT(error_of([&] { open_parquet_stream(truncated, 0, &s); }), Catch::StartsWith(truncated + ": Parquet: "));
  CHECK(s.release == nullptr);

  const std::string tiny = dir + "/tiny.parquet";  // magic, nothing else
  test::write_file(tiny, "PAR1");
  CHECK_THAT(error_of([&] { open_parquet_stream(tiny, 0, &s); }), Catch::StartsWith(tiny + ": Parquet: "));

  const std::string missing = dir + "/missing.parquet";
  CHECK_THAT(error_of([&] { open_parquet_stream(missing, 0, &s); }), Catch::StartsWith(missing + ": Parquet: "));
  CHECK(s.release == nullptr);
}

TEST_CASE("parquet: a corrupt row group is a stream error, the footer being intact", "[parquet]") {
  if (!parquet_supported()) return check_not_built();
  const std::string dir = test::temp_dir("parquet");
  std::string bytes = test::slurp(kDownloads);
  // Overwrite the pages after the leading magic (row groups 0 and 1), keeping the footer.
  const size_t end = bytes.size() / 2;
  for (size_t i = 4; i < end; ++i) bytes[i] = static_cast<char>(0xA5 ^ (i * 31));
  const std::string corrupt = dir + "/corrupt.parquet";
  test::write_file(corrupt, bytes);
  for (unsigned threads : {1u, 3u}) {
    INFO("threads = " << threads);
    Stream st;
    open_parquet_stream(corrupt, threads, &st.s);
    st.read_schema();
    CHECK(st.read_all() != 0);
    const char* why = st.s.get_last_error(&st.s);
    REQUIRE(why != nullptr);
    CHECK_THAT(std::string(why), Catch::Contains("Parquet: row group 0 of 3: "));
  }
}

TEST_CASE("parquet: releasing a stream early stops its readers", "[parquet]") {
  if (!parquet_supported()) return check_not_built();
  for (unsigned threads : {1u, 2u, 3u}) {
    Stream st;
    open_parquet_stream(kDownloads, threads, &st.s);
    ArrowArray first{};
    REQUIRE(st.s.get_next(&st.s, &first) == 0);
    REQUIRE(first.release != nullptr);
    CHECK(first.length == 100);
    st.batches.push_back(first);
    st.s.release(&st.s);  // two row groups unread: the workers must stop, not block
    CHECK(st.s.release == nullptr);
  }
  Stream never_read;
  open_parquet_stream(kDownloads, 0, &never_read.s);  // released by ~Stream, nothing read
  SUCCEED("released without reading");
}
