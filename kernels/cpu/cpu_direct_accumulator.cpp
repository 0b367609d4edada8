// CPU event accumulator for jobs whose month tables are all group maps known when it is made
// (AccumulatorPlan::direct_maps, month_tables = false): each event goes straight into its
// (group, month) cell of every such map during the pass, the table numpy.bincount keeps for
// group * n_months + month, instead of into a unit x month table rolled up at finish
// (cpu_accumulator.cpp). Unit totals (UnitTotals, as the totals-only accumulator keeps them) are
// added in the same pass as the small maps' cells, which also checks every event against its
// batch's bounds before anything is added for it: a batch is read once for all of them. Each
// unit has one record, its total then its group in each map (copied from the maps when the
// accumulator is made), so that an event reads one line of unit data, as numpy.bincount's
// gather of the group does, instead of one line of totals and one of each map.
//
// Two kinds of table, by the map's size:
//  - small maps (organisation, country, ...): each thread has a group-major table of its own
//    that stays in the caches, and adds to it the events of the units whose totals it owns (one
//    thread: every event); finish() sums them.
//  - large maps (family: about as many groups as units): one month-major table, the layout
//    finish() returns. With one thread, the events go into it in the same pass. With more, its
//    64-byte lines are owned by threads (a hash of cell / 8): each event's cell is worked out
//    once per batch, by slices; then every thread reads all the cells and adds those on its
//    lines. The table is made once, filled where it lies and handed over without a copy.
//
// Units a map does not cover (ids from its group_of_unit.size() on: repositories first seen
// after the accumulator was made) cannot be put in a group yet: their events go, rebased to the
// first uncovered unit, into a unit x month accumulator of their own, rolled up at finish with
// the maps finish() is given. finish() refuses a map that was not planned or that puts a covered
// unit in another group than the plan did (UsageError): the sums would not be the asked ones.
//
// A batch that widens the month range re-lays the tables (a handful of times per job: months
// are few; later months only add rows to a large map's table, without a copy).
#include <algorithm>
#include <string>

#include "cpu_internal.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/prefetch.hpp"

namespace ecostat::cpu {
namespace {

constexpr size_t kDirectBelow = 1u << 16;  // batches smaller than this are applied by one thread
constexpr size_t kAhead = 16;              // events ahead whose group is fetched, then half that its cell
constexpr uint32_t kSharedFrom = 1u << 18;  // groups from which a map gets one shared month-major table
constexpr uint64_t kNoCell = UINT64_MAX;    // add_shared(): an event of a unit past cover_

// One planned map's sums.
struct DirectTable {
  bool shared = false;
  Cells cells;                             // shared: [(month - month_base_) * n_groups + g]
  std::vector<std::vector<uint64_t>> own;  // small: [thread][g * span_ + month - month_base_]
};

class CpuDirectAccumulator final : public EventAccumulator {
 public:
  CpuDirectAccumulator(std::shared_ptr<ThreadPool> pool, std::vector<GroupMap> maps)
      : pool_(std::move(pool)), totals_(record_words(maps.size())), maps_(std::move(maps)) {
    cover_ = UINT32_MAX;
    for (const GroupMap& m : maps_) {
      if (m.group_of_unit.empty())
        throw UsageError("cpu backend: direct month table '" + m.name +
                         "' has no group map (the identity map needs the unit x month table)");
      for (size_t u = 0; u < m.group_of_unit.size(); ++u)
        if (m.group_of_unit[u] >= m.n_groups)
          throw UsageError("cpu backend: group map '" + m.name + "' puts unit " + std::to_string(u) + " in group " +
                           std::to_string(m.group_of_unit[u]) + " of " + std::to_string(m.n_groups));
      cover_ = uint32_t(std::min<size_t>(cover_, m.group_of_unit.size()));
    }
    if (maps_.empty()) cover_ = 0;
    // Each covered unit's groups go into its record, beside its total.
    const size_t W = totals_.stride();
    uint64_t* R = totals_.reserve_units(cover_);
    for (size_t k = 0; k < maps_.size(); ++k)
      for (uint32_t u = 0; u < cover_; ++u) R[u * W + 1 + k] = maps_[k].group_of_unit[u];
    for (GroupMap& m : maps_) std::vector<uint32_t>().swap(m.group_of_unit);  // the records hold them now
    tables_.resize(maps_.size());
    for (size_t k = 0; k < maps_.size(); ++k) {
      tables_[k].shared = maps_[k].n_groups >= kSharedFrom;
      if (!tables_[k].shared) tables_[k].own.resize(pool_->size());
    }
  }

