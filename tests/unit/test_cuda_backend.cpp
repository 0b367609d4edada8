// The CUDA backend against the CPU backend on the paths the conformance suite does not reach:
// chunks split inside a batch, the wide wire format (counts > 65535, month spans > 256), table
// growth both ways, group maps on the shared-memory and the global path, u64 concentration
// values, many and multi-chunk segments, deep single-parent chains (host tail), merges with
// large ancestries (block walks). Where no CUDA device exists every case says so (WARN) and
// passes. The same file runs against the CPU emulator of kernels/common
// (kernels/common/emu), which adds cases for the internal group-by variants.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <numeric>
#include <random>
#include <string>

#include "ecostat/backend.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/lineage.hpp"
#include "support/scoped_env.hpp"
#include "support/top_rows_check.hpp"

#if defined(ECOSTAT_DEVICE_EMULATOR)
#include "device_config.hpp"
#include "common/device_api.hpp"
#endif

using namespace ecostat;

namespace {

// The CUDA backend, or nullptr (with a WARN saying why) where it cannot run here. Never
// destroyed: the GPU runtime may be torn down before static destructors run.
Backend* cuda_or_skip() {
  static Backend* b = nullptr;
  static std::string why;
  static bool tried = false;
  if (!tried) {
    tried = true;
    const BackendInfo p = probe_cuda_backend();
    if (p.available) {
      try {
        b = make_cuda_backend().release();
      } catch (const std::exception& e) {
        why = e.what();
      }
    } else {
      why = p.status;
    }
  }
  if (!b) WARN("SKIPPED: no usable CUDA device: " << why);
  return b;
}

Backend& cpu() {
  static std::unique_ptr<Backend> b = make_cpu_backend(2);
  return *b;
}

struct ChunkEnv : test::ScopedEnv {  // small chunks, so that batches split into many
  explicit ChunkEnv(const char* v) : ScopedEnv("ECOSTAT_DEVICE_CHUNK_EVENTS", v) {}
};

void same_totals(const EventTotals& a, const EventTotals& b) {
  CHECK(a.events == b.events);
  CHECK(a.month_first == b.month_first);
  CHECK(a.n_months == b.n_months);
  CHECK(a.unit_total == b.unit_total);
  REQUIRE(a.group_month.size() == b.group_month.size());
  for (size_t i = 0; i < a.group_month.size(); ++i) {
    INFO("map " << i);
    CHECK(a.group_month[i].n_groups == b.group_month[i].n_groups);
    CHECK(a.group_month[i].n_months == b.group_month[i].n_months);
    CHECK(a.group_month[i].month_first == b.group_month[i].month_first);
    CHECK(a.group_month[i].sums == b.group_month[i].sums);
  }
}

std::vector<EventBatch> random_batches(std::mt19937_64& rng, int n_batches, size_t per, uint32_t units, Month lo,
                                       uint32_t span, uint32_t max_count) {
  std::vector<EventBatch> out(n_batches);
  for (auto& b : out) {
    for (size_t i = 0; i < per; ++i) {
      const double r = std::uniform_real_distribution<double>(0, 1)(rng);
      const uint32_t u = static_cast<uint32_t>(units * r * r * r);
      b.push(std::min(u, units - 1), Month(lo + rng() % span), static_cast<uint32_t>(rng() % (uint64_t(max_count) + 1)));
    }
  }
  return out;
}

EventTotals run(Backend& be, const std::vector<EventBatch>& batches, uint32_t n_units,
                const std::vector<GroupMap>& maps) {
  auto acc = be.make_accumulator();
  for (const auto& b : batches) acc->add(b);
  return acc->finish(n_units, maps);
}

std::vector<GroupMap> maps_for(uint32_t n_units, std::mt19937_64& rng) {
  std::vector<GroupMap> m;
  m.push_back({"unit", {}, n_units});
  GroupMap small{"small", std::vector<uint32_t>(n_units), 37};
  for (auto& g : small.group_of_unit) g = static_cast<uint32_t>(rng() % 37);
  m.push_back(small);
  GroupMap large{"large", std::vector<uint32_t>(n_units), 9000};  // over the shared-memory limit
  for (auto& g : large.group_of_unit) g = static_cast<uint32_t>(rng() % 9000);
  m.push_back(large);
  return m;
}

}  // namespace

TEST_CASE("cuda backend: info and probe", "[cuda]") {
  const BackendInfo p = probe_cuda_backend();
  CHECK(p.name == "cuda");
  if (!p.available) {
    WARN("SKIPPED: " << p.status);
    CHECK(!p.status.empty());
    CHECK_THROWS_AS(make_cuda_backend(), Error);
    return;
  }
  Backend* b = cuda_or_skip();
  REQUIRE(b);
  CHECK(b->info().name == "cuda");
  CHECK(b->info().available);
}

TEST_CASE("cuda backend: accumulate, small chunks, narrow and wide, growth both ways", "[cuda]") {
  Backend* be = cuda_or_skip();
  if (!be) return;
  ChunkEnv env("1000");
  std::mt19937_64 rng(7);
  std::vector<EventBatch> batches;
  for (auto& b : random_batches(rng, 3, 5000, 500, 700, 12, 64)) batches.push_back(b);          // narrow
  for (auto& b : random_batches(rng, 2, 3000, 4000, 650, 30, 1000000)) batches.push_back(b);    // wide: counts
  for (auto& b : random_batches(rng, 2, 3000, 9000, 100, 700, 100)) batches.push_back(b);       // wide: months
  for (auto& b : random_batches(rng, 1, 2000, 100, 900, 3, 0xffffffffu)) batches.push_back(b);  // huge counts
  batches.push_back(EventBatch{});
  const uint32_t n_units = 9500;
  const auto maps = maps_for(n_units, rng);
  same_totals(run(*be, batches, n_units, maps), run(cpu(), batches, n_units, maps));
}

TEST_CASE("cuda backend: accumulate errors like the CPU backend", "[cuda]") {
  Backend* be = cuda_or_skip();
  if (!be) return;
  SECTION("event outside its batch's unit_bound") {
    EventBatch b;
    b.push(5, 700, 1);
    b.unit_bound = 3;
    auto acc = be->make_accumulator();
    CHECK_THROWS_AS(acc->add(b), Error);
  }
  SECTION("event outside its batch's months") {
    EventBatch b;
    b.push(1, 700, 1);
    b.month_max = 699;
    b.month_min = 690;
    auto acc = be->make_accumulator();
    CHECK_THROWS_AS(acc->add(b), Error);
  }
  SECTION("finish below a unit with downloads") {
    EventBatch b;
    b.push(10, 700, 4);
    auto acc = be->make_accumulator();
    acc->add(b);
    CHECK_THROWS_AS(acc->finish(5, {}), Error);
  }
  SECTION("a group map too short or out of range") {
    EventBatch b;
    b.push(1, 700, 4);
    auto acc = be->make_accumulator();
    acc->add(b);
    CHECK_THROWS_AS(acc->finish(3, {{"short", {0, 1}, 2}}), Error);
    auto acc2 = be->make_accumulator();
    acc2->add(b);
    CHECK_THROWS_AS(acc2->finish(3, {{"range", {0, 1, 7}, 2}}), Error);
  }
  SECTION("zero-count events past n_units are fine") {
    EventBatch b;
    b.push(10, 700, 0);
    b.push(1, 700, 3);
    auto acc = be->make_accumulator();
    acc->add(b);
    const EventTotals t = acc->finish(5, {});
    CHECK(t.unit_total == std::vector<uint64_t>{0, 3, 0, 0, 0});
  }
}

