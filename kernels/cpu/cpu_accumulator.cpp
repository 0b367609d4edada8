// CPU event accumulator: exact u64 sums per (unit, month), multi-threaded.
//
// Layout. The unit x month table is month-major, the layout of the model x month table that
// finish() returns: row r holds the cells of month (month_base_ + r) for units [0, unit_cap_).
// It is one Cells buffer (fresh zero pages, faulted in by the threads that add to it), so when
// the units are the table's, finish() hands it over as the model x month table without a copy;
// the other month tables are rolled up from its rows. A batch with later months adds rows at
// the end (pages remapped, no copy); earlier months or more units than the table holds re-lay
// it (units: to expect_units()' count, else geometric growth). Rows always cover exactly the
// months of the batches seen. Units past the table's are ids that appear as they are read (a
// downloads-only job: the session's expect_units() is then the count so far), so the rows are
// re-laid for 4x the units (1.5x before: four re-lays, 22% of a 2.2M-id run's samples in their
// copies and page faults; one now); cells past the units seen are never touched and cost no
// memory. Without expect_units() the first lay-out has that headroom too.
//
// Threads. With one thread (or a batch under 64 Ki events) events are applied directly, with
// the table cells of events 16 ahead prefetched. Otherwise units are owned by threads (a
// multiplicative hash of unit / 8: the 8 cells of a 64-byte line of a row have one owner), so
// no two threads ever write the same line and sums are exact with no atomics and no
// per-thread tables:
//  - up to 4 threads (apply_filtered): every thread reads the whole batch, picks out its own
//    events branch-free in blocks of 1024 that stay in L1, and applies them. Reading the batch
//    T times is cheap next to the random table updates at small T.
//  - more threads (apply_partitioned): one pass where each thread appends its slice's events
//    to per-partition buffers (P = 4 x threads partitions), then each partition is applied by
//    one thread. Costs one extra write and read of 12 bytes per event, but reads the batch once.
//
// Validation. An event whose unit is >= its batch's unit_bound or whose month lies outside
// the batch's [month_min, month_max] is a host bug; it throws ecostat::Error before any cell
// outside the table could be written (cells already added by that batch stay added).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "cpu_internal.hpp"
#include "ecostat/errors.hpp"

namespace ecostat::cpu {
namespace {

constexpr size_t kDirectBelow = 1u << 16;  // batches smaller than this are applied by one thread
constexpr size_t kPrefetch = 16;           // events ahead whose table cell is prefetched
constexpr unsigned kFilterMaxThreads = 4;  // up to this many threads: apply_filtered, else apply_partitioned
// A month table asked as top rows (GroupMap::top_rows) whose month row is larger than this is
// kept as top rows (TopRowsTable), not whole.
constexpr size_t kTopRowsAbove = size_t(1) << 20;
// A unit x month table laid out with headroom (reserve) stays within this much address space.
constexpr size_t kMaxVirtualBytes = size_t(16) << 30;

struct Rec {
  uint32_t unit;
  uint32_t count;
  uint32_t month;  // absolute month
};

class CpuAccumulator final : public EventAccumulator {
 public:
  explicit CpuAccumulator(std::shared_ptr<ThreadPool> pool) : pool_(std::move(pool)) {
    const unsigned t = pool_->size();
    log_parts_ = 0;
    while ((1u << log_parts_) < 4 * t) ++log_parts_;
    buffers_.resize(t);
    for (auto& b : buffers_) b.resize(size_t(1) << log_parts_);
  }

  void expect_units(uint32_t n) override { units_hint_ = std::max(units_hint_, n); }

  void add(const EventBatch& batch) override {
    if (finished_) throw Error("cpu backend: add() after finish() (which may have handed its table over)");
    const size_t n = batch.size();
    if (batch.month.size() != n || batch.count.size() != n)
      throw Error("cpu backend: EventBatch columns have different lengths");
    if (n == 0) return;
    if (batch.month_min > batch.month_max)
      throw Error("cpu backend: non-empty EventBatch with an empty month range (month_min > month_max)");
    reserve(batch.unit_bound, batch.month_min, batch.month_max);
    if (pool_->size() == 1 || n < kDirectBelow)
      apply_direct(batch);
    else if (pool_->size() <= kFilterMaxThreads)
      apply_filtered(batch);
    else
      apply_partitioned(batch);
    events_ += n;
  }

