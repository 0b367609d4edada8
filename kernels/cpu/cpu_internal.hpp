// Internal pieces of the CPU backend (kernels/cpu). Not a public header.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "ecostat/backend.hpp"
#include "ecostat/cells.hpp"
#include "ecostat/detail/thread_pool.hpp"

namespace ecostat::cpu {

using detail::ThreadPool;

// An event outside its batch's bounds (a host bug): throws ecostat::Error naming it.
[[noreturn]] void throw_bad_event(const EventBatch& b, size_t i);

// Thread t's share of a batch when threads own units (the accumulators' filtered apply): every
// thread reads the whole batch in blocks that stay in L1, picks out branch-free the events whose
// owner(unit) is t, and gets them as apply(base, idx, k): events base + idx[0..k). Every event of
// a block is checked against the batch's bounds (throw_bad_event) before the block is applied.
template <class Owner, class Apply>
void for_owned_events(const EventBatch& b, size_t t, Owner owner, Apply apply) {
  constexpr size_t kBlock = 1024;
  const size_t n = b.size();
  const uint32_t* U = b.unit.data();
  const Month* M = b.month.data();
  const Month lo = b.month_min;
  const uint32_t span = uint32_t(b.month_max) - lo, bound = b.unit_bound;
  uint32_t idx[kBlock];
  for (size_t base = 0; base < n; base += kBlock) {
    const size_t e = std::min(n, base + kBlock);
    size_t k = 0;
    bool bad = false;
    for (size_t i = base; i < e; ++i) {
      const uint32_t u = U[i];
      bad |= (u >= bound) | (uint32_t(M[i]) - lo > span);
      idx[k] = uint32_t(i - base);
      k += owner(u) == t;
    }
    if (bad)
      for (size_t i = base; i < e; ++i)
        if (U[i] >= bound || uint32_t(M[i]) - lo > span) throw_bad_event(b, i);
    apply(base, static_cast<const uint32_t*>(idx), k);
  }
}

// The unit totals, month range and event count of an accumulator without a unit x month table
// (cpu_totals_accumulator.cpp, cpu_direct_accumulator.cpp), which add events in passes of their
// own: prepare() before a batch's pass, applied() after it. A unit's total is word
// unit * stride of the table; the other words of its record are the caller's (the direct
// accumulator keeps the unit's groups there, so that one cache line serves an event).
class UnitTotals {
 public:
  explicit UnitTotals(unsigned stride = 1) : stride_(stride) {}
  unsigned stride() const { return stride_; }
  // Room for `units` units' records (new ones zero, old ones kept): the table.
  uint64_t* reserve_units(size_t units);
  const uint64_t* records() const { return table_.data(); }
  // Checks the batch's columns and month range, makes room for its units and adds its months to
  // the range (a batch then refused for a bad event still widens it, as the unit x month
  // accumulator's does): the table to add to.
  uint64_t* prepare(const EventBatch& b);
  void applied(const EventBatch& b);  // the batch's events, once its pass is done
  // Throws when an event named a unit >= n_units.
  EventTotals finish(uint32_t n_units) const;
  // An event outside its batch's bounds (the one-thread passes check each event).
  static bool outside(const EventBatch& b, size_t i) {
    return b.unit[i] >= b.unit_bound || uint32_t(b.month[i]) - b.month_min > uint32_t(b.month_max) - b.month_min;
  }

 private:
  const unsigned stride_;
  Cells table_;
  bool any_ = false;
  Month mmin_ = 0, mmax_ = 0;
  uint64_t events_ = 0;
};

// The passes where threads own a table's 64-byte lines (so that no two write one line): the
// owner of line `line` (index / 8 for u64 cells) among `threads`, by a multiplicative hash, so
// that the lines of neighbouring hot units spread over the threads.
inline uint32_t line_hash(uint32_t line) { return line * 2654435761u; }
inline size_t line_owner(uint32_t line, unsigned threads) { return size_t((uint64_t(line_hash(line)) * threads) >> 32); }

// A group x month table kept as top rows (GroupMonthTable::top_only) while it is rolled up one
// month at a time: each worker adds a month's cells into a scratch row of n_groups cells, then
// take_month keeps only the month's total, its count of nonzero groups and its candidates (every
// group whose sum reaches the top_rows-th largest, and always_group when nonzero), and zeroes the
// row for the next month. The workers' rows (at most min(threads, months) of them) replace a
// table of months x n_groups cells (760 MB for 1.6M families over 60 months). cpu_top_rows.cpp.
class TopRowsTable {
 public:
  TopRowsTable(const GroupMap& map, uint32_t n_months, unsigned threads);
  uint64_t* row(unsigned worker);                // the worker's scratch row: zero between months
  void take_month(uint32_t month, unsigned worker);  // month: index from the table's first month
  void finish(Month month_first, GroupMonthTable* out);  // the candidates, in month then group order