TEST_CASE("cuda backend: group_sum on both paths", "[cuda]") {
  Backend* be = cuda_or_skip();
  if (!be) return;
  std::mt19937_64 rng(3);
  for (uint32_t G : {1u, 100u, 6144u, 6145u, 70000u}) {
    std::vector<uint64_t> v(50000);
    for (auto& x : v) x = rng() >> 20;
    GroupMap m{"g", std::vector<uint32_t>(v.size()), G};
    for (auto& g : m.group_of_unit) g = static_cast<uint32_t>(rng() % G);
    CHECK(be->group_sum(v, m) == cpu().group_sum(v, m));
  }
  GroupMap bad{"bad", {0, 5}, 3};
  CHECK_THROWS_AS(be->group_sum({1, 2}, bad), Error);
}

TEST_CASE("cuda backend: concentration with u64 values, many segments, long segments", "[cuda]") {
  Backend* be = cuda_or_skip();
  if (!be) return;
  std::mt19937_64 rng(11);
  ConcentrationSpec spec;
  spec.below = {0, 1, 200, uint64_t(1) << 40};
  spec.percentiles = {0, 25, 50, 99.9, 100};
  SECTION("values above 2^32, one segment, several chunks") {
    std::vector<uint64_t> v(30000);
    for (auto& x : v) x = rng() >> (rng() % 30);
    CHECK(be->concentration(v, {}, 1, spec) == cpu().concentration(v, {}, 1, spec));
  }
  SECTION("small values, segments of every size incl. empty and > 4096") {
    std::vector<uint64_t> v(40000);
    std::vector<uint32_t> seg(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      v[i] = rng() % 1000;
      seg[i] = i < 20000 ? 3 : static_cast<uint32_t>(rng() % 50) * 2;  // odd segments stay empty
    }
    CHECK(be->concentration(v, seg, 101, spec) == cpu().concentration(v, seg, 101, spec));
  }
  SECTION("more segments than the shared-memory histogram holds") {
#if defined(ECOSTAT_DEVICE_EMULATOR)  // one warp per query: keep the emulator's query count small
    const uint32_t S = 4500;
    spec = ConcentrationSpec{{1}, {}, {50}, {200}, 3};
#else
    const uint32_t S = 9000;
#endif
    std::vector<uint64_t> v(60000);
    std::vector<uint32_t> seg(v.size());
    for (size_t i = 0; i < v.size(); ++i) v[i] = rng() >> 3, seg[i] = static_cast<uint32_t>(rng() % S);
    CHECK(be->concentration(v, seg, S, spec) == cpu().concentration(v, seg, S, spec));
  }
  SECTION("a bad segment id throws") {
    CHECK_THROWS_AS(be->concentration({1, 2, 3}, {0, 1, 4}, 2, spec), Error);
  }
}

namespace {
LineageGraph graph_of(uint32_t n, const std::vector<BaseEdge>& e) { return build_lineage_graph(n, e, nullptr); }
BaseEdge edge(uint32_t c, uint32_t p, Relation r, uint16_t o) { return BaseEdge{c, p, r, o}; }
}  // namespace

TEST_CASE("cuda backend: lineage, deep chains under a bushy top, large merge ancestries", "[cuda]") {
  Backend* be = cuda_or_skip();
  if (!be) return;
  std::mt19937_64 rng(5);
  SECTION("a bushy top (levels on the device) and a 5000-deep chain (levels on the host)") {
    const uint32_t bushy = 20000, chain = 5000, n = bushy + chain;
    std::vector<BaseEdge> e;
    for (uint32_t i = 1; i < bushy; ++i)
      if (rng() % 8) e.push_back(edge(i, static_cast<uint32_t>(rng() % i), static_cast<Relation>(rng() % 5), 0));
    for (uint32_t i = bushy; i < n; ++i) e.push_back(edge(i, i - 1, static_cast<Relation>(rng() % 5), 0));
    for (uint32_t i = bushy; i < n; i += 97) e.push_back(edge(i + 1 < n ? i + 1 : i, static_cast<uint32_t>(rng() % bushy), Relation::merge, 1));
    const LineageGraph g = graph_of(n, e);
    CHECK(be->lineage(g) == cpu().lineage(g));
    CHECK(be->lineage(g, LineageOutput::families) == cpu().lineage(g, LineageOutput::families));
  }
  SECTION("merges of merges: ancestries beyond the per-thread walk") {
    const uint32_t n = 3000;
    std::vector<BaseEdge> e;
    for (uint32_t i = 1; i < n; ++i) {
      const int k = i > 10 && rng() % 3 == 0 ? 2 + static_cast<int>(rng() % 4) : 1;
      for (int j = 0; j < k; ++j)
        e.push_back(edge(i, static_cast<uint32_t>(rng() % i), k > 1 ? Relation::merge : Relation::finetune, uint16_t(j)));
    }
    const LineageGraph g = graph_of(n, e);
    CHECK(be->lineage(g) == cpu().lineage(g));
    CHECK(be->lineage(g, LineageOutput::families) == cpu().lineage(g, LineageOutput::families));
  }
  SECTION("a malformed graph throws") {
    LineageGraph g;
    g.n_nodes = 3;
    g.parent_offsets = {0, 1, 1, 2};
    g.parents = {1, 9};
    g.relations = {Relation::finetune, Relation::adapter};
    CHECK_THROWS_AS(be->lineage(g), Error);
  }
}