  EventTotals finish(uint32_t n_units, const std::vector<GroupMap>& maps) override;

 private:
  uint64_t* row(uint32_t month) { return cells_.data() + size_t(month - month_base_) * unit_cap_; }

  // Makes the table hold units [0, unit_bound) and months [lo, hi]; rows stay exactly the
  // months seen, so [month_base_, month_base_ + rows_) is also the range finish() reports.
  void reserve(uint32_t unit_bound, Month lo, Month hi) {
    bound_seen_ = std::max(bound_seen_, unit_bound);
    const size_t needed = std::max(unit_bound, units_hint_);
    if (rows_ == 0) {
      month_base_ = lo, rows_ = uint32_t(hi) - lo + 1;
      size_t cap = units_hint_ >= unit_bound ? units_hint_ : with_headroom(unit_bound, needed, rows_);
      cells_ = zero_table(&cap, needed, rows_);
      unit_cap_ = uint32_t(cap);
      return;
    }
    const Month new_base = std::min<Month>(month_base_, lo);
    const uint32_t new_end = std::max<uint32_t>(uint32_t(month_base_) + rows_, uint32_t(hi) + 1);
    size_t cap = unit_cap_;
    if (unit_bound > cap) cap = with_headroom(cap, needed, new_end - new_base);
    if (cap == unit_cap_ && new_base == month_base_) {  // later months only: rows appended
      if (new_end > uint32_t(month_base_) + rows_) {
        rows_ = new_end - month_base_;
        cells_.extend(size_t(unit_cap_) * rows_);
      }
      return;
    }
    // More units or earlier months: a new table, each old row copied to its place.
    const uint32_t new_rows = new_end - new_base, shift = uint32_t(month_base_) - new_base;
    // Only the cells of units below every bound seen can be nonzero: the rest of a row is
    // neither read nor written, so its pages stay untouched in both tables.
    const size_t written = std::min<size_t>(bound_seen_, unit_cap_);
    Cells grown = zero_table(&cap, std::max<size_t>(needed, unit_cap_), new_rows);
    pool_->run(rows_, [&](size_t r, unsigned) {
      std::memcpy(grown.data() + (r + shift) * cap, cells_.data() + r * unit_cap_, written * 8);
    });
    cells_ = std::move(grown);
    unit_cap_ = uint32_t(cap), month_base_ = new_base, rows_ = new_rows;
  }

  // Units per row for at least `needed` units: 4x `from`, within u32, and within a table of
  // kMaxVirtualBytes (a lay-out past it would only reserve address space; the exact one may fit).
  static uint32_t with_headroom(size_t from, size_t needed, uint32_t rows) {
    const size_t most = std::max<size_t>(needed, kMaxVirtualBytes / 8 / std::max(rows, 1u));
    return uint32_t(std::min<size_t>({std::max(needed, 4 * from), most, UINT32_MAX}));
  }

  // A zero table of *cap units x rows; when the system refuses the headroom (address space,
  // overcommit limits), of `needed` units (*cap set to it).
  static Cells zero_table(size_t* cap, size_t needed, uint32_t rows) {
    if (*cap > needed) {
      try {
        return Cells(*cap * rows);
      } catch (const std::bad_alloc&) {
        *cap = needed;
      }
    }
    return Cells(*cap * rows);
  }

  [[noreturn]] static void bad_event(const EventBatch& b, size_t i) { throw_bad_event(b, i); }

  // month_ptr_[k]: the row of month (b.month_min + k).
  uint64_t* const* rows_of(const EventBatch& b) {
    const uint32_t span = uint32_t(b.month_max) - b.month_min;
    month_ptr_.resize(size_t(span) + 1);
    for (uint32_t k = 0; k <= span; ++k) month_ptr_[k] = row(b.month_min + k);
    return month_ptr_.data();
  }

