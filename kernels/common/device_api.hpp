// The device backend's internal API (host-side declarations only; definitions in the .inc
// files, compiled once into the backend's translation unit). The Backend implementation is
// built from these pieces, and the GPU benchmark calls them directly on device-resident data.
// Everything runs on one device, on the streams named here, and throws ecostat::Error (input
// problems, like the CPU backend) or ecostat::DeviceError (a failed runtime call).
#pragma once
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ecostat/backend.hpp"
#include "memory.hpp"
#include "policy.hpp"
#include "wire.hpp"

namespace ecostat {
namespace ECOSTAT_DEV_NS {

// ---- context --------------------------------------------------------------------------------
// One device: its properties, a compute stream, CUB scratch, an error word, host threads and
// staging buffers. Backend calls share one Context and are serialised by mutex().
class Context {
 public:
  explicit Context(int device = 0);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  void activate() const;  // makes this device current for the calling thread
  int device() const { return device_; }
  const DeviceProps& props() const { return props_; }
  const TuningPolicy& policy() const { return select_policy(props_); }  // this device's row (policy.hpp)
  stream_t stream() const { return stream_.get(); }
  // CUB / rocPRIM temporary storage, grow-only; valid until the next call. Never null (a null
  // pointer asks the primitive for its size only). Only for work on stream(): it is allocated
  // and freed there (memory.hpp, the stream rule).
  void* temp(size_t bytes) { return temp_.reserve_discard(std::max<size_t>(bytes, 256)); }
  uint32_t* flags() const { return flags_.data(); }  // device error word (ErrorBits)
  // Waits for s, reads and clears the error word; throws ecostat::Error describing the bits.
  void check_flags(stream_t s, const std::string& what);
  HostWorkers& workers() { return workers_; }
  Staging& staging() { return staging_; }
  std::mutex& mutex() { return mutex_; }

 private:
  int device_;
  DeviceProps props_;
  Stream stream_;
  DeviceArray<uint8_t> temp_;
  DeviceArray<uint32_t> flags_;
  HostWorkers workers_;
  Staging staging_;
  std::mutex mutex_;
};

// The text of the error bits (ErrorBits), for messages.
std::string describe_error_bits(uint32_t bits);
// Waits for s, reads and clears a device error word; throws ecostat::Error when bits are set.
void check_error_word(uint32_t* word, stream_t s, const std::string& what);

// ---- group-by-sum over device-resident events ----------------------------------------------
// out[keys[i]] += counts[i] (u64 sums, exact). Variants:
//   atomic    one global atomic per event (the baseline);
//   hot_slot  the hot keys' sums in shared memory, found through a global u16 slot per key;
//   hot_hash  the hot keys in a shared-memory hash table (4-slot buckets, one 16-byte read per
//             lookup), so a lookup costs no global access; the rest go to global atomics.
// Hot keys are picked on the device from a sample (every sample_stride-th event): a histogram,
// a threshold so that at most hot_keys keys pass, then the table; no host round trip.
enum class GroupByVariant { atomic, hot_slot, hot_hash };

struct GroupByOptions {
  GroupByVariant variant = GroupByVariant::hot_hash;
  uint32_t hot_keys = 0;         // H: keys kept in shared memory (hot_slot: <= 32768); 0 = the policy's
  uint32_t table_slots = 0;      // hot_hash: slots, a power of two > H; 0 = 2 H rounded up
  uint32_t sample_stride = 256;
  int block_threads = 0;         // 0 = the policy's (policy.hpp: per target and shared memory)
};

class DenseGroupBy {
 public:
  // Calls may come on different streams: each call's stream first waits for the previous
  // call's (an event), and the tables are freed on the stream of the call that regrows them, or
  // on the context's stream when the object dies.
  DenseGroupBy(Context& ctx, const GroupByOptions& opt);
  ~DenseGroupBy();
  DenseGroupBy(const DenseGroupBy&) = delete;
  DenseGroupBy& operator=(const DenseGroupBy&) = delete;
  // Chooses the hot set from the events (asynchronous on s).
  void select_hot(const uint32_t* keys, size_t n, uint32_t n_keys, stream_t s);
  // out[keys[i]] += counts[i] for i < n (out: n_keys u64, not cleared). keys >= n_keys raise
  // an error bit in ctx.flags(). Uses the last select_hot (atomic: none needed).
  void run(const uint32_t* keys, const uint32_t* counts, size_t n, uint32_t n_keys, uint64_t* out, stream_t s);
  std::string describe() const;  // variant, H, slots, grid, block, shared memory
  size_t smem_bytes() const { return smem_; }
  // hot_hash: the hash table select_hot built (device, table_slots() u32 keys, kEmpty = free),
  // for kernels that keep the hot keys' sums themselves (the accumulator's totals mode).
  const uint32_t* hash_table() const { return table_.data(); }
  uint32_t table_slots() const { return slots_; }
  // Keys in the current hot set (waits for the selection; 0 before any). For tests and logs.
  uint32_t hot_count();