  void add(const EventBatch& b) override {
    if (finished_) throw Error("cpu backend: add() after finish() (which may have handed its tables over)");
    uint64_t* R = totals_.prepare(b);  // the unit records
    const size_t n = b.size();
    if (n == 0) return;
    widen_months(b.month_min, b.month_max);
    // One pass checks every event against the batch's bounds (before it is added) and adds it to
    // its unit's total and to the small maps' tables, so the batch is read once for all of them.
    // The large maps' tables then get their own pass, as do units past cover_.
    const unsigned T = n < kDirectBelow ? 1u : pool_->size();
    if (T == 1) {
      add_one_thread(b, R);
    } else {
      add_owned(b, T, R);
      for (size_t k = 0; k < maps_.size(); ++k)
        if (tables_[k].shared) add_shared(b, T, k, R, tables_[k].cells.data());
    }
    if (b.unit_bound > cover_) add_uncovered(b);
    totals_.applied(b);
  }

  EventTotals finish(uint32_t n_units, const std::vector<GroupMap>& maps) override {
    if (finished_) throw Error("cpu backend: finish() called twice (the first may have handed its tables over)");
    finished_ = true;
    EventTotals out = totals_.finish(n_units);  // also throws when an event names a unit >= n_units
    std::vector<size_t> planned(maps.size());
    std::vector<size_t> asked(maps_.size(), 0);  // how many of the maps given use each planned table
    for (size_t i = 0; i < maps.size(); ++i) ++asked[planned[i] = planned_index(maps[i], n_units)];
    // Uncovered units, rolled up with the maps given now.
    EventTotals late;
    if (late_) {
      std::vector<GroupMap> late_maps;
      for (const GroupMap& m : maps)
        late_maps.push_back(GroupMap{m.name, {m.group_of_unit.begin() + cover_, m.group_of_unit.begin() + n_units},
                                     m.n_groups});
      late = late_->finish(n_units - cover_, late_maps);
    }
    for (size_t i = 0; i < maps.size(); ++i) {
      GroupMonthTable t;
      t.n_groups = maps[i].n_groups;
      t.month_first = out.month_first;
      t.n_months = out.n_months;
      const size_t k = planned[i];
      const uint32_t G = maps_[k].n_groups;
      const uint32_t offset = uint32_t(month_base_) - out.month_first;  // 0: both cover every batch's months
      DirectTable& d = tables_[k];
      if (d.shared && offset == 0 && span_ == t.n_months && G == t.n_groups && --asked[k] == 0) {
        t.sums = std::move(d.cells);  // already the returned layout (given to its last asker)
      } else {
        t.sums = Cells(size_t(t.n_groups) * t.n_months);
        if (d.shared) {
          for (uint32_t m = 0; m < span_; ++m)
            std::copy_n(d.cells.data() + size_t(m) * G, G, t.sums.data() + size_t(m + offset) * t.n_groups);
        } else {
          for (const auto& own : d.own) {
            if (own.empty()) continue;  // a thread that never ran
            for (uint32_t g = 0; g < G; ++g)
              for (uint32_t m = 0; m < span_; ++m) t.sums[size_t(m + offset) * t.n_groups + g] += own[size_t(g) * span_ + m];
          }
        }
      }
      if (late_ && late.n_months > 0) {
        const GroupMonthTable& l = late.group_month[i];
        const uint32_t lo = uint32_t(l.month_first) - out.month_first;
        for (uint32_t m = 0; m < l.n_months; ++m)
          for (uint32_t g = 0; g < l.n_groups; ++g) t.sums[size_t(m + lo) * t.n_groups + g] += l.sums[size_t(m) * l.n_groups + g];
      }
      out.group_month.push_back(std::move(t));
    }
    return out;
  }