 private:
  struct Candidate {
    uint32_t group;
    uint64_t sum;
  };
  uint32_t n_groups_, top_rows_, always_group_;
  std::vector<Cells> rows_;                         // per worker, made on first use
  std::vector<std::vector<Candidate>> nonzero_;     // per worker: the month's nonzero groups
  std::vector<std::vector<uint64_t>> sums_;         // per worker: their sums, for the threshold
  std::vector<std::vector<Candidate>> candidates_;  // per month
  std::vector<uint64_t> month_total_, month_nonzero_;
};

// cpu_accumulator.cpp: the unit x month table (every month table can be asked at finish).
std::unique_ptr<EventAccumulator> make_accumulator(std::shared_ptr<ThreadPool> pool);
// cpu_totals_accumulator.cpp: unit totals only (AccumulatorPlan::month_tables = false).
std::unique_ptr<EventAccumulator> make_totals_accumulator(std::shared_ptr<ThreadPool> pool);
// cpu_direct_accumulator.cpp: unit totals and the group x month tables of maps known up front
// (AccumulatorPlan::direct_maps).
std::unique_ptr<EventAccumulator> make_direct_accumulator(std::shared_ptr<ThreadPool> pool, std::vector<GroupMap> maps);

// cpu_backend.cpp
std::vector<uint64_t> group_sum(ThreadPool& pool, const std::vector<uint64_t>& values, const GroupMap& map);

// Two u64 work buffers. The backend keeps them between calls when they hold at most kKeep
// values, so that repeated calls do not pay the OS's first-touch cost again; a larger request,
// or one made while another call holds them, gets buffers of its own for that call.
class Scratch {
 public:
  static constexpr size_t kKeep = size_t(1) << 25;  // 2 x 256 MiB at most
  class Lease {
   public:
    Lease(Scratch& s, size_t n) {
      if (n <= kKeep && s.m_.try_lock()) {
        owner_ = &s;
        if (s.a_.size() < n) {
          s.a_ = Cells();  // the old pair freed before the new one is taken
          s.b_ = Cells();
          s.a_ = Cells(n);
          s.b_ = Cells(n);
        }
        a_ = s.a_.data(), b_ = s.b_.data();
      } else {
        la_ = Cells(n);
        lb_ = Cells(n);
        a_ = la_.data(), b_ = lb_.data();
      }
    }
    ~Lease() {
      if (owner_) owner_->m_.unlock();
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    uint64_t* a() const { return a_; }
    uint64_t* b() const { return b_; }

   private:
    Scratch* owner_ = nullptr;
    Cells la_, lb_;
    uint64_t *a_ = nullptr, *b_ = nullptr;
  };

 private:
  std::mutex m_;
  Cells a_, b_;
};

// cpu_concentration.cpp
// Sorts the n values at src ascending into buf0/buf1 (src may be buf1: it is read only by the
// first pass) and returns where the sorted values are (src itself when already in order by
// every digit). Uses the pool's threads when parallel.
const uint64_t* sort_values(ThreadPool& pool, const uint64_t* src, uint64_t* buf0, uint64_t* buf1, size_t n,
                            bool parallel);
std::vector<ConcentrationRaw> concentration(ThreadPool& pool, Scratch& scratch, const std::vector<uint64_t>& values,
                                            const std::vector<uint32_t>& segment_of, uint32_t n_segments,
                                            const ConcentrationSpec& spec);

// cpu_lineage.cpp
LineageRaw lineage(ThreadPool& pool, const LineageGraph& graph);

}  // namespace ecostat::cpu