 private:
  Context& ctx_;
  GroupByOptions opt_;
  uint32_t slots_ = 0;  // hot_hash: table slots; hot_slot: H
  size_t smem_ = 0;
  int grid_ = 0;
  uint32_t keys_for_ = 0;  // n_keys of the current hot set
  bool selected_ = false;
  void use_stream(stream_t s);  // orders s after the last call's stream; tables move to s
  DeviceArray<uint32_t> hist_, chist_, hot_, table_, misc_;
  DeviceArray<uint16_t> slot_of_;
  stream_t stream_ = nullptr;  // the stream the tables are bound to (the last call's)
  Event last_use_;             // recorded on stream_ after the last call's work
};

// ---- streaming accumulation ----------------------------------------------------------------
// Event batches are packed by host threads into pinned buffers in the wire layout (wire.hpp),
// copied on a copy stream and accumulated on a compute stream (a ring of kRing buffers, one
// event pair per buffer orders them), into a month-major table: one slab of u64 per month,
// slab[m][unit]. finish() derives every table from the slabs.
struct DeviceGroupMap {
  const uint32_t* group_of_unit = nullptr;  // device, n_units entries; nullptr = identity
  uint32_t n_groups = 0;
};
// finish_device's output, device-resident, GroupMonthTable layout. Its arrays have no stream
// (they may outlive the accumulator and its streams): freeing them waits for the device.
struct DeviceTables {
  Month month_first = 0;
  uint32_t n_months = 0;
  DeviceArray<uint64_t> unit_total;
  std::vector<DeviceArray<uint64_t>> group_month;  // [(m - month_first) * n_groups + g]
  std::vector<uint32_t> n_groups;
};

// What the accumulator keeps (AccumulatorPlan):
//   unit_by_month  the unit x month slabs; finish() answers any group maps (month_tables = true);
//   unit_totals    one u64 per unit, no months (month_tables = false, no direct maps): finish()
//                  takes no maps. The hot units (chosen on the device from the first chunks, as
//                  DenseGroupBy's hot_hash does) are summed in shared memory per block; the rest
//                  go to global atomics. ECOSTAT_DEVICE_HOT_KEYS overrides the policy's count
//                  (0: global atomics only).
enum class DeviceTable { unit_by_month, unit_totals };

class ConcentrationEngine;

class DeviceAccumulator final : public EventAccumulator {
 public:
  static constexpr int kRing = 3;
  // The largest chunk (events); the policy's chunk_events is used, ECOSTAT_DEVICE_CHUNK_EVENTS overrides.
  static constexpr uint32_t kChunkEvents = 1u << 23;

  // unit_concentration (AccumulatorPlan): finish() also computes the concentration of the unit
  // totals on the device, while they are there (EventTotals::unit_concentration).
  explicit DeviceAccumulator(std::shared_ptr<Context> ctx, DeviceTable table = DeviceTable::unit_by_month,
                             std::optional<ConcentrationSpec> unit_concentration = std::nullopt);
  ~DeviceAccumulator() override;
  void add(const EventBatch& batch) override;
  EventTotals finish(uint32_t n_units, const std::vector<GroupMap>& maps) override;