#if defined(ECOSTAT_DEVICE_EMULATOR)
TEST_CASE("device group-by: every variant equals plain sums (emulator)", "[cuda][emulator]") {
  using namespace ecostat::emudev;
  Context ctx(0);
  std::mt19937_64 rng(9);
  const uint32_t n_keys = 5000;
  const size_t n = 100003;  // not a multiple of 4: the scalar tail too
  std::vector<uint32_t> keys(n), counts(n);
  std::vector<uint64_t> want(n_keys, 0);
  for (size_t i = 0; i < n; ++i) {
    const double r = std::uniform_real_distribution<double>(0, 1)(rng);
    keys[i] = std::min<uint32_t>(n_keys - 1, static_cast<uint32_t>(n_keys * r * r * r * r));
    counts[i] = i % 1000 == 0 ? 0xfffffff0u : static_cast<uint32_t>(1 + rng() % 64);  // some counters wrap
    want[keys[i]] += counts[i];
  }
  struct V {
    GroupByVariant v;
    uint32_t H, slots;
  };
  for (V v : {V{GroupByVariant::atomic, 0, 0}, V{GroupByVariant::hot_slot, 64, 0}, V{GroupByVariant::hot_hash, 64, 128},
              V{GroupByVariant::hot_hash, 96, 128}}) {
    GroupByOptions o;
    o.variant = v.v;
    o.hot_keys = v.H;
    o.table_slots = v.slots;
    o.block_threads = 128;
    o.sample_stride = 16;
    DenseGroupBy gb(ctx, o);
    std::vector<uint64_t> out(n_keys, 0);
    gb.select_hot(keys.data(), n, n_keys, ctx.stream());
    gb.run(keys.data(), counts.data(), n, n_keys, out.data(), ctx.stream());
    ctx.check_flags(ctx.stream(), "group-by");
    INFO(gb.describe());
    CHECK(out == want);
  }
}
#endif

#if defined(ECOSTAT_DEVICE_EMULATOR)
// ---- the emulated target and the risks of issue 12, on the shared device code ----------------
#include <chrono>
#include <future>

namespace {

using namespace ecostat::emudev;

// A narrow chunk of events (unit, month offset from month_base, count) in 16-byte-aligned
// host memory, as a reader that packs its own chunks (add_wire) would hand it over.
struct PackedChunk {
  std::vector<uint4> storage;
  wire::Chunk chunk;
  PackedChunk(const std::vector<std::array<uint32_t, 3>>& events, Month base, Month lo, Month hi, uint32_t unit_bound) {
    const size_t n = events.size();
    const wire::Layout L = wire::layout(wire::Format::narrow, n);
    storage.assign(L.bytes / 16 + 1, uint4{0, 0, 0, 0});
    auto* bytes = reinterpret_cast<uint8_t*>(storage.data());
    for (size_t i = 0; i < n; ++i) {
      reinterpret_cast<uint32_t*>(bytes + L.unit_off)[i] = events[i][0];
      bytes[L.month_off + i] = static_cast<uint8_t>(events[i][1]);
      reinterpret_cast<uint16_t*>(bytes + L.count_off)[i] = static_cast<uint16_t>(events[i][2]);
    }
    chunk.format = wire::Format::narrow;
    chunk.n = static_cast<uint32_t>(n);
    chunk.month_base = base;
    chunk.month_lo = lo;
    chunk.month_hi = hi;
    chunk.unit_bound = unit_bound;
    chunk.data = storage.data();
  }
};

struct MemoryLimitEnv : test::ScopedEnv {  // ECOSTAT_DEVICE_MEMORY_LIMIT for one scope
  explicit MemoryLimitEnv(size_t bytes) : ScopedEnv("ECOSTAT_DEVICE_MEMORY_LIMIT", std::to_string(bytes)) {}
};

EventBatch batch_of(uint32_t n, uint32_t units, Month lo, uint32_t span, uint64_t seed) {
  std::mt19937_64 rng(seed);
  EventBatch b;
  for (uint32_t i = 0; i < n; ++i)
    b.push(static_cast<uint32_t>(rng() % units), Month(lo + rng() % span), static_cast<uint32_t>(1 + rng() % 50));
  return b;
}

}  // namespace

TEST_CASE("emulator: the emulated target is the one the build asked for", "[cuda][emulator]") {
  CHECK(kWarpSize == ECOSTAT_EMU_WARP);
  CHECK(sizeof(lane_mask_t) * 8 == size_t(ECOSTAT_EMU_WARP));
  Context ctx(0);
  CHECK(ctx.props().warp_size == ECOSTAT_EMU_WARP);
  CHECK(ctx.props().smem_per_block_optin == size_t(ECOSTAT_EMU_SMEM));
  // The policy row fits the device it was picked for.
  const TuningPolicy& p = ctx.policy();
  INFO(p.name);
  CHECK(hot_hash_smem_bytes(p.hot_keys) <= ctx.props().smem_per_block_optin);
  CHECK(p.groupby_block % kWarpSize == 0);
}

TEST_CASE("device policy tables: every row's group-by fits the shared memory the row asks for", "[cuda][emulator]") {
  auto check_rows = [](const TuningPolicy* rows, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      INFO(rows[i].name);
      const size_t limit = rows[i].min_smem_optin ? rows[i].min_smem_optin : size_t(32) << 10;
      CHECK(hot_hash_smem_bytes(rows[i].hot_keys) <= limit);
      CHECK(rows[i].groupby_block % 64 == 0);
      CHECK(rows[i].chunk_events <= DeviceAccumulator::kChunkEvents);
      if (i > 0) CHECK(rows[i].min_smem_optin < rows[i - 1].min_smem_optin);  // first match = best row
    }
  };
  check_rows(kCudaPolicies, sizeof(kCudaPolicies) / sizeof(kCudaPolicies[0]));
  check_rows(kHipPolicies, sizeof(kHipPolicies) / sizeof(kHipPolicies[0]));
  DeviceProps amd;
  amd.smem_per_block_optin = 64 << 10;
  CHECK(hot_hash_smem_bytes(select_policy(amd, PolicyTarget::hip).hot_keys) <= (64u << 10));
  DeviceProps h200;
  h200.smem_per_block_optin = 227 << 10;
  CHECK(select_policy(h200, PolicyTarget::cuda).hot_keys == 8192);  // the measured H200 setting
}

TEST_CASE("device group-by: the default options run on the emulated target (64 KiB LDS too)", "[cuda][emulator]") {
  Context ctx(0);
  std::mt19937_64 rng(5);
  const uint32_t n_keys = 20000;
  const size_t n = 50000;
  std::vector<uint32_t> keys(n), counts(n);
  std::vector<uint64_t> want(n_keys, 0);
  for (size_t i = 0; i < n; ++i) {
    const double r = std::uniform_real_distribution<double>(0, 1)(rng);
    keys[i] = std::min<uint32_t>(n_keys - 1, static_cast<uint32_t>(n_keys * r * r * r));
    counts[i] = static_cast<uint32_t>(1 + rng() % 9);
    want[keys[i]] += counts[i];
  }
  GroupByOptions o;  // hot_keys and block from the policy (CUDA's H = 8192 needs 128 KiB)
  o.sample_stride = 8;
  DenseGroupBy gb(ctx, o);
  INFO(gb.describe());
  CHECK(gb.smem_bytes() <= ctx.props().smem_per_block_optin);
  std::vector<uint64_t> out(n_keys, 0);
  gb.select_hot(keys.data(), n, n_keys, ctx.stream());
  gb.run(keys.data(), counts.data(), n, n_keys, out.data(), ctx.stream());
  ctx.check_flags(ctx.stream(), "group-by");
  CHECK(out == want);
}