  void apply_direct(const EventBatch& b) {
    const Month lo = b.month_min;
    const uint32_t span = uint32_t(b.month_max) - lo, bound = b.unit_bound;
    uint64_t* const* mb = rows_of(b);
    const uint32_t* U = b.unit.data();
    const Month* M = b.month.data();
    const uint32_t* C = b.count.data();
    const size_t n = b.size();
    for (size_t i = 0; i < n; ++i) {
      if (i + kPrefetch < n) {  // the table is far larger than the caches: fetch ahead
        const uint32_t kp = std::min<uint32_t>(uint32_t(M[i + kPrefetch]) - lo, span);
        __builtin_prefetch(mb[kp] + std::min(U[i + kPrefetch], bound - 1), 1);
      }
      const uint32_t u = U[i], k = uint32_t(M[i]) - lo;
      if (u >= bound || k > span) bad_event(b, i);
      mb[k][u] += C[i];
    }
  }

  // Every thread reads the whole batch and applies the events of the units it owns (a hash of
  // the unit's line), picked out branch-free in blocks that stay in L1.
  void apply_filtered(const EventBatch& b) {
    const unsigned T = pool_->size();
    const Month lo = b.month_min;
    const uint32_t* U = b.unit.data();
    const Month* M = b.month.data();
    const uint32_t* C = b.count.data();
    uint64_t* const* mb = rows_of(b);
    auto owner = [T](uint32_t u) { return line_owner(u >> 3, T); };  // units u and u ^ 7 share a line
    pool_->run(T, [&](size_t t, unsigned) {
      for_owned_events(b, t, owner, [&](size_t base, const uint32_t* idx, size_t k) {
        for (size_t j = 0; j < k; ++j) {
          if (j + kPrefetch < k) {
            const size_t f = base + idx[j + kPrefetch];
            __builtin_prefetch(mb[uint32_t(M[f]) - lo] + U[f], 1);
          }
          const size_t i = base + idx[j];
          mb[uint32_t(M[i]) - lo][U[i]] += C[i];
        }
      });
    });
  }

  void apply_partitioned(const EventBatch& b) {
    const unsigned T = pool_->size();
    const uint32_t P = 1u << log_parts_, shift = 32 - log_parts_;
    const size_t n = b.size();
    const Month lo = b.month_min;
    const uint32_t span = uint32_t(b.month_max) - lo, bound = b.unit_bound;
    const uint32_t* U = b.unit.data();
    const Month* M = b.month.data();
    const uint32_t* C = b.count.data();
    // Pass 1: each slice of the batch into its own per-partition buffers.
    pool_->run(T, [&](size_t t, unsigned) {
      const size_t begin = n * t / T, end = n * (t + 1) / T;
      auto& bufs = buffers_[t];
      const size_t expect = (end - begin) / P + (end - begin) / (4 * P) + 16;
      for (auto& v : bufs) {
        v.clear();
        if (v.capacity() < expect) v.reserve(expect);
      }
      for (size_t i = begin; i < end; ++i) {
        const uint32_t u = U[i], m = M[i];
        if (u >= bound || m - lo > span) bad_event(b, i);
        bufs[line_hash(u >> 3) >> shift].push_back(Rec{u, C[i], m});
      }
    });
    // Pass 2: each partition applied by one thread.
    uint64_t* const cells = cells_.data();
    const size_t cap = unit_cap_;
    const uint32_t base = month_base_;
    pool_->run(P, [&](size_t p, unsigned) {
      for (unsigned t = 0; t < T; ++t) {
        const std::vector<Rec>& recs = buffers_[t][p];
        const size_t m = recs.size();
        for (size_t i = 0; i < m; ++i) {
          if (i + kPrefetch < m) {
            const Rec& f = recs[i + kPrefetch];
            __builtin_prefetch(cells + (f.month - base) * cap + f.unit, 1);
          }
          const Rec& r = recs[i];
          cells[(r.month - base) * cap + r.unit] += r.count;
        }
      }
    });
  }