  // A chunk already packed in pinned host memory: copied on the copy stream straight from
  // there (the memory must stay unchanged until sync()).
  void add_wire(const wire::Chunk& chunk);
  // A chunk already on the device: accumulated on the compute stream, no copy.
  void add_device_wire(const wire::Chunk& chunk);
  // Sizes the tables ahead (units < unit_bound, months [lo, hi]) so that no batch has to grow
  // them; optional, results do not depend on it.
  void prepare(uint32_t unit_bound, Month lo, Month hi);
  void sync();  // every queued copy and kernel done
  // finish() without leaving the device: maps and outputs device-resident. Throws
  // ecostat::Error in partitioned mode (the table is never whole on the device): use finish().
  void finish_device(uint32_t n_units, const std::vector<DeviceGroupMap>& maps, DeviceTables* out);
  size_t device_bytes() const;  // ring + slabs: the device memory this accumulator holds
  uint64_t events() const { return events_; }
  DeviceTable table() const { return table_; }
  // unit_totals: the units summed in shared memory (0 before the first chunk, with the hot path
  // off, or after it was dropped because its selection did not fit the device). Waits for it.
  uint32_t hot_units();
  // Partitioned mode (partitioned.inc): the unit x month table did not fit the device (an
  // allocation failed, or would pass ECOSTAT_DEVICE_MEMORY_LIMIT). What was accumulated is kept
  // on the host, later chunks are spooled in host memory (their wire bytes), and finish() runs
  // one pass per unit range that fits. Results are identical to the one-pass ones.
  bool partitioned() const { return partitioned_; }
  uint32_t last_passes() const { return passes_; }  // passes of the last finish() (1 when not partitioned)
  size_t spool_bytes() const;                         // host memory held by the spool
  // The smallest pass: min(n_units, kMinPassUnits) units x the months, plus the ring; when not
  // even that fits, finish() throws DeviceError (asked and free, as every failed allocation).
  static constexpr uint32_t kMinPassUnits = 1024;
  // When the ring's buffers do not fit the device, the chunk is halved down to this many events
  // (a chunk set smaller by ECOSTAT_DEVICE_CHUNK_EVENTS is not halved); below it add() throws.
  static constexpr uint32_t kMinChunkEvents = 1u << 16;
  uint32_t chunk_events() const { return chunk_events_; }
  AccumulatorReport report() const override {  // chunk_halvings: times the chunk was halved to fit
    return {true, partitioned_, passes_, chunk_events_, ring_shrinks_};
  }

 private:
  struct Slot {
    PinnedArray<uint8_t> host;
    DeviceArray<uint8_t> dev;
    Event copied, consumed;
  };
  void reserve(uint32_t unit_bound, Month lo, Month hi);
  void grow_units(uint32_t unit_bound);
  void add_months(uint32_t first, uint32_t end);
  void publish_slab_pointers();
  void reserve_ring(size_t chunks, size_t events);
  void reserve_ring_or_shrink(size_t n);  // reserve_ring for a batch of n, halving the chunk when it does not fit
  wire::Chunk pack(const EventBatch& b, size_t off, size_t len, uint8_t* host);  // host: layout(wide, len) bytes
  void enqueue(const wire::Chunk& c, Slot& slot, bool copy);
  void release_after_use(Slot& slot);  // frees slot.dev once the compute stream is done with it
  void launch_accumulate(const wire::Chunk& c, const uint8_t* dev_data);
  void select_hot_units(const wire::Chunk& c, const uint8_t* dev_data);  // unit_totals with the hot path
  void note_range(Month lo, Month hi, size_t n);
  // The slabs that hold months smin_..smax_: unit_by_month one per month from first_slab();
  // unit_totals the one slab (index 0) for all of them. Only once an event was seen (any_).
  uint32_t table_months() const { return table_ == DeviceTable::unit_totals ? 1 : uint32_t(smax_) - smin_ + 1; }
  uint32_t first_slab() const { return table_ == DeviceTable::unit_totals ? 0 : uint32_t(smin_) - mbase_; }
  void check_maps_and_units(uint32_t n_units);
  // The roll-ups of the units [u0, u1) (held by the slabs from unit u0 on) into out.
  void roll_up(uint32_t u0, uint32_t u1, const std::vector<GroupMap>& maps, EventTotals* out);
  void add_unit_concentration(uint32_t n_units, EventTotals* out);
  // GroupMap::top_rows: asked, and possible (the table is whole on the device, not in passes).
  bool top_rows_asked(const GroupMap& m) const { return m.top_rows > 0 && !partitioned_; }
  // The top rows of the month table whose month rows are rows[0..nm) (device pointers, width
  // cells each) into t; false when the whole table is the better answer (t unchanged).
  bool top_rows_of(const uint64_t* const* rows, uint32_t nm, uint32_t width, const GroupMap& m, GroupMonthTable* t);
  // Partitioned mode (partitioned.inc).
  struct SpooledChunk {
    struct alignas(16) Block {
      uint8_t b[16];
    };
    std::vector<Block> bytes;  // the wire bytes, 16-byte aligned
    wire::Chunk chunk;         // its data is bytes.data()
  };
  bool reserve_or_partition(uint32_t unit_bound, Month lo, Month hi);  // false: partitioned
  void switch_to_partitioned();
  void spool_batch(const EventBatch& b);
  void spool_bytes_of(const wire::Chunk& c, bool on_device);
  EventTotals finish_partitioned(uint32_t n_units, const std::vector<GroupMap>& maps, EventTotals out);
  uint32_t pass_width(uint32_t n_units, uint32_t n_months, size_t group_cells) const;
  void allocate_pass(uint32_t width, uint32_t n_months, size_t group_cells);
  void run_pass(uint32_t u0, uint32_t u1, uint32_t n_units, const std::vector<GroupMap>& maps, EventTotals* out);
  void reserve_pass_ring();