TEST_CASE("device accumulator: a pre-packed chunk outside its declared bounds throws", "[cuda][emulator]") {
  auto ctx = std::make_shared<Context>(0);
  SECTION("a month past month_hi, inside the table") {
    DeviceAccumulator acc(ctx);
    acc.prepare(100, 600, 610);  // slabs for 600..610: month 605 would land in one
    PackedChunk c({{1, 0, 3}, {2, 1, 4}, {3, 5, 7}}, 600, 600, 601, 100);
    acc.add_wire(c.chunk);
    CHECK_THROWS_WITH(acc.finish(100, {}), Catch::Contains("month"));
  }
  SECTION("a unit at or past unit_bound, inside the table") {
    DeviceAccumulator acc(ctx);
    acc.prepare(100, 600, 601);
    PackedChunk c({{1, 0, 3}, {50, 1, 4}}, 600, 600, 601, 10);
    acc.add_device_wire(c.chunk);  // host memory is device memory on the emulator
    CHECK_THROWS_WITH(acc.finish(100, {}), Catch::Contains("unit"));
  }
  SECTION("a chunk inside its bounds is summed") {
    DeviceAccumulator acc(ctx);
    acc.prepare(100, 600, 610);
    PackedChunk c({{1, 0, 3}, {2, 1, 4}, {1, 1, 5}}, 600, 600, 601, 10);
    acc.add_wire(c.chunk);
    const EventTotals t = acc.finish(10, {});
    CHECK(t.month_first == 600);
    CHECK(t.n_months == 2);
    CHECK(t.unit_total[1] == 8);
    CHECK(t.unit_total[2] == 4);
  }
}

TEST_CASE("device accumulator: finish holds the context mutex (shared staging buffers)", "[cuda][emulator]") {
  auto ctx = std::make_shared<Context>(0);
  DeviceAccumulator acc(ctx);
  acc.add(batch_of(1000, 50, 600, 3, 1));
  std::unique_lock<std::mutex> held(ctx->mutex());  // another Backend call in progress
  auto done = std::async(std::launch::async, [&] { return acc.finish(50, {}); });
  CHECK(done.wait_for(std::chrono::milliseconds(300)) == std::future_status::timeout);
  held.unlock();
  CHECK(done.get().events == 1000);
}

TEST_CASE("device accumulator: an allocation failure mid-batch adds nothing of the batch", "[cuda][emulator]") {
  ChunkEnv env("1024");  // a batch of 3000 events: 3 chunks, one per ring slot
  auto ctx = std::make_shared<Context>(0);
  auto cpu_acc = cpu().make_accumulator();
  DeviceAccumulator acc(ctx);
  const EventBatch first = batch_of(1000, 200, 600, 4, 2);  // one chunk: ring slot 0 only
  const EventBatch second = batch_of(3000, 200, 600, 4, 3);  // same bounds: slots 1 and 2 are new
  acc.add(first);
  cpu_acc->add(first);
  const size_t slot_bytes = wire::layout(wire::Format::wide, 2048).bytes;
  {
    // Room for one more ring slot, not two: the batch's second chunk cannot get its buffer.
    MemoryLimitEnv cap(DeviceMemoryBudget::held().load() + slot_bytes + slot_bytes / 2);
    try {
      acc.add(second);
      FAIL("the capped allocation did not fail");
    } catch (const DeviceError& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find("asked") != std::string::npos);
      CHECK(std::string(e.what()).find("ECOSTAT_DEVICE_MEMORY_LIMIT") != std::string::npos);
    }
  }
  const std::vector<GroupMap> maps{{"unit", {}, 200}};
  same_totals(acc.finish(200, maps), cpu_acc->finish(200, maps));  // the first batch, whole, alone
  SECTION("a table that cannot grow switches to partitioned mode: the batch is kept whole") {
    DeviceAccumulator again(ctx);
    auto cpu_again = cpu().make_accumulator();
    again.add(first);
    cpu_again->add(first);
    const EventBatch grows = batch_of(500, 5000, 590, 30, 4);  // the table must grow
    {
      MemoryLimitEnv cap(DeviceMemoryBudget::held().load() + slot_bytes / 2);
      again.add(grows);
      CHECK(again.partitioned());
    }
    cpu_again->add(grows);
    again.add(second);
    cpu_again->add(second);
    const std::vector<GroupMap> wide{{"unit", {}, 5000}};
    same_totals(again.finish(5000, wide), cpu_again->finish(5000, wide));
  }
}

TEST_CASE("device accumulator: a ring that does not fit the device is sized again with smaller chunks",
          "[cuda][emulator]") {
  auto ctx = std::make_shared<Context>(0);  // the policy's chunk (2^23 events): no ChunkEnv
  const EventBatch first = batch_of(1000, 1000, 600, 3, 8);
  const EventBatch big = batch_of(300000, 1000, 600, 3, 9);
  const std::vector<GroupMap> maps{{"unit", {}, 1000}};
  DeviceAccumulator acc(ctx);
  auto cpu_acc = cpu().make_accumulator();
  acc.add(first);  // the table and a small ring buffer, before the cap
  cpu_acc->add(first);
  SECTION("halved until three ring buffers fit") {
    {
      // One 300,000-event chunk asks a 6 MB buffer (room for twice the chunk); with 4.5 MB left
      // the chunk is halved until three buffers of 2^16 events (1.3 MB each) fit.
      MemoryLimitEnv cap(DeviceMemoryBudget::held().load() + (4500 << 10));
      acc.add(big);
    }
    cpu_acc->add(big);
    CHECK(acc.chunk_events() == DeviceAccumulator::kMinChunkEvents);
    CHECK(acc.report().chunk_halvings == 7);  // 2^23 -> 2^16
    same_totals(acc.finish(1000, maps), cpu_acc->finish(1000, maps));
  }
  SECTION("not even the smallest chunk fits: an error, and nothing of the batch added") {
    {
      MemoryLimitEnv cap(DeviceMemoryBudget::held().load() + (1 << 20));
      CHECK_THROWS_AS(acc.add(big), DeviceOutOfMemoryError);
    }
    CHECK(acc.chunk_events() == DeviceAccumulator::kMinChunkEvents);
    same_totals(acc.finish(1000, maps), cpu_acc->finish(1000, maps));  // the first batch alone
  }
}

