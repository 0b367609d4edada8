// The Parquet readers' recycling memory pool (host/src/recycling_pool.hpp). Built only where
// Parquet input is (this file sees Arrow's headers, as C++20).
#include <catch2/catch.hpp>

#include <arrow/api.h>
#include <arrow/c/abi.h>
#include <arrow/io/file.h>
#include <arrow/memory_pool.h>
#include <parquet/arrow/writer.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

#include "ecostat/host/parquet.hpp"
#include "recycling_pool.hpp"

namespace {

using ecostat::host::detail::RecyclingPool;
constexpr int64_t kMiB = int64_t(1) << 20;
constexpr int64_t kAlign = 64;

// The base pool under test: the C library's, with every call to it counted.
class CountingPool final : public arrow::MemoryPool {
 public:
  arrow::Status Allocate(int64_t size, int64_t alignment, uint8_t** out) override {
    if (size > refuse_above) return arrow::Status::OutOfMemory("refused ", size, " bytes");
    ++allocations;
    outstanding += size;
    return base_->Allocate(size, alignment, out);
  }
  arrow::Status Reallocate(int64_t old_size, int64_t new_size, int64_t alignment, uint8_t** ptr) override {
    ++reallocations;
    outstanding += new_size - old_size;
    return base_->Reallocate(old_size, new_size, alignment, ptr);
  }
  void Free(uint8_t* buffer, int64_t size, int64_t alignment) override {
    ++frees;
    outstanding -= size;
    base_->Free(buffer, size, alignment);
  }
  int64_t bytes_allocated() const override { return base_->bytes_allocated(); }
  int64_t total_bytes_allocated() const override { return base_->total_bytes_allocated(); }
  int64_t num_allocations() const override { return base_->num_allocations(); }
  std::string backend_name() const override { return "counting"; }

  int allocations = 0, reallocations = 0, frees = 0;
  int64_t outstanding = 0;  // bytes the base pool holds for the pool under test
  int64_t refuse_above = int64_t(1) << 40;  // larger requests fail, as a full machine's would

 private:
  arrow::MemoryPool* base_ = arrow::system_memory_pool();
};

uint8_t* allocate(RecyclingPool& pool, int64_t size) {
  uint8_t* p = nullptr;
  REQUIRE(pool.Allocate(size, kAlign, &p).ok());
  REQUIRE(p != nullptr);
  std::memset(p, 0x5a, static_cast<size_t>(size));  // the whole size is writable (ASan checks it in CI)
  return p;
}

bool holds(const uint8_t* p, int64_t size, uint8_t value) {
  for (int64_t i = 0; i < size; ++i)
    if (p[i] != value) return false;
  return true;
}

}  // namespace

TEST_CASE("recycling pool: a large buffer freed during a read serves the next one of about its size", "[parquet][pool]") {
  CountingPool base;
  {
    RecyclingPool pool(&base, 64 * kMiB);
    pool.attach();
    uint8_t* a = allocate(pool, 8 * kMiB);
    CHECK(base.allocations == 1);
    pool.Free(a, 8 * kMiB, kAlign);
    CHECK(pool.kept_bytes() == 8 * kMiB);
    CHECK(base.frees == 0);

    // 7 MiB fits the kept 8 MiB block (at most half of it unused): the same memory, no new one.
    uint8_t* b = allocate(pool, 7 * kMiB);
    CHECK(b == a);
    CHECK(base.allocations == 1);
    CHECK(pool.reused() == 1);
    CHECK(pool.kept_bytes() == 0);
    CHECK(pool.bytes_allocated() == 7 * kMiB);
    pool.Free(b, 7 * kMiB, kAlign);

    // 5 MiB would leave more than half of the 8 MiB block unused: a new block.
    uint8_t* c = allocate(pool, 5 * kMiB);
    CHECK(c != a);
    CHECK(base.allocations == 2);
    CHECK(pool.kept_bytes() == 8 * kMiB);

    // Another alignment never takes a kept block.
    uint8_t* d = nullptr;
    REQUIRE(pool.Allocate(8 * kMiB, 4096, &d).ok());
    CHECK(base.allocations == 3);
    CHECK(reinterpret_cast<uintptr_t>(d) % 4096 == 0);
    pool.Free(d, 8 * kMiB, 4096);
    pool.Free(c, 5 * kMiB, kAlign);
    CHECK(pool.bytes_allocated() == 0);

    // Small buffers are the base pool's alone, never kept.
    uint8_t* s = allocate(pool, 1000);
    pool.Free(s, 1000, kAlign);
    CHECK(pool.kept_bytes() == 8 * kMiB + 8 * kMiB + 5 * kMiB);

    // The last reader's end gives every kept block back.
    pool.detach();
    CHECK(pool.kept_bytes() == 0);
    CHECK(base.outstanding == 0);
    CHECK(base.frees == base.allocations);

    // With no reader attached a freed block goes straight back.
    uint8_t* e = allocate(pool, 2 * kMiB);
    pool.Free(e, 2 * kMiB, kAlign);
    CHECK(pool.kept_bytes() == 0);
    CHECK(base.outstanding == 0);
  }
  CHECK(base.outstanding == 0);
}