  std::shared_ptr<Context> ctx_;
  DeviceTable table_;
  uint32_t chunk_events_ = kChunkEvents;
  uint32_t ring_shrinks_ = 0;
  Stream copy_stream_, compute_stream_;
  // unit_totals: the hot-unit selection (null with the hot path off), the events it was chosen
  // from, and the totals kernel's launch shape. Declared after the streams: destroyed first.
  std::unique_ptr<DenseGroupBy> hot_;
  std::optional<ConcentrationSpec> unit_concentration_;
  std::unique_ptr<ConcentrationEngine> conc_;  // made at finish when unit_concentration_ asks
  uint32_t hot_sampled_ = 0;
  int hot_block_ = 0, hot_grid_ = 0;
  Slot ring_[kRing];
  int next_ = 0;
  uint32_t ucap_ = 0;                          // units per slab
  Month mbase_ = 0;                            // month of slabs_[0]
  std::vector<DeviceArray<uint64_t>> slabs_;   // slabs_[m - mbase_][unit]; unit_totals: one, every month
  DeviceArray<uint64_t*> slab_ptrs_;
  std::vector<uint64_t*> host_ptrs_;
  bool any_ = false;
  Month smin_ = 0, smax_ = 0;                  // union of the batches' month ranges
  uint64_t events_ = 0;
  DeviceArray<uint32_t> flags_;  // this accumulator's error word (its kernels run on its streams)
  DeviceArray<uint64_t> scratch_u64_;
  DeviceArray<uint32_t> scratch_u32_;
  DeviceArray<uint64_t> group_table_;  // finish's group x month table (one map at a time)
  // top_rows_of's scratch: month stats, thresholds and offsets; histograms and counts; the rows.
  DeviceArray<uint64_t> top_u64_, top_sum_;
  DeviceArray<uint32_t> top_u32_, top_cell_;
  DeviceArray<uint64_t*> row_ptrs_;  // a group table's month rows
  // The accumulate kernel adds units [pass_u0_, pass_u0_ + pass_width_) at slab index u - pass_u0_
  // and skips the rest; a unit >= past_end_ with a count is an error (kErrUnitPastEnd).
  uint32_t pass_u0_ = 0, pass_width_ = 0xffffffffu, past_end_ = 0xffffffffu;
  // Partitioned mode: the table at the switch (months smin_.. of it, base_units_ wide) and the spool.
  bool partitioned_ = false;
  uint32_t passes_ = 0;
  std::vector<uint64_t> base_;
  Month base_first_ = 0;
  uint32_t base_months_ = 0, base_units_ = 0;
  std::vector<SpooledChunk> spool_;
};

// ---- concentration -------------------------------------------------------------------------
// Sorts the values (per segment) on the device and reads the plan's exact aggregates: totals,
// sum i x_(i), sum x^2 (u128), prefix sums at the Lorenz and top-k counts, values at the
// percentile ranks, counts below thresholds. Values whose maximum is below 2^32 are sorted as
// u32 keys (half the passes). One small device-to-host copy of the results (plus one of the
// segment sizes and the maximum, before the sort).
class ConcentrationEngine {
 public:
  explicit ConcentrationEngine(Context& ctx);  // its arrays live on ctx.stream()
  // values: device, n entries; segment_of: device or nullptr (one segment).
  std::vector<ConcentrationRaw> run(const uint64_t* values, size_t n, const uint32_t* segment_of,
                                    uint32_t n_segments, const ConcentrationSpec& spec);