TEST_CASE("device staging: several downloads in one pipeline land where each asked", "[cuda][emulator]") {
  Context ctx(0);
  const stream_t s = ctx.stream();
  // Large: 70 MB and 33 MB (pieces of a quarter of the 103 MB, 26 MB), a tiny one, an empty one.
  // Small: 9 MB and 5 MB (4 MB pieces, the least), 300 KB (above the direct-download bound).
  // Uploaded back to back (the buffers take turns across calls), downloaded in one pipeline:
  // pieces of different transfers follow each other in the two pinned buffers.
  const bool small = GENERATE(false, true);
  INFO((small ? "small transfers" : "large transfers"));
  const std::vector<size_t> sizes = small ? std::vector<size_t>{(9u << 20) + 3, 100, 0, (5u << 20) + 1, 300u << 10}
                                          : std::vector<size_t>{70u << 20, 100, 0, (33u << 20) + 5};
  std::vector<std::vector<uint8_t>> want, got;
  std::vector<DeviceArray<uint8_t>> dev;
  std::vector<Staging::Transfer> list;
  for (size_t k = 0; k < sizes.size(); ++k) {
    want.emplace_back(sizes[k]);
    for (size_t i = 0; i < sizes[k]; ++i) want[k][i] = static_cast<uint8_t>(i * 131 + k * 7 + (i >> 20));
    dev.emplace_back(std::max<size_t>(sizes[k], 1), s);
    ctx.staging().upload(dev[k].data(), want[k].data(), sizes[k], s, ctx.workers());
    got.emplace_back(sizes[k], 0xee);
  }
  for (size_t k = 0; k < sizes.size(); ++k) list.push_back({got[k].data(), dev[k].data(), sizes[k]});
  ctx.staging().download_all(list, s, ctx.workers());
  for (size_t k = 0; k < sizes.size(); ++k) {
    INFO("transfer " << k);
    CHECK((got[k] == want[k]));  // not decomposed: a failure must not print 70 MB
  }
  // One at a time, each its own pipeline.
  for (size_t k = 0; k < sizes.size(); ++k) {
    std::vector<uint8_t> one(sizes[k], 0x11);
    ctx.staging().download(one.data(), dev[k].data(), sizes[k], s, ctx.workers());
    CHECK((one == want[k]));
  }
}

TEST_CASE("device staging: pieces are a quarter of the copy, between 4 MB and 32 MB", "[cuda][emulator]") {
  CHECK(Staging::piece_for(0) == Staging::kMinPiece);
  CHECK(Staging::piece_for(100) == Staging::kMinPiece);
  CHECK(Staging::piece_for(16u << 20) == Staging::kMinPiece);
  CHECK(Staging::piece_for(size_t(2200000) * 8) == size_t(4352) << 10);  // 2.2M u64 values: 4 pieces
  CHECK(Staging::piece_for(size_t(1) << 30) == Staging::kPiece);
}

// ---- partitioned mode (issue 12: "when the unit x month table does not fit, partition by unit
// range in several passes (results identical)") ------------------------------------------------
namespace {

// An identity map, a small one (shared-memory roll-up) and one past kSmemGroups (global atomics).
std::vector<GroupMap> partition_maps(uint32_t n_units) {
  std::vector<GroupMap> m;
  m.push_back({"unit", {}, n_units});
  GroupMap small{"small", std::vector<uint32_t>(n_units), 37};
  for (uint32_t u = 0; u < n_units; ++u) small.group_of_unit[u] = (u * 7919u) % 37;
  m.push_back(small);
  GroupMap large{"large", std::vector<uint32_t>(n_units), 6500};
  for (uint32_t u = 0; u < n_units; ++u) large.group_of_unit[u] = (u * 104729u) % 6500;
  m.push_back(large);
  return m;
}

// Batches over months 600..605 whose units grow: batch k names units < (k + 1) * 5000.
std::vector<EventBatch> growing_batches() {
  std::vector<EventBatch> out;
  for (uint32_t k = 0; k < 8; ++k) out.push_back(batch_of(3000, (k + 1) * 5000, 600 + k % 3, 4, 100 + k));
  out[5].push(7, 600, 70000);  // a count past 16 bits: a wide chunk in the spool
  return out;
}

// The device memory an accumulator's ring of 512-event chunks and its small arrays hold.
constexpr size_t kRingAllowance = 3 * 10 * 1024 + 4096;

}  // namespace

TEST_CASE("device accumulator: a table over the memory cap is summed in passes identical to one pass and the CPU",
          "[cuda][emulator]") {
  ChunkEnv env("512");
  auto ctx = std::make_shared<Context>(0);
  const auto batches = growing_batches();
  const uint32_t n_units = 40000;  // 40000 units x 6 months: 1.9 MB in one pass
  const auto maps = partition_maps(n_units);
  const EventTotals want = run(cpu(), batches, n_units, maps);
  DeviceAccumulator whole(ctx);  // no cap: one pass
  for (const auto& b : batches) whole.add(b);
  const EventTotals one_pass = whole.finish(n_units, maps);
  CHECK_FALSE(whole.partitioned());
  CHECK(whole.report().device);
  CHECK_FALSE(whole.report().partitioned);
  CHECK(whole.report().finish_passes == 1);
  CHECK(whole.report().chunk_events == 512);
  CHECK(whole.report().chunk_halvings == 0);
  same_totals(one_pass, want);

  // 900 KB: the table does not fit, a pass of ~9000 units (60 B each, after the 6500-group table) does.
  const size_t budget = 900 << 10;
  SECTION("the first batches fit, a later one does not: the switch keeps what was summed") {
    DeviceAccumulator acc(ctx);
    MemoryLimitEnv cap(DeviceMemoryBudget::held().load() + kRingAllowance + budget);
    acc.add(batches[0]);
    acc.add(batches[1]);
    CHECK_FALSE(acc.partitioned());  // 10000 units: on the device
    for (size_t i = 2; i < batches.size(); ++i) acc.add(batches[i]);
    CHECK(acc.partitioned());
    CHECK(acc.spool_bytes() > 0);
    const EventTotals got = acc.finish(n_units, maps);
    INFO(acc.last_passes() << " passes");
    CHECK(acc.last_passes() >= 3);
    CHECK(acc.report().partitioned);  // what Results::accumulator tells the user
    CHECK(acc.report().finish_passes == acc.last_passes());
    same_totals(got, want);
    same_totals(got, one_pass);
  }
  SECTION("partitioned from the first batch (nothing summed on the device)") {
    DeviceAccumulator acc(ctx);
    MemoryLimitEnv cap(DeviceMemoryBudget::held().load() + kRingAllowance + budget);
    acc.prepare(n_units, 600, 605);  // sizing ahead fails: partitioned before any event
    CHECK(acc.partitioned());
    for (const auto& b : batches) acc.add(b);
    const EventTotals got = acc.finish(n_units, maps);
    CHECK(acc.last_passes() >= 3);
    same_totals(got, want);
    CHECK_THROWS_WITH([&] {
      DeviceTables t;
      acc.finish_device(n_units, {}, &t);
    }(), Catch::Contains("partitioned"));
  }
}