TEST_CASE("recycling pool: reallocation keeps the contents, in place while the block holds it", "[parquet][pool]") {
  CountingPool base;
  RecyclingPool pool(&base, 64 * kMiB);
  pool.attach();

  // 4.5 MiB is given a block of 5 MiB (four size steps per power of two): growing to 4.9 MiB
  // stays in place.
  const int64_t first = 9 * kMiB / 2, grown = 49 * kMiB / 10;
  uint8_t* p = allocate(pool, first);
  uint8_t* q = p;
  REQUIRE(pool.Reallocate(first, grown, kAlign, &q).ok());
  CHECK(q == p);
  CHECK(base.allocations == 1);
  CHECK(holds(q, first, 0x5a));
  CHECK(pool.bytes_allocated() == grown);
  std::memset(q, 0x11, static_cast<size_t>(grown));

  // Past the block: moved, the contents copied, the old block kept.
  REQUIRE(pool.Reallocate(grown, 9 * kMiB, kAlign, &q).ok());
  CHECK(q != p);
  CHECK(holds(q, grown, 0x11));
  CHECK(pool.kept_bytes() == 5 * kMiB);
  std::memset(q, 0x22, static_cast<size_t>(9 * kMiB));

  // Large to small: into the base pool's memory, contents kept, the large block kept.
  REQUIRE(pool.Reallocate(9 * kMiB, 1000, kAlign, &q).ok());
  CHECK(holds(q, 1000, 0x22));
  CHECK(pool.kept_bytes() == 5 * kMiB + 10 * kMiB);  // 9 MiB was given a 10 MiB block

  // Small to large: takes a kept block that fits.
  REQUIRE(pool.Reallocate(1000, 8 * kMiB, kAlign, &q).ok());
  CHECK(holds(q, 1000, 0x22));
  CHECK(pool.kept_bytes() == 5 * kMiB);
  CHECK(pool.reused() == 1);
  pool.Free(q, 8 * kMiB, kAlign);
  CHECK(pool.bytes_allocated() == 0);
  pool.detach();
  CHECK(base.outstanding == 0);
}

TEST_CASE("recycling pool: a refused allocation is an error that leaves the pool as it was", "[parquet][pool]") {
  CountingPool base;
  base.refuse_above = 64 * kMiB;
  RecyclingPool pool(&base, 64 * kMiB);
  pool.attach();
  uint8_t* kept = allocate(pool, 8 * kMiB);
  pool.Free(kept, 8 * kMiB, kAlign);
  // Sizes a hostile file may ask for, up to the largest an int64 holds: an error, no overflow.
  for (const int64_t size : {65 * kMiB, int64_t(1) << 41, int64_t(1) << 62, INT64_MAX - 63, INT64_MAX}) {
    uint8_t* p = nullptr;
    const arrow::Status st = pool.Allocate(size, kAlign, &p);
    CHECK(st.IsOutOfMemory());
  }
  CHECK(pool.kept_bytes() == 8 * kMiB);
  CHECK(pool.bytes_allocated() == 0);
  uint8_t* again = allocate(pool, 8 * kMiB);  // the kept block still serves
  CHECK(again == kept);
  // A reallocation that cannot be served keeps the old buffer and its contents.
  uint8_t* q = again;
  CHECK(pool.Reallocate(8 * kMiB, 100 * kMiB, kAlign, &q).IsOutOfMemory());
  CHECK(q == again);
  CHECK(holds(q, 8 * kMiB, 0x5a));
  pool.Free(q, 8 * kMiB, kAlign);
  pool.detach();
  CHECK(base.outstanding == 0);
}

