// The backend interface: one per compute target (cpu, cuda, hip), chosen at run time.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ecostat/cells.hpp"
#include "ecostat/concentration.hpp"
#include "ecostat/lineage.hpp"
#include "ecostat/records.hpp"

namespace ecostat {

// A map from unit id to group id; an empty group_of_unit means identity (group = unit).
// Units mapped to kNone are a bug: the engine maps unattributed units to its `unknown` group.
// top_rows > 0 tells finish() that only each month's top_rows largest group sums will be read
// (plus always_group's, kNone: none): a backend may then return the month table as top rows
// (GroupMonthTable::top_only) instead of every cell. The GPU backends do, so that a table of
// millions of groups does not come back whole; the CPU backend does for a map of more than
// 131,072 groups (a month row past 1 MiB), so that such a table is never made whole in memory.
struct GroupMap {
  std::string name;
  std::vector<uint32_t> group_of_unit;
  uint32_t n_groups = 0;
  uint32_t top_rows = 0;
  uint32_t always_group = kNone;
};

// Month table for one group map. Dense: value(g, m) = sums[(m - month_first) * n_groups + g].
// top_only (a map with top_rows, when the backend chose so): `sums` is empty; per month mi its
// total over all groups, how many groups have a nonzero sum, and the candidate rows
// [row_begin[mi], row_begin[mi + 1]) of row_group / row_sum, in group order: every group whose
// sum reaches the month's threshold, a threshold at or below the top_rows-th largest sum (so the
// top rows and every tie at the boundary are there), and always_group when its sum is nonzero.
// Every candidate's sum is exact and nonzero.
struct GroupMonthTable {
  uint32_t n_groups = 0;
  Month month_first = 0;
  uint32_t n_months = 0;
  Cells sums;  // dense: [(m - month_first) * n_groups + g]
  uint64_t at(uint32_t g, Month m) const { return sums[size_t(m - month_first) * n_groups + g]; }  // dense only
  bool top_only = false;
  std::vector<uint64_t> month_total, month_nonzero;  // top_only: per month
  std::vector<uint64_t> row_begin;                   // top_only: n_months + 1 offsets
  std::vector<uint32_t> row_group;
  std::vector<uint64_t> row_sum;
};

struct EventTotals {
  std::vector<uint64_t> unit_total;          // per unit over all months (size = n_units)
  Month month_first = 0;
  uint32_t n_months = 0;                     // 0 when no event was seen
  std::vector<GroupMonthTable> group_month;  // one per GroupMap passed to finish(), same order
  uint64_t events = 0;                       // events accumulated
  // Asked by AccumulatorPlan::unit_concentration: Backend::concentration(unit_total, {}, 1, spec)
  // computed where the totals are. The GPU backends set it when the totals are whole on the device
  // at finish (no upload of them); unset otherwise (no events, partitioned passes, the CPU
  // backend): the caller then asks the Backend.
  std::optional<ConcentrationRaw> unit_concentration;
};

// How an accumulator fitted the memory it had (after finish): the device backends fill it, the
// CPU backend's stays empty (device = false). Results never depend on it: a run that adapted to
// a small device gives the same figures, more slowly; Results::accumulator carries it so that
// the user sees that it did.
struct AccumulatorReport {
  bool device = false;
  bool partitioned = false;     // the per-unit table (unit x month or unit totals) did not fit: finish ran in passes
  uint32_t finish_passes = 0;   // passes of finish() over unit ranges (1 when the table fitted)
  uint32_t chunk_events = 0;    // events per chunk of the pinned ring, at the end
  uint32_t chunk_halvings = 0;  // times the chunk was halved because the ring did not fit
};

// Streams download events into per-unit and per-unit-per-month totals. Tables grow when a
// batch names a larger unit id or a month outside the range seen so far.
class EventAccumulator {
 public:
  virtual ~EventAccumulator() = default;
  virtual void add(const EventBatch& batch) = 0;
  // A hint: batches will name units below n (more are still accepted). A unit x month table can
  // be laid out for them from the start, and handed over by finish() without a copy.
  virtual void expect_units(uint32_t n) { (void)n; }
  // Ends the stream: call it once. The CPU backend's accumulators refuse add() or finish() after
  // it (the month-table ones may have handed their tables over).
  // n_units >= every unit id seen; the maps cover n_units units.
  virtual EventTotals finish(uint32_t n_units, const std::vector<GroupMap>& maps) = 0;
  virtual AccumulatorReport report() const { return {}; }  // after finish()
};

// What finish() will be asked, given when the accumulator is made, so that it does only that
// work. month_tables = false: the accumulator keeps one total per unit instead of the unit x
// month table, and finish() may be given only the direct_maps (none when that is empty; others
// throw UsageError). direct_maps (with month_tables = false): group maps known now whose group x
// month tables finish() will ask, summed per (group, month) during the pass; each map covers the
// units it has entries for, and finish() must be given maps of the same names that put those
// units in the same groups (units added later are placed then). A backend may keep more than the
// plan asks (the device backends keep one total per unit without month tables, and the unit x
// month table, rolled up at finish, for direct_maps).
struct AccumulatorPlan {
  bool month_tables = true;
  std::vector<GroupMap> direct_maps;
  std::optional<ConcentrationSpec> unit_concentration;  // see EventTotals::unit_concentration
};

struct BackendInfo {
  std::string name;        // "cpu", "cuda", "hip"
  std::string device;      // e.g. "NVIDIA H200", "2 CPU threads"
  bool compiled = false;
  bool available = false;  // compiled and a device is there
  std::string status;      // "ok", "not compiled", "no device", ...
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendInfo info() const = 0;
  virtual std::unique_ptr<EventAccumulator> make_accumulator(const AccumulatorPlan& plan = AccumulatorPlan()) = 0;
  // out[g] = sum of values[u] over units u with group_of_unit[u] == g.
  virtual std::vector<uint64_t> group_sum(const std::vector<uint64_t>& values, const GroupMap& map) = 0;
  // Concentration of values within each segment (segment_of[u] in [0, n_segments)); an empty
  // segment_of means one segment holding every value. Returns one raw result per segment.
  virtual std::vector<ConcentrationRaw> concentration(const std::vector<uint64_t>& values,
                                                      const std::vector<uint32_t>& segment_of,
                                                      uint32_t n_segments,
                                                      const ConcentrationSpec& spec) = 0;
  // Roots, depth, children and exact descendant counts on an acyclic graph; output says which
  // of LineageRaw's arrays come back (the per-node arrays, or the families alone).
  virtual LineageRaw lineage(const LineageGraph& graph, LineageOutput output = LineageOutput::per_node) = 0;
};

// Factories. A backend not compiled in throws NotCompiledError; one compiled but without a
// device throws BackendUnavailableError. device (GPU backends): the index of the device to open,
// taken mod the node's device count (device_for, ecostat/device_choice.hpp); negative = device 0.
std::unique_ptr<Backend> make_cpu_backend(unsigned threads = 0);  // 0 = all hardware threads
std::unique_ptr<Backend> make_cuda_backend(int device = -1);
std::unique_ptr<Backend> make_hip_backend(int device = -1);
BackendInfo probe_cuda_backend(int device = -1);  // never throws
BackendInfo probe_hip_backend(int device = -1);
BackendInfo probe_cpu_backend();

// "auto" | "cpu" | "cuda" | "hip". auto: a compiled GPU backend with a device (cuda first),
// else cpu. Empty name reads ECOSTAT_BACKEND, defaulting to auto. device (EngineOptions::device):
// >= 0 is passed to the GPU backend; -1 reads ECOSTAT_DEVICE, else device 0 (requested_device,
// ecostat/device_choice.hpp). The CPU backend ignores it.
std::unique_ptr<Backend> select_backend(const std::string& name, unsigned cpu_threads = 0, int device = -1);

}  // namespace ecostat