TEST_CASE("device accumulator: partitioned mode keeps the input checks", "[cuda][emulator]") {
  ChunkEnv env("512");
  auto ctx = std::make_shared<Context>(0);
  DeviceAccumulator acc(ctx);
  acc.add(batch_of(1000, 3000, 600, 2, 5));  // units < 3000, 2 months on the device: the base table
  // 28 more months of 3000 units (672 KB) do not fit; a pass of 1625 units x 30 months does.
  MemoryLimitEnv cap(DeviceMemoryBudget::held().load() + kRingAllowance + (400 << 10));
  acc.add(batch_of(1000, 1000, 600, 30, 6));
  REQUIRE(acc.partitioned());
  SECTION("a spooled event past n_units") {
    acc.add(batch_of(100, 8000, 600, 2, 8));
    CHECK_THROWS_WITH(acc.finish(5000, {}), Catch::Contains("unit >= n_units"));
  }
  SECTION("a base-table unit past n_units") {
    CHECK_THROWS_WITH(acc.finish(2000, {}), Catch::Contains("unit >= n_units"));
  }
  SECTION("a pre-packed chunk with a month outside its declared range") {
    PackedChunk c({{1, 0, 3}, {2, 5, 4}}, 600, 600, 601, 10);
    acc.add_wire(c.chunk);
    CHECK_THROWS_WITH(acc.finish(3000, {}), Catch::Contains("month"));
  }
  SECTION("an event outside its batch's bounds in a later chunk: the batch is refused whole") {
    EventBatch bad = batch_of(2000, 90, 600, 2, 7);  // 4 chunks, unit_bound 90
    bad.unit[1500] = 95;
    const size_t spooled = acc.spool_bytes();
    CHECK_THROWS_AS(acc.add(bad), Error);
    CHECK(acc.spool_bytes() == spooled);
  }
  SECTION("inside the bounds: the CPU backend's result") {
    auto cpu_acc = cpu().make_accumulator();
    cpu_acc->add(batch_of(1000, 3000, 600, 2, 5));
    cpu_acc->add(batch_of(1000, 1000, 600, 30, 6));
    auto maps = partition_maps(3000);
    maps.pop_back();  // 6500 groups x 30 months (1.5 MB): a group table must fit whole
    same_totals(acc.finish(3000, maps), cpu_acc->finish(3000, maps));
    CHECK(acc.last_passes() >= 2);
  }
}

TEST_CASE("device accumulator: when not even the smallest pass fits finish throws asked and free and no result",
          "[cuda][emulator]") {
  ChunkEnv env("512");
  auto ctx = std::make_shared<Context>(0);
  const auto batches = growing_batches();
  const uint32_t n_units = 40000;
  const auto maps = partition_maps(n_units);
  DeviceAccumulator acc(ctx);
  {
    // The smallest pass is 1024 units x 6 months (60 KB) plus the 6500-group table (312 KB).
    MemoryLimitEnv cap(DeviceMemoryBudget::held().load() + kRingAllowance + (100 << 10));
    for (const auto& b : batches) acc.add(b);
    CHECK(acc.partitioned());
    try {
      (void)acc.finish(n_units, maps);
      FAIL("finish returned a result under a cap that holds no pass");
    } catch (const DeviceError& e) {
      const std::string m = e.what();
      INFO(m);
      CHECK(m.find("out of device memory: asked ") != std::string::npos);
      CHECK(m.find("ECOSTAT_DEVICE_MEMORY_LIMIT=") != std::string::npos);
      CHECK(m.find("bytes free") != std::string::npos);
    }
  }
  // Nothing was lost: with memory back, the same accumulator gives the whole result.
  same_totals(acc.finish(n_units, maps), run(cpu(), batches, n_units, maps));
}

// ---- unit totals alone (AccumulatorPlan::month_tables = false; issue 12: "the accumulator uses
// the hot-key group-by") --------------------------------------------------------------------------
namespace {

struct HotKeysEnv : test::ScopedEnv {  // ECOSTAT_DEVICE_HOT_KEYS for one scope
  explicit HotKeysEnv(const char* v) : ScopedEnv("ECOSTAT_DEVICE_HOT_KEYS", v) {}
};

// Skewed units over 24 months, counts past 16 bits now and then (wide chunks), and counts near
// 2^32 on hot units, so that their shared-memory counters wrap.
std::vector<EventBatch> skewed_month_batches(uint32_t units) {
  std::mt19937_64 rng(41);
  std::vector<EventBatch> out(4);
  for (size_t k = 0; k < out.size(); ++k)
    for (uint32_t i = 0; i < 12000; ++i) {
      const double r = std::uniform_real_distribution<double>(0, 1)(rng);
      const uint32_t u = std::min<uint32_t>(units - 1, static_cast<uint32_t>(units * r * r * r * r));
      const uint32_t c = i % 997 == 0 ? 0xfffffff0u : i % 331 == 0 ? 70000u : static_cast<uint32_t>(rng() % 40);
      out[k].push(u, Month(600 + (k * 7 + rng() % 12) % 24), c);
    }
  return out;
}

AccumulatorPlan unit_totals_plan() {
  AccumulatorPlan p;
  p.month_tables = false;
  return p;
}

EventTotals totals_of(EventAccumulator& acc, const std::vector<EventBatch>& batches, uint32_t n_units) {
  for (const auto& b : batches) acc.add(b);
  return acc.finish(n_units, {});
}

}  // namespace

TEST_CASE("device accumulator: unit totals keep one u64 per unit and sum the hot units in shared memory",
          "[cuda][emulator]") {
  ChunkEnv env("4096");
  auto ctx = std::make_shared<Context>(0);
  const uint32_t n_units = 50000;
  const auto batches = skewed_month_batches(n_units);
  const EventTotals want = totals_of(*cpu().make_accumulator(unit_totals_plan()), batches, n_units);
  REQUIRE(want.n_months == 24);

  // The Backend makes this mode from the plan; the month tables' plan keeps the slabs.
  std::unique_ptr<Backend> be = make_cuda_backend(0);
  auto from_plan = be->make_accumulator(unit_totals_plan());
  REQUIRE(dynamic_cast<DeviceAccumulator*>(from_plan.get()));
  CHECK(dynamic_cast<DeviceAccumulator*>(from_plan.get())->table() == DeviceTable::unit_totals);
  CHECK(dynamic_cast<DeviceAccumulator*>(be->make_accumulator().get())->table() == DeviceTable::unit_by_month);
  same_totals(totals_of(*from_plan, batches, n_units), want);

  DeviceAccumulator by_month(ctx);
  (void)totals_of(by_month, batches, n_units);
  SECTION("the policy's hot units") {
    DeviceAccumulator acc(ctx, DeviceTable::unit_totals);
    same_totals(totals_of(acc, batches, n_units), want);
    CHECK(acc.hot_units() > 100);  // the skew's head was found (about 2^12 samples per chunk)
    CHECK(acc.device_bytes() * 4 < by_month.device_bytes());  // 24 months: one slab instead of 24
  }
  SECTION("a few hot units, the rest through global atomics") {
    HotKeysEnv hot("16");
    DeviceAccumulator acc(ctx, DeviceTable::unit_totals);
    same_totals(totals_of(acc, batches, n_units), want);
    CHECK(acc.hot_units() == 16);
  }
  SECTION("the hot path off") {
    HotKeysEnv hot("0");
    DeviceAccumulator acc(ctx, DeviceTable::unit_totals);
    same_totals(totals_of(acc, batches, n_units), want);
    CHECK(acc.hot_units() == 0);
  }
  SECTION("pre-packed chunks keep their declared bounds") {
    DeviceAccumulator acc(ctx, DeviceTable::unit_totals);
    PackedChunk past_hi({{1, 0, 3}, {2, 5, 4}}, 600, 600, 601, 100);
    acc.add_wire(past_hi.chunk);
    CHECK_THROWS_WITH(acc.finish(100, {}), Catch::Contains("month"));
    DeviceAccumulator ok(ctx, DeviceTable::unit_totals);
    PackedChunk inside({{1, 0, 3}, {2, 1, 4}, {1, 1, 5}}, 598, 598, 599, 10);
    ok.add_wire(inside.chunk);
    const EventTotals t = ok.finish(10, {});
    CHECK(t.month_first == 598);
    CHECK(t.n_months == 2);
    CHECK(t.unit_total[1] == 8);
    CHECK(t.unit_total[2] == 4);
  }
  SECTION("month tables are refused, as the CPU backend refuses them") {
    DeviceAccumulator acc(ctx, DeviceTable::unit_totals);
    acc.add(batches[0]);
    CHECK_THROWS_AS(acc.finish(n_units, {{"unit", {}, n_units}}), UsageError);
    DeviceTables t;
    CHECK_THROWS_AS(acc.finish_device(n_units, {DeviceGroupMap{}}, &t), UsageError);
  }
}