 private:
  // Which planned map `m` is; refuses one not planned or disagreeing on a covered unit.
  size_t planned_index(const GroupMap& m, uint32_t n_units) const {
    size_t k = 0;
    while (k < maps_.size() && maps_[k].name != m.name) ++k;
    if (k == maps_.size())
      throw UsageError("cpu backend: finish() asked for month table '" + m.name +
                       "', which the accumulator was not planned with (AccumulatorPlan::direct_maps)");
    const GroupMap& p = maps_[k];
    if (m.group_of_unit.size() < n_units || m.n_groups < p.n_groups)
      throw UsageError("cpu backend: group map '" + m.name + "' given to finish() covers " +
                       std::to_string(m.group_of_unit.size()) + " of " + std::to_string(n_units) + " units and " +
                       std::to_string(m.n_groups) + " groups; the plan had " + std::to_string(p.n_groups) + " groups");
    const size_t same = std::min<size_t>(cover_, n_units), W = totals_.stride();
    const uint64_t* R = totals_.records();
    for (size_t u = 0; u < same; ++u)
      if (m.group_of_unit[u] != R[u * W + 1 + k])
        throw UsageError("cpu backend: group map '" + m.name + "' given to finish() puts unit " + std::to_string(u) +
                         " in group " + std::to_string(m.group_of_unit[u]) + ", the plan in " +
                         std::to_string(R[u * W + 1 + k]));
    return k;
  }

  // Words per unit record: its total, then its group in each map; a power of two, so that
  // records do not straddle a cache line when they fit in one (in a table of 1 MiB or more,
  // which Cells maps page-aligned; a smaller one is calloc'd, and a line two owner threads share
  // costs only false sharing: they write different words).
  static unsigned record_words(size_t maps) {
    unsigned w = 1;
    while (w < 1 + maps) w *= 2;
    return w;
  }
  // log2 of the records in a 64-byte line: threads that own units own whole lines.
  unsigned units_per_line_log2() const {
    unsigned per_line = 8 / std::min(8u, totals_.stride()), log2 = 0;
    while ((1u << log2) < per_line) ++log2;
    return log2;
  }

  // Where one map's cells lie: the group of unit u is word `word` of its record, and cell
  // (g, month) is at g * g_stride + (month - month_base_) * m_stride.
  struct Target {
    size_t word;
    uint64_t* table;
    size_t g_stride, m_stride;
    bool large;  // a shared table, larger than the caches
  };
  std::vector<Target> targets(bool shared_too, size_t t) {
    std::vector<Target> out;
    for (size_t k = 0; k < maps_.size(); ++k) {
      DirectTable& d = tables_[k];
      const uint32_t G = maps_[k].n_groups;
      if (d.shared) {
        if (shared_too) out.push_back({1 + k, d.cells.data(), 1, G, true});
        continue;
      }
      std::vector<uint64_t>& own = d.own[t];
      if (own.empty()) own.assign(size_t(G) * span_, 0);
      out.push_back({1 + k, own.data(), span_, 1, false});
    }
    return out;
  }