  std::shared_ptr<ThreadPool> pool_;
  unsigned log_parts_ = 0;
  std::vector<std::vector<std::vector<Rec>>> buffers_;  // [thread][partition]
  uint32_t units_hint_ = 0;  // expect_units(): the table is laid out for this many from the start
  uint32_t unit_cap_ = 0;    // units per row
  uint32_t bound_seen_ = 0;  // the largest unit_bound of a batch added: no cell of a unit past it is written
  Month month_base_ = 0;     // month of row 0
  uint32_t rows_ = 0;        // months held; 0 before any event
  Cells cells_;              // [(month - month_base_) * unit_cap_ + unit]
  std::vector<uint64_t*> month_ptr_;  // rows_of(): row of month (month_min + k)
  uint64_t events_ = 0;
  bool finished_ = false;  // finish() ended the stream (and may have given cells_ away)
};

EventTotals CpuAccumulator::finish(uint32_t n_units, const std::vector<GroupMap>& maps) {
  if (finished_) throw Error("cpu backend: finish() called twice (the first may have handed its table over)");
  finished_ = true;
  ThreadPool& pool = *pool_;
  EventTotals out;
  out.events = events_;
  out.unit_total.assign(n_units, 0);
  const size_t live = std::min<size_t>(n_units, unit_cap_);  // units that have cells

  // Every cell of a unit >= n_units must be zero (the caller promised n_units covers all units).
  // Cells of units past every batch's unit_bound were never written (add() checks each event
  // against its batch's bound): they are not read, so their pages stay untouched.
  const size_t written = std::min<size_t>(bound_seen_, unit_cap_);
  for (uint32_t r = 0; r < rows_; ++r) {
    const uint64_t* p = cells_.data() + size_t(r) * unit_cap_;
    for (size_t u = live; u < written; ++u)
      if (p[u] != 0) throw Error("cpu backend: finish(" + std::to_string(n_units) + ") but events name unit " + std::to_string(u));
  }

  for (const GroupMap& m : maps) {
    if (!m.group_of_unit.empty() && m.group_of_unit.size() < n_units)
      throw Error("cpu backend: group map '" + m.name + "' covers " + std::to_string(m.group_of_unit.size()) +
                  " units, fewer than " + std::to_string(n_units));
    for (size_t u = 0; u < m.group_of_unit.size() && u < n_units; ++u)
      if (m.group_of_unit[u] >= m.n_groups)
        throw Error("cpu backend: group map '" + m.name + "' sends unit " + std::to_string(u) + " to group " +
                    std::to_string(m.group_of_unit[u]) + " (n_groups " + std::to_string(m.n_groups) + ")");
  }
  out.group_month.resize(maps.size());
  if (rows_ == 0) {
    for (size_t i = 0; i < maps.size(); ++i)
      out.group_month[i].n_groups = maps[i].group_of_unit.empty() ? n_units : maps[i].n_groups;
    return out;
  }
  out.month_first = month_base_;
  out.n_months = rows_;
  const uint32_t nm = rows_;
  const uint64_t* cells = cells_.data();
  const size_t cap = unit_cap_;

  // Unit totals: blocks of units in parallel, each summing its slice of every row.
  const size_t block = 1u << 14;
  pool.run((live + block - 1) / block, [&](size_t bi, unsigned) {
    const size_t b = bi * block, e = std::min(live, b + block);
    uint64_t* tot = out.unit_total.data();
    for (uint32_t r = 0; r < nm; ++r) {
      const uint64_t* p = cells + r * cap;
      for (size_t u = b; u < e; ++u) tot[u] += p[u];
    }
  });

  // Group maps: one task per month, each writing its own row of every group table. The row is
  // read in blocks that stay in L2 while every map adds them up. A map whose reader asks only
  // the top rows (GroupMap::top_rows) and whose month row is past kTopRowsAbove is kept as top
  // rows instead (TopRowsTable): the month is added up in the worker's scratch row, and only its
  // candidates are kept.
  struct RollUp {
    const uint32_t* group;
    uint64_t* sums;  // the dense table; null with top
    uint32_t n_groups;
    TopRowsTable* top;
  };
  std::vector<RollUp> roll;
  std::vector<std::unique_ptr<TopRowsTable>> tops(maps.size());
  for (size_t i = 0; i < maps.size(); ++i) {
    const GroupMap& m = maps[i];
    if (m.group_of_unit.empty()) continue;
    GroupMonthTable& t = out.group_month[i];
    t.n_groups = m.n_groups, t.month_first = out.month_first, t.n_months = nm;
    if (m.top_rows > 0 && size_t(t.n_groups) * 8 > kTopRowsAbove) {
      tops[i] = std::make_unique<TopRowsTable>(m, nm, pool.size());
      roll.push_back({m.group_of_unit.data(), nullptr, t.n_groups, tops[i].get()});
      continue;
    }
    t.sums = Cells(size_t(nm) * t.n_groups);
    roll.push_back({m.group_of_unit.data(), t.sums.data(), t.n_groups, nullptr});
  }
  if (!roll.empty()) {
    constexpr size_t kRowBlock = size_t(1) << 16;  // 512 KiB of a row
    std::vector<std::vector<uint32_t>> nonzero(pool.size());  // per worker: a block's nonzero cells
    pool.run(nm, [&](size_t r, unsigned w) {
      const uint64_t* p = cells + r * cap;
      std::vector<uint32_t>& idx = nonzero[w];
      idx.resize(kRowBlock);
      for (size_t b = 0; b < live; b += kRowBlock) {
        const size_t e = std::min(live, b + kRowBlock);
        // The block's nonzero cells, picked out branch-free once for every map: a sparse table
        // (few records a unit) skips its empty cells, a full one pays one pass in L2.
        size_t n = 0;
        for (size_t u = b; u < e; ++u) {
          idx[n] = static_cast<uint32_t>(u - b);
          n += p[u] != 0;
        }
        const uint64_t* P = p + b;
        for (const RollUp& k : roll) {
          uint64_t* S = k.top ? k.top->row(w) : k.sums + r * k.n_groups;
          const uint32_t* G = k.group + b;
          for (size_t j = 0; j < n; ++j) S[G[idx[j]]] += P[idx[j]];
        }
      }
      for (const RollUp& k : roll)
        if (k.top) k.top->take_month(static_cast<uint32_t>(r), w);
    });
    for (size_t i = 0; i < maps.size(); ++i)
      if (tops[i]) tops[i]->finish(out.month_first, &out.group_month[i]);
  }

  // The identity map (model x month): the table itself, its rows closed up to n_units cells when
  // it holds more units, or copied into a wider table when it holds fewer. A second identity map
  // gets a copy of the first.
  const GroupMonthTable* identity = nullptr;
  for (size_t i = 0; i < maps.size(); ++i) {
    if (!maps[i].group_of_unit.empty()) continue;
    GroupMonthTable& t = out.group_month[i];
    t.n_groups = n_units, t.month_first = out.month_first, t.n_months = nm;
    if (identity) {
      t.sums = identity->sums;
      continue;
    }
    if (n_units <= cap) {
      for (uint32_t r = 1; r < nm && n_units < cap; ++r)  // in order: a row's new place may overlap the one before's old place
        std::memmove(cells_.data() + size_t(r) * n_units, cells + r * cap, size_t(n_units) * 8);
      cells_.shrink(size_t(nm) * n_units);
      t.sums = std::move(cells_);
    } else {
      t.sums = Cells(size_t(nm) * n_units);
      pool.run(nm, [&](size_t r, unsigned) { std::memcpy(t.sums.data() + r * n_units, cells + r * cap, cap * 8); });
    }
    identity = &t;
  }
  return out;
}

}  // namespace

void throw_bad_event(const EventBatch& b, size_t i) {
  throw Error("cpu backend: event " + std::to_string(i) + " (unit " + std::to_string(b.unit[i]) + ", month " +
              std::to_string(b.month[i]) + ") lies outside its batch's bounds (unit_bound " +
              std::to_string(b.unit_bound) + ", months " + std::to_string(b.month_min) + ".." +
              std::to_string(b.month_max) + ")");
}

std::unique_ptr<EventAccumulator> make_accumulator(std::shared_ptr<ThreadPool> pool) {
  return std::make_unique<CpuAccumulator>(std::move(pool));
}

}  // namespace ecostat::cpu