TEST_CASE("recycling pool: what it keeps stays within its limit, oldest given back first", "[parquet][pool]") {
  CountingPool base;
  RecyclingPool pool(&base, 20 * kMiB);
  pool.attach();
  std::vector<uint8_t*> blocks;
  for (int i = 0; i < 4; ++i) blocks.push_back(allocate(pool, 8 * kMiB));
  for (uint8_t* b : blocks) pool.Free(b, 8 * kMiB, kAlign);
  CHECK(pool.kept_bytes() == 16 * kMiB);  // two of 8 MiB; a third would pass 20 MiB
  CHECK(base.frees == 2);
  // The two kept are the last freed.
  uint8_t* again = allocate(pool, 8 * kMiB);
  CHECK((again == blocks[2] || again == blocks[3]));
  pool.Free(again, 8 * kMiB, kAlign);

  // A block larger than the limit is never kept.
  uint8_t* huge = allocate(pool, 24 * kMiB);
  pool.Free(huge, 24 * kMiB, kAlign);
  CHECK(pool.kept_bytes() == 16 * kMiB);
  pool.detach();
  CHECK(base.outstanding == 0);
}

// A file of `groups` row groups of `rows` int64 values each (8 bytes a row: 2.4 MB a row group at
// 300,000 rows, so its buffers take the pool's large path).
std::string write_row_groups(int groups, int64_t rows) {
  arrow::Int64Builder values;
  bool appended = true;
  for (int64_t i = 0; i < groups * rows; ++i) appended &= values.Append(i * 7919 % 1000003).ok();
  REQUIRE(appended);
  std::shared_ptr<arrow::Array> column;
  REQUIRE(values.Finish(&column).ok());
  const auto table = arrow::Table::Make(arrow::schema({arrow::field("downloads", arrow::int64())}), {column});
  char dir[] = "/tmp/ecostat-pool-test-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/values.parquet";
  auto file = arrow::io::FileOutputStream::Open(path);
  REQUIRE(file.ok());
  REQUIRE(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), *file, rows).ok());
  REQUIRE((*file)->Close().ok());
  return path;
}

TEST_CASE("recycling pool: a Parquet read reuses one row group's buffers for the next and gives them back at its end",
          "[parquet][pool]") {
  RecyclingPool& pool = ecostat::host::detail::parquet_recycling_pool();
  const std::string path = write_row_groups(8, 300000);
  for (unsigned threads : {1u, 3u}) {
    const int64_t reused_before = pool.reused();
    ArrowArrayStream s{};
    ecostat::host::open_parquet_stream(path, threads, &s);
    int64_t rows = 0, sum = 0;
    for (;;) {
      ArrowArray a{};
      REQUIRE(s.get_next(&s, &a) == 0);
      if (!a.release) break;
      rows += a.length;
      REQUIRE(a.n_children == 1);
      const auto* v = static_cast<const int64_t*>(a.children[0]->buffers[1]) + a.children[0]->offset;
      for (int64_t i = 0; i < a.length; ++i) sum += v[i];
      a.release(&a);
    }
    s.release(&s);
    INFO("threads " << threads);
    CHECK(rows == 8 * 300000);
    int64_t want = 0;
    for (int64_t i = 0; i < rows; ++i) want += i * 7919 % 1000003;
    CHECK(sum == want);  // reused blocks hold each row group's own values
    CHECK(pool.reused() > reused_before);
    CHECK(pool.kept_bytes() == 0);
  }
  std::remove(path.c_str());
  ::rmdir(path.substr(0, path.rfind('/')).c_str());
}