  // One thread: every event checked, then added to its unit's total and every map's table
  // (thread 0's own small tables, and the shared ones). The unit records (total and groups) and
  // the large tables are larger than the caches: the record of the event kAhead on is fetched,
  // and the large tables' cells of the one kAhead/2 on (its record is cached by then).
  void add_one_thread(const EventBatch& b, uint64_t* R) {
    const std::vector<Target> to = targets(true, 0);
    const size_t W = totals_.stride();
    const uint32_t* U = b.unit.data();
    const Month* M = b.month.data();
    const uint32_t* C = b.count.data();
    const uint32_t cover = cover_;
    const Month base = month_base_;
    const size_t n = b.size();
    for (size_t i = 0; i < n; ++i) {
      if (i + kAhead < n) __builtin_prefetch(R + U[i + kAhead] * W, 1);
      if (i + kAhead / 2 < n) {
        const size_t j = i + kAhead / 2;
        if (U[j] < cover)
          for (const Target& x : to)
            if (x.large) prefetch_for_read(x.table + R[U[j] * W + x.word] + (M[j] - base) * x.m_stride);
      }
      if (UnitTotals::outside(b, i)) throw_bad_event(b, i);
      uint64_t* rec = R + U[i] * W;
      rec[0] += C[i];
      if (U[i] >= cover) continue;
      for (const Target& x : to) x.table[rec[x.word] * x.g_stride + (M[i] - base) * x.m_stride] += C[i];
    }
  }

  // Threads owning units (the lines of their records): each reads the whole batch, checks it, and
  // adds its own units' events to their totals and to its own small tables.
  void add_owned(const EventBatch& b, unsigned T, uint64_t* R) {
    const size_t W = totals_.stride();
    const unsigned shift = units_per_line_log2();
    const uint32_t* U = b.unit.data();
    const Month* M = b.month.data();
    const uint32_t* C = b.count.data();
    const uint32_t cover = cover_;
    const Month base = month_base_;
    std::vector<std::vector<Target>> to(T);
    for (unsigned t = 0; t < T; ++t) to[t] = targets(false, t);
    auto owner = [T, shift](uint32_t u) { return line_owner(u >> shift, T); };
    pool_->run(T, [&](size_t t, unsigned) {
      const std::vector<Target>& mine = to[t];
      for_owned_events(b, t, owner, [&](size_t first, const uint32_t* idx, size_t k) {
        for (size_t j = 0; j < k; ++j) {
          if (j + kAhead < k) __builtin_prefetch(R + U[first + idx[j + kAhead]] * W, 1);
          const size_t i = first + idx[j];
          uint64_t* rec = R + U[i] * W;
          rec[0] += C[i];
          if (U[i] >= cover) continue;
          for (const Target& x : mine) x.table[rec[x.word] * x.g_stride + (M[i] - base) * x.m_stride] += C[i];
        }
      });
    });
  }

  // A large map's events into its shared month-major table: each event's cell (kNoCell for a unit
  // past cover_, which add_uncovered takes) worked out once, by slices in parallel, with the
  // unit records read ahead; then each thread adds the cells whose 64-byte line it owns (a hash of
  // cell / 8), picked out branch-free in blocks that stay in L1, reading the cells in order.
  void add_shared(const EventBatch& b, unsigned T, size_t k, const uint64_t* R, uint64_t* table) {
    const size_t n = b.size();
    const uint32_t G = maps_[k].n_groups;
    const size_t W = totals_.stride(), word = 1 + k;
    const uint32_t* U = b.unit.data();
    const Month* M = b.month.data();
    const uint32_t* C = b.count.data();
    const uint32_t cover = cover_;
    const Month base = month_base_;
    cell_.resize(n);
    uint64_t* cell = cell_.data();
    pool_->run(T, [&](size_t t, unsigned) {
      const size_t lo = n * t / T, hi = n * (t + 1) / T;
      for (size_t i = lo; i < hi; ++i) {
        if (i + kAhead < hi) prefetch_for_read(R + size_t(U[i + kAhead] < cover ? U[i + kAhead] : 0) * W);
        const uint32_t u = U[i];
        cell[i] = u < cover ? size_t(M[i] - base) * G + R[u * W + word] : kNoCell;
      }
    });
    pool_->run(T, [&](size_t t, unsigned) {
      constexpr size_t kBlock = 1024;
      uint32_t idx[kBlock];
      for (size_t first = 0; first < n; first += kBlock) {
        const size_t e = std::min(n, first + kBlock);
        size_t k = 0;
        for (size_t i = first; i < e; ++i) {
          const uint64_t c = cell[i];
          idx[k] = uint32_t(i - first);
          k += (c != kNoCell) & (line_owner(uint32_t(c >> 3), T) == t);
        }
        for (size_t j = 0; j < k; ++j) {
          if (j + kAhead < k) __builtin_prefetch(table + cell[first + idx[j + kAhead]], 1);
          const size_t i = first + idx[j];
          table[cell[i]] += C[i];
        }
      }
    });
  }