TEST_CASE("device accumulator: unit totals over the memory cap are summed in passes equal to the CPU", "[cuda][emulator]") {
  ChunkEnv env("512");
  auto ctx = std::make_shared<Context>(0);
  auto batches = growing_batches();             // units up to 40000, months 600..602
  batches.push_back(batch_of(2000, 30000, 590, 4, 77));  // after the switch: months before the first
  const uint32_t n_units = 40000;
  const EventTotals want = totals_of(*cpu().make_accumulator(unit_totals_plan()), batches, n_units);
  DeviceAccumulator acc(ctx, DeviceTable::unit_totals);
  SECTION("the hot units chosen before the cap, then passes") {
    acc.add(batches[0]);  // 5000 units: on the device, the base table of the switch; the hot set chosen
    // 40000 units x 8 B (x1.5 growth) do not fit 100 KB; a pass of a few thousand units does.
    MemoryLimitEnv cap(DeviceMemoryBudget::held().load() + kRingAllowance + (100 << 10));
    for (size_t i = 1; i < batches.size(); ++i) acc.add(batches[i]);
    CHECK(acc.partitioned());
    const EventTotals got = acc.finish(n_units, {});
    INFO(acc.last_passes() << " passes");
    CHECK(acc.last_passes() >= 3);
    CHECK(acc.hot_units() > 0);
    same_totals(got, want);
  }
  SECTION("no room for the hot set: global atomics, the same sums") {
    // The hot set's arrays (a 64 KiB table, 32 KiB of keys, 4 B per unit) do not fit 50 KB.
    MemoryLimitEnv cap(DeviceMemoryBudget::held().load() + kRingAllowance + (50 << 10));
    for (const auto& b : batches) acc.add(b);
    CHECK(acc.partitioned());
    const EventTotals got = acc.finish(n_units, {});
    CHECK(acc.last_passes() >= 3);
    CHECK(acc.hot_units() == 0);
    same_totals(got, want);
  }
}

TEST_CASE("device accumulator: maps asking top rows get each month's candidates, not the table", "[cuda][emulator]") {
  ChunkEnv env("4096");
  auto ctx = std::make_shared<Context>(0);
  const uint32_t n_units = 50000;
  const auto batches = skewed_month_batches(n_units);  // 24 months, counts up to 2^32 - 16
  std::mt19937_64 rng(5);
  std::vector<GroupMap> maps = maps_for(n_units, rng);  // identity, 37 groups, 9000 groups
  maps[0].top_rows = 100;
  maps[1].top_rows = 5;
  maps[1].always_group = 36;
  maps[2].top_rows = 1;
  maps[2].always_group = 4242;
  const EventTotals want = run(cpu(), batches, n_units, maps);  // the CPU backend: whole tables
  for (const auto& t : want.group_month) REQUIRE_FALSE(t.top_only);
  DeviceAccumulator acc(ctx);
  for (const auto& b : batches) acc.add(b);
  const EventTotals got = acc.finish(n_units, maps);
  CHECK(got.unit_total == want.unit_total);
  REQUIRE(got.group_month.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    INFO("map " << maps[i].name);
    test::check_top_rows(got.group_month[i], want.group_month[i], maps[i].top_rows, maps[i].always_group);
  }
  // The identity and the 9000-group tables come back as top rows: far fewer bytes than the
  // table. (The 37-group one may or may not: its candidates are not much smaller than it.)
  CHECK(got.group_month[0].top_only);
  CHECK(got.group_month[0].row_group.size() < size_t(24) * 400);
  CHECK(got.group_month[2].top_only);
  SECTION("partitioned mode returns whole tables") {
    DeviceAccumulator parted(ctx);
    // The 9.6 MB unit x month table does not fit 3 MB; passes with the 1.7 MB 9000-group table do.
    MemoryLimitEnv cap(DeviceMemoryBudget::held().load() + kRingAllowance + (3 << 20));
    for (const auto& b : batches) parted.add(b);
    REQUIRE(parted.partitioned());
    const EventTotals p = parted.finish(n_units, maps);
    for (size_t i = 0; i < 3; ++i) {
      CHECK_FALSE(p.group_month[i].top_only);
      CHECK(p.group_month[i].sums == want.group_month[i].sums);
    }
  }
}

// ---- stream-ordered device memory (issue 12: "every free synchronises the whole device") ------
namespace {
// group_sum, concentration and lineage through the Backend at growing sizes, so that every
// staging and engine array is regrown (freed and allocated again) several times; results are
// checked against the CPU backend.
void backend_calls_at_growing_sizes(Backend& be) {
  std::mt19937_64 rng(21);
  ConcentrationSpec spec;
  spec.below = {1, 100};
  spec.percentiles = {50};
  for (uint32_t n : {2000u, 6000u, 18000u}) {
    INFO("n = " << n);
    std::vector<uint64_t> v(n);
    for (auto& x : v) x = rng() >> (rng() % 40);
    GroupMap m{"g", std::vector<uint32_t>(n), 50};
    for (auto& g : m.group_of_unit) g = static_cast<uint32_t>(rng() % 50);
    CHECK(be.group_sum(v, m) == cpu().group_sum(v, m));
    std::vector<uint32_t> seg(n);
    for (auto& g : seg) g = static_cast<uint32_t>(rng() % 7);
    CHECK(be.concentration(v, seg, 7, spec) == cpu().concentration(v, seg, 7, spec));
    CHECK(be.concentration(v, {}, 1, spec) == cpu().concentration(v, {}, 1, spec));
    std::vector<BaseEdge> e;
    for (uint32_t i = 1; i < n; ++i) {
      e.push_back(edge(i, static_cast<uint32_t>(rng() % i), static_cast<Relation>(rng() % 5), 0));
      if (i > 10 && rng() % 16 == 0) e.push_back(edge(i, static_cast<uint32_t>(rng() % i), Relation::merge, 1));
    }
    const LineageGraph g = graph_of(n, e);
    CHECK(be.lineage(g) == cpu().lineage(g));
  }
}
}  // namespace

