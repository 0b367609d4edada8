// CPU event accumulator for jobs that ask for no month table (AccumulatorPlan::month_tables =
// false): one u64 per unit, the table numpy.bincount keeps, instead of the unit x month table
// (one cell per unit and month, cpu_accumulator.cpp). Each event touches a table as many times
// smaller as there are months, which stays in the caches far longer.
//
// Threads: as cpu_accumulator.cpp's apply_filtered, every thread reads the whole batch and applies
// the events of the units it owns, picked out in blocks that stay in L1; a thread owns whole cache
// lines (8 units: a hash of unit / 8), so no two threads write the same line.
#include <algorithm>
#include <string>

#include "cpu_internal.hpp"
#include "ecostat/errors.hpp"

namespace ecostat::cpu {
namespace {

constexpr size_t kDirectBelow = 1u << 16;  // batches smaller than this are applied by one thread
constexpr size_t kPrefetch = 16;           // events ahead whose cell is prefetched

class CpuTotalsAccumulator final : public EventAccumulator {
 public:
  explicit CpuTotalsAccumulator(std::shared_ptr<ThreadPool> pool) : pool_(std::move(pool)) {}

  void add(const EventBatch& b) override {
    if (finished_) throw Error("cpu backend: add() after finish()");
    uint64_t* S = totals_.prepare(b);
    if (b.size() == 0) return;
    if (pool_->size() == 1 || b.size() < kDirectBelow)
      apply_direct(b, S);
    else
      apply_filtered(b, S);
    totals_.applied(b);
  }

  EventTotals finish(uint32_t n_units, const std::vector<GroupMap>& maps) override {
    if (finished_) throw Error("cpu backend: finish() called twice");
    finished_ = true;
    if (!maps.empty())
      throw UsageError("cpu backend: finish() asked for " + std::to_string(maps.size()) +
                       " month table(s) from an accumulator planned without them (AccumulatorPlan::month_tables)");
    return totals_.finish(n_units);
  }

 private:
  static void apply_direct(const EventBatch& b, uint64_t* S) {
    const uint32_t* U = b.unit.data();
    const uint32_t* C = b.count.data();
    const size_t n = b.size();
    for (size_t i = 0; i < n; ++i) {
      if (i + kPrefetch < n) __builtin_prefetch(S + U[i + kPrefetch], 1);
      if (UnitTotals::outside(b, i)) throw_bad_event(b, i);
      S[U[i]] += C[i];
    }
  }

  void apply_filtered(const EventBatch& b, uint64_t* S) {
    const unsigned T = pool_->size();
    const uint32_t* U = b.unit.data();
    const uint32_t* C = b.count.data();
    pool_->run(T, [&](size_t t, unsigned) {
      for_owned_events(b, t, [T](uint32_t u) { return line_owner(u >> 3, T); }, [&](size_t base, const uint32_t* idx, size_t k) {
        for (size_t j = 0; j < k; ++j) {
          if (j + kPrefetch < k) __builtin_prefetch(S + U[base + idx[j + kPrefetch]], 1);
          const size_t i = base + idx[j];
          S[U[i]] += C[i];
        }
      });
    });
  }

  std::shared_ptr<ThreadPool> pool_;
  UnitTotals totals_;
  bool finished_ = false;  // finish() ended the stream, as the month-table accumulators refuse more
};

}  // namespace

uint64_t* UnitTotals::prepare(const EventBatch& b) {
  const size_t n = b.size();
  if (b.month.size() != n || b.count.size() != n) throw Error("cpu backend: EventBatch columns have different lengths");
  if (n > 0 && b.month_min > b.month_max)
    throw Error("cpu backend: non-empty EventBatch with an empty month range (month_min > month_max)");
  if (n > 0 && size_t(b.unit_bound) * stride_ > table_.size()) {
    // Geometric growth, amortised over batches naming larger units.
    const size_t held = table_.size() / stride_;
    reserve_units(std::min<size_t>(std::max<size_t>(b.unit_bound, held + held / 2), size_t(1) << 32));
  }
  // The batch's months join the range now, before any pass: month tables laid out for them
  // (the direct accumulator's) then always lie within the range finish() reports, even when a
  // pass refuses the batch for a bad event.
  if (n > 0) {
    mmin_ = any_ ? std::min(mmin_, b.month_min) : b.month_min;
    mmax_ = any_ ? std::max(mmax_, b.month_max) : b.month_max;
    any_ = true;
  }
  return table_.data();
}

uint64_t* UnitTotals::reserve_units(size_t units) {
  // Whole cache lines; a large table grows in place (Cells::extend), without a copy.
  const size_t words = (units * stride_ + 7) & ~size_t(7);
  if (words > table_.size()) table_.extend(words);
  return table_.data();
}

void UnitTotals::applied(const EventBatch& b) { events_ += b.size(); }

EventTotals UnitTotals::finish(uint32_t n_units) const {
  const size_t held = table_.size() / stride_;
  for (size_t u = n_units; u < held; ++u)
    if (table_[u * stride_] != 0)
      throw Error("cpu backend: finish(" + std::to_string(n_units) + ") but events name unit " + std::to_string(u));
  EventTotals out;
  out.events = events_;
  out.unit_total.assign(n_units, 0);
  for (size_t u = 0, e = std::min<size_t>(n_units, held); u < e; ++u) out.unit_total[u] = table_[u * stride_];
  if (any_) {
    out.month_first = mmin_;
    out.n_months = uint32_t(mmax_) - mmin_ + 1;
  }
  return out;
}

std::unique_ptr<EventAccumulator> make_totals_accumulator(std::shared_ptr<ThreadPool> pool) {
  return std::make_unique<CpuTotalsAccumulator>(std::move(pool));
}

}  // namespace ecostat::cpu