  // Events of units past cover_, rebased, into their own unit x month accumulator.
  void add_uncovered(const EventBatch& b) {
    late_batch_.clear();
    for (size_t i = 0; i < b.size(); ++i)
      if (b.unit[i] >= cover_) late_batch_.push(b.unit[i] - cover_, b.month[i], b.count[i]);
    if (late_batch_.size() == 0) return;
    if (!late_) late_ = make_accumulator(pool_);
    late_->add(late_batch_);
  }

  // Makes the tables hold months [lo, hi] as well, moving what they hold.
  void widen_months(Month lo, Month hi) {
    const bool first = span_ == 0;
    const Month new_base = first ? lo : std::min(month_base_, lo);
    const uint32_t new_span =
        first ? uint32_t(hi) - lo + 1
              : uint32_t(std::max<uint32_t>(uint32_t(month_base_) + span_ - 1, hi) - new_base + 1);
    if (!first && new_base == month_base_ && new_span == span_) return;
    const uint32_t shift = first ? 0 : uint32_t(month_base_) - new_base;
    for (size_t k = 0; k < maps_.size(); ++k) {
      DirectTable& d = tables_[k];
      const uint32_t G = maps_[k].n_groups;
      if (d.shared) {
        if (first) {
          d.cells = Cells(size_t(G) * new_span);
        } else if (shift == 0) {
          d.cells.extend(size_t(G) * new_span);  // later months: rows added at the end
        } else {
          Cells wide(size_t(G) * new_span);
          std::copy_n(d.cells.data(), size_t(G) * span_, wide.data() + size_t(shift) * G);
          d.cells = std::move(wide);
        }
        continue;
      }
      for (auto& own : d.own) {
        if (own.empty()) continue;  // laid out at its thread's first add
        std::vector<uint64_t> wide(size_t(G) * new_span, 0);
        for (uint32_t g = 0; g < G; ++g)
          std::copy_n(own.data() + size_t(g) * span_, span_, wide.data() + size_t(g) * new_span + shift);
        own.swap(wide);
      }
    }
    month_base_ = new_base, span_ = new_span;
  }

  std::shared_ptr<ThreadPool> pool_;
  UnitTotals totals_;  // unit totals, month range, event count
  std::vector<GroupMap> maps_;  // names and group counts (the groups are in the unit records)
  uint32_t cover_ = 0;  // units [0, cover_) are in every map
  Month month_base_ = 0;
  uint32_t span_ = 0;   // months [month_base_, month_base_ + span_) in every table; 0 before any event
  std::vector<DirectTable> tables_;  // one per planned map
  std::unique_ptr<EventAccumulator> late_;  // units >= cover_, rebased
  EventBatch late_batch_;
  std::vector<uint64_t> cell_;  // add_shared(): each event's cell in the table
  bool finished_ = false;  // finish() ended the stream (and may have given shared tables away)
};

}  // namespace

std::unique_ptr<EventAccumulator> make_direct_accumulator(std::shared_ptr<ThreadPool> pool, std::vector<GroupMap> maps) {
  return std::make_unique<CpuDirectAccumulator>(std::move(pool), std::move(maps));
}

}  // namespace ecostat::cpu