TEST_CASE("device memory: Backend calls free on their stream, with no device-wide synchronisation", "[cuda][emulator]") {
  const size_t held_before = DeviceMemoryBudget::held().load();
  std::unique_ptr<Backend> be = make_cuda_backend(0);  // its own Context: made and destroyed here
  const uint64_t syncs0 = emu_device_syncs().load(), frees0 = emu_async_frees().load();
  SECTION("with memory pools: every free is queued on its stream") {
    backend_calls_at_growing_sizes(*be);
    const uint64_t syncs = emu_device_syncs().load() - syncs0, frees = emu_async_frees().load() - frees0;
    INFO(syncs << " device-wide synchronisations, " << frees << " stream-ordered frees");
    CHECK(frees > 0);   // arrays were regrown: their old blocks were freed on the stream
    CHECK(syncs == 0);  // before stream-ordered frees: one per free
  }
  SECTION("without memory pools: the synchronous fallback, one device-wide wait per free") {
    test::ScopedEnv no_pools("ECOSTAT_EMU_NO_POOLS", "1");
    std::unique_ptr<Backend> old = make_cuda_backend(0);
    const uint64_t s1 = emu_device_syncs().load(), f1 = emu_async_frees().load();
    backend_calls_at_growing_sizes(*old);
    INFO(emu_device_syncs().load() - s1 << " device-wide synchronisations (the path every free took before)");
    CHECK(emu_async_frees().load() == f1);
    CHECK(emu_device_syncs().load() > s1);
  }
  be.reset();  // every array of the backend and of its context is released
  CHECK(DeviceMemoryBudget::held().load() == held_before);
}

TEST_CASE("device memory: the cap refuses an oversize request, and queued frees count as released", "[cuda][emulator]") {
  Context ctx(0);
  const stream_t s = ctx.stream();
  const size_t held0 = DeviceMemoryBudget::held().load();
  {
    DeviceArray<uint64_t> a(1000, s), b(3000, s);
    CHECK(DeviceMemoryBudget::held().load() == held0 + 4000 * 8);
    b.reserve_discard(5000);  // regrown: the old block's free is queued, the new one counted
    CHECK(DeviceMemoryBudget::held().load() == held0 + 6000 * 8);
    MemoryLimitEnv cap(DeviceMemoryBudget::held().load() + 1000);
    try {
      DeviceArray<uint8_t> too_big(2000, s);
      FAIL("the capped allocation did not fail");
    } catch (const DeviceError& e) {
      const std::string m = e.what();
      INFO(m);
      CHECK(dynamic_cast<const DeviceOutOfMemoryError*>(&e) != nullptr);  // what callers retry on
      CHECK(m.find("out of device memory: asked 2000 bytes") != std::string::npos);
      CHECK(m.find("this process holds " + std::to_string(held0 + 6000 * 8)) != std::string::npos);
      CHECK(m.find("ECOSTAT_DEVICE_MEMORY_LIMIT=") != std::string::npos);
      CHECK(m.find("bytes free") != std::string::npos);
    }
    DeviceArray<uint8_t> fits(1000, s);  // exactly at the cap
    CHECK(DeviceMemoryBudget::held().load() == held0 + 6000 * 8 + 1000);
  }
  CHECK(DeviceMemoryBudget::held().load() == held0);  // the frees were queued: released
}
#endif

// Which device a backend opens (EngineOptions::device, docs/scale-out.md "Devices"): the
// emulator with ECOSTAT_EMU_DEVICES devices stands in for a node with several GPUs.
#if defined(ECOSTAT_DEVICE_EMULATOR)
namespace {
using EnvVar = test::ScopedEnv;
bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
}  // namespace

TEST_CASE("cuda backend: the device index, mod the device count, is the one opened and named", "[cuda]") {
  EnvVar devices("ECOSTAT_EMU_DEVICES", "2");
  CHECK(starts_with(probe_cuda_backend().device, "device 0 of 2: ecostat device emulator"));
  CHECK(starts_with(probe_cuda_backend(1).device, "device 1 of 2: "));
  CHECK(starts_with(probe_cuda_backend(3).device, "device 1 of 2: "));  // 3 mod 2
  CHECK(starts_with(probe_cuda_backend(4).device, "device 0 of 2: "));
  {
    std::unique_ptr<Backend> b = make_cuda_backend(3);
    CHECK(starts_with(b->info().device, "device 1 of 2: "));
    // Every call makes its device current: the work runs on device 1.
    emudev::set_device(0);
    std::mt19937_64 rng(11);
    const auto batches = random_batches(rng, 2, 3000, 500, 600, 24, 70000);
    const std::vector<GroupMap> maps = maps_for(500, rng);
    auto acc = b->make_accumulator();
    CHECK(emudev::current_device() == 1);
    for (const auto& x : batches) acc->add(x);
    same_totals(acc->finish(500, maps), run(cpu(), batches, 500, maps));
  }
  SECTION("select_backend: the option, else ECOSTAT_DEVICE") {
    CHECK(starts_with(select_backend("cuda", 1, 5)->info().device, "device 1 of 2: "));
    CHECK(starts_with(select_backend("auto", 1, 2)->info().device, "device 0 of 2: "));
    EnvVar chosen("ECOSTAT_DEVICE", "7");
    CHECK(starts_with(select_backend("cuda", 1)->info().device, "device 1 of 2: "));
    CHECK(starts_with(select_backend("cuda", 1, 0)->info().device, "device 0 of 2: "));  // the option wins
  }
}

TEST_CASE("cuda backend: no device is reported by the probe, and an error by name", "[cuda]") {
  EnvVar devices("ECOSTAT_EMU_DEVICES", "0");
  const BackendInfo p = probe_cuda_backend(1);
  CHECK(!p.available);
  CHECK(p.status == "no device (0 EMU devices)");
  CHECK_THROWS_AS(make_cuda_backend(1), BackendUnavailableError);
  CHECK(select_backend("auto", 1, 1)->info().name == "cpu");  // auto falls back; by name it fails
  CHECK_THROWS_AS(select_backend("cuda", 1, 1), BackendUnavailableError);
}
#endif