 private:
  template <class K>
  void sort_and_reduce(const K* keys_in, size_t n, const uint32_t* segment_of, uint32_t n_segments,
                       const std::vector<uint64_t>& seg_count, const ConcentrationSpec& spec,
                       std::vector<ConcentrationRaw>* out);
  Context& ctx_;
  DeviceArray<uint8_t> keys_a_, keys_b_;
  DeviceArray<uint32_t> seg_a_, seg_b_;
  DeviceArray<uint64_t> stats_, seg_info_, queries_;
  DeviceArray<u128> partials_, prefix_, results_;
};

// ---- lineage --------------------------------------------------------------------------------
struct DeviceLineageGraph {  // device-resident CSR, as LineageGraph
  uint32_t n_nodes = 0;
  size_t n_edges = 0;
  const uint32_t* parent_offsets = nullptr;  // n_nodes + 1
  const uint32_t* parents = nullptr;         // n_edges
  const uint8_t* relations = nullptr;        // n_edges (Relation values)
};

// Roots and depth by pointer jumping on the primary-parent forest; distinct children; exact
// descendants by relation: subtree sums over the single-parent forest level by level (deep,
// sparse tails of levels on the host), plus one explicit upward walk (deduplicated) per node
// with several distinct parents. See docs/cuda-backend.md.
class LineageEngine {
 public:
  explicit LineageEngine(Context& ctx);  // its arrays live on ctx.stream()
  // Results stay on the device until download(); run also compacts the families (roots with a
  // descendant) and reads their count and the greatest depth (one synchronisation). The per-node
  // descendants in u64 are written by download(per_node) alone: the families output never needs
  // them (48 bytes a node of device writes saved).
  void run(const DeviceLineageGraph& g);
  void download(LineageRaw* out, LineageOutput output = LineageOutput::per_node);
  // Device results of the last run (n_nodes entries each).
  const uint32_t* root() const { return root_.data(); }
  const uint32_t* depth() const { return depth_.data(); }
  const uint32_t* children() const { return children_.data(); }
  struct Stats {
    uint32_t rounds = 0, max_depth_single = 0, levels_on_host = 0, multi = 0, overflow = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  Context& ctx_;
  uint32_t n_ = 0, n_families_ = 0, max_depth_ = 0;
  Stats stats_;
  DeviceArray<uint64_t> P_, F_, desc_, by_rel_, fam_desc_, fam_rel_;
  DeviceArray<uint32_t> fpar_, children_, sub_, multi_, W_, over_, fkey_, fval_, skey_, sval_, level_start_,
      root_, depth_, small_, stamp_, queue_, pos_, tail_, fam_flag_, fam_pos_, fam_root_;
  DeviceArray<uint8_t> prel_;
};

// ---- the Backend ---------------------------------------------------------------------------
// requested: a device index, taken mod the device count (device_for, ecostat/device_choice.hpp);
// negative = device 0. The info's device names the index opened: "device 1 of 2: NVIDIA H200 ...".
struct ChosenDevice {
  int index = -1, count = 0;  // the device probed and the node's device count; -1: none
};
BackendInfo probe_backend(int requested = -1, ChosenDevice* chosen = nullptr);  // never throws
std::unique_ptr<Backend> make_backend(int requested = -1);  // throws BackendUnavailableError without a device

}  // namespace ECOSTAT_DEV_NS
}  // namespace ecostat
