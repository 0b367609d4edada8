// CPU event accumulator: exact u64 sums per (unit, month), multi-threaded.
//
// Layout. The unit x month table is kept in "month chunks" of 8 consecutive months aligned on
// multiples of 8 (absolute month / 8): chunk c holds, for every unit u, 8 u64 cells
// [u * 8 + month % 8], one 64-byte cache line per unit and chunk. A batch with later (or
// earlier) months only adds chunks, without copying the others; a batch with a larger
// unit_bound grows every chunk (geometric growth, amortised). Per-unit totals are not kept
// separately (one write per event): finish() sums each unit's cells.
//
// Threads. With one thread (or a batch under 64 Ki events) events are applied directly, with
// the table cells of events 16 ahead prefetched. Otherwise units are owned by threads (a
// multiplicative hash of the unit id), a unit's cells are one cache line, so no two threads
// ever write the same line and sums are exact with no atomics and no per-thread tables:
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
#include <string>

#include "cpu_internal.hpp"
#include "ecostat/errors.hpp"

namespace ecostat::cpu {
namespace {

constexpr size_t kDirectBelow = 1u << 16;  // batches smaller than this are applied by one thread
constexpr size_t kPrefetch = 16;           // events ahead whose table cell is prefetched
constexpr unsigned kFilterMaxThreads = 4;  // up to this many threads: apply_filtered, else apply_partitioned

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

  void add(const EventBatch& batch) override {
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
    if (!any_) {
      mmin_ = batch.month_min, mmax_ = batch.month_max, any_ = true;
    } else {
      mmin_ = std::min(mmin_, batch.month_min);
      mmax_ = std::max(mmax_, batch.month_max);
    }
    events_ += n;
  }

  EventTotals finish(uint32_t n_units, const std::vector<GroupMap>& maps) override;

 private:
  uint64_t* cell_base(uint32_t month) const {  // cells of `month` for unit u: base[u * 8]
    return chunks_[(month >> 3) - chunk_base_].p + (month & 7);
  }

  void reserve(uint32_t unit_bound, Month lo, Month hi) {
    // Units: grow every chunk.
    if (unit_bound > unit_cap_) {
      size_t cap = unit_cap_ == 0 ? unit_bound : std::max<size_t>(unit_bound, unit_cap_ + unit_cap_ / 2);
      cap = std::min<size_t>(cap, size_t(1) << 32);
      for (ZeroBuf& c : chunks_) {
        ZeroBuf g(cap * 8);
        if (unit_cap_) std::memcpy(g.p, c.p, unit_cap_ * 8 * sizeof(uint64_t));
        c = std::move(g);
      }
      unit_cap_ = cap;
    }
    // Months: add chunks at either end.
    const uint32_t clo = lo >> 3, chi = hi >> 3;
    if (chunks_.empty()) {
      chunk_base_ = clo;
      for (uint32_t c = clo; c <= chi; ++c) chunks_.emplace_back(unit_cap_ * 8);
      return;
    }
    while (clo < chunk_base_) {
      chunks_.insert(chunks_.begin(), ZeroBuf(unit_cap_ * 8));
      --chunk_base_;
    }
    while (chi >= chunk_base_ + chunks_.size()) chunks_.emplace_back(unit_cap_ * 8);
  }

  [[noreturn]] static void bad_event(const EventBatch& b, size_t i) { throw_bad_event(b, i); }

  void apply_direct(const EventBatch& b) {
    const Month lo = b.month_min;
    const uint32_t span = uint32_t(b.month_max) - lo, bound = b.unit_bound;
    month_ptr_.resize(size_t(span) + 1);
    uint64_t** mb = month_ptr_.data();
    for (uint32_t k = 0; k <= span; ++k) mb[k] = cell_base(lo + k);
    const uint32_t* U = b.unit.data();
    const Month* M = b.month.data();
    const uint32_t* C = b.count.data();
    const size_t n = b.size();
    for (size_t i = 0; i < n; ++i) {
      if (i + kPrefetch < n) {  // the table is far larger than the caches: fetch ahead
        const uint32_t kp = std::min<uint32_t>(uint32_t(M[i + kPrefetch]) - lo, span);
        __builtin_prefetch(mb[kp] + size_t(U[i + kPrefetch]) * 8, 1);
      }
      const uint32_t u = U[i], k = uint32_t(M[i]) - lo;
      if (u >= bound || k > span) bad_event(b, i);
      mb[k][size_t(u) * 8] += C[i];
    }
  }

  // Every thread reads the whole batch and applies the events of the units it owns (a hash of
  // the unit id), picked out branch-free in blocks that stay in L1.
  void apply_filtered(const EventBatch& b) {
    const unsigned T = pool_->size();
    const Month lo = b.month_min;
    const uint32_t span = uint32_t(b.month_max) - lo;
    const uint32_t* U = b.unit.data();
    const Month* M = b.month.data();
    const uint32_t* C = b.count.data();
    month_ptr_.resize(size_t(span) + 1);
    for (uint32_t k = 0; k <= span; ++k) month_ptr_[k] = cell_base(lo + k);
    uint64_t* const* mb = month_ptr_.data();
    auto owner = [T](uint32_t u) { return size_t((uint64_t(u * 2654435761u) * T) >> 32); };
    pool_->run(T, [&](size_t t, unsigned) {
      for_owned_events(b, t, owner, [&](size_t base, const uint32_t* idx, size_t k) {
        for (size_t j = 0; j < k; ++j) {
          if (j + kPrefetch < k) {
            const size_t f = base + idx[j + kPrefetch];
            __builtin_prefetch(mb[uint32_t(M[f]) - lo] + size_t(U[f]) * 8, 1);
          }
          const size_t i = base + idx[j];
          mb[uint32_t(M[i]) - lo][size_t(U[i]) * 8] += C[i];
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
        bufs[(u * 2654435761u) >> shift].push_back(Rec{u, C[i], m});
      }
    });
    // Pass 2: each partition applied by one thread.
    const int64_t cb = chunk_base_;
    pool_->run(P, [&](size_t p, unsigned) {
      for (unsigned t = 0; t < T; ++t) {
        const std::vector<Rec>& recs = buffers_[t][p];
        const size_t m = recs.size();
        for (size_t i = 0; i < m; ++i) {
          if (i + kPrefetch < m) {
            const Rec& f = recs[i + kPrefetch];
            __builtin_prefetch(chunks_[(f.month >> 3) - cb].p + size_t(f.unit) * 8 + (f.month & 7), 1);
          }
          const Rec& r = recs[i];
          chunks_[(r.month >> 3) - cb].p[size_t(r.unit) * 8 + (r.month & 7)] += r.count;
        }
      }
    });
  }

  std::shared_ptr<ThreadPool> pool_;
  unsigned log_parts_ = 0;
  std::vector<std::vector<std::vector<Rec>>> buffers_;  // [thread][partition]
  size_t unit_cap_ = 0;
  uint32_t chunk_base_ = 0;   // absolute month / 8 of chunks_[0]
  std::vector<ZeroBuf> chunks_;
  std::vector<uint64_t*> month_ptr_;  // apply_direct: cells of month (month_min + k)
  bool any_ = false;
  Month mmin_ = 0, mmax_ = 0;
  uint64_t events_ = 0;
};

EventTotals CpuAccumulator::finish(uint32_t n_units, const std::vector<GroupMap>& maps) {
  ThreadPool& pool = *pool_;
  const unsigned T = pool.size();
  EventTotals out;
  out.events = events_;
  out.unit_total.assign(n_units, 0);
  const size_t live = std::min<size_t>(n_units, unit_cap_);  // units that have cells

  // Every cell of a unit >= n_units must be zero (the caller promised n_units covers all units).
  for (const ZeroBuf& c : chunks_)
    for (size_t i = live * 8; i < unit_cap_ * 8; ++i)
      if (c.p[i] != 0)
        throw Error("cpu backend: finish(" + std::to_string(n_units) + ") but events name unit " +
                    std::to_string(i / 8));

  for (const GroupMap& m : maps) {
    if (!m.group_of_unit.empty() && m.group_of_unit.size() < n_units)
      throw Error("cpu backend: group map '" + m.name + "' covers " + std::to_string(m.group_of_unit.size()) +
                  " units, fewer than " + std::to_string(n_units));
  }
  if (!any_) {
    for (const GroupMap& m : maps) {
      GroupMonthTable t;
      t.n_groups = m.group_of_unit.empty() ? n_units : m.n_groups;
      out.group_month.push_back(std::move(t));
    }
    return out;
  }
  out.month_first = mmin_;
  out.n_months = uint32_t(mmax_) - mmin_ + 1;
  const uint32_t nm = out.n_months;

  // Unit totals: blocks of units in parallel.
  const size_t block = 1u << 14;
  const size_t n_blocks = (live + block - 1) / block;
  pool.run(n_blocks, [&](size_t bi, unsigned) {
    const size_t b = bi * block, e = std::min(live, b + block);
    for (const ZeroBuf& c : chunks_) {
      const uint64_t* p = c.p;
      for (size_t u = b; u < e; ++u) {
        const uint64_t* q = p + u * 8;
        out.unit_total[u] += q[0] + q[1] + q[2] + q[3] + q[4] + q[5] + q[6] + q[7];
      }
    }
  });

  // Months [mmin_, mmax_] per chunk: chunk c holds months [8 (base + c), 8 (base + c) + 8).
  struct Span {
    size_t chunk;
    uint32_t j0, j1;  // slots [j0, j1) of the chunk
  };
  std::vector<Span> spans;
  for (size_t c = 0; c < chunks_.size(); ++c) {
    const uint32_t first = uint32_t(chunk_base_ + c) * 8;
    uint32_t j0 = mmin_ > first ? mmin_ - first : 0;
    uint32_t j1 = std::min<uint32_t>(8, uint32_t(mmax_) + 1 - first);
    if (mmax_ + 1u <= first || j0 >= 8) continue;
    spans.push_back({c, j0, j1});
  }

  for (const GroupMap& m : maps) {
    GroupMonthTable t;
    t.month_first = mmin_;
    t.n_months = nm;
    if (m.group_of_unit.empty()) {  // identity: every cell written, units past the table are 0
      const uint32_t G = n_units;
      t.n_groups = G;
      t.sums.assign(size_t(nm) * G, 0);
      uint64_t* S = t.sums.data();
      pool.run(spans.size() * n_blocks, [&](size_t task, unsigned) {
        const Span& sp = spans[task / n_blocks];
        const size_t b = (task % n_blocks) * block, e = std::min(live, b + block);
        const uint64_t* p = chunks_[sp.chunk].p;
        const uint32_t first = uint32_t(chunk_base_ + sp.chunk) * 8;
        for (uint32_t j = sp.j0; j < sp.j1; ++j) {
          uint64_t* row = S + size_t(first + j - mmin_) * G;
          for (size_t u = b; u < e; ++u) row[u] = p[u * 8 + j];
        }
      });
    } else {
      const uint32_t G = m.n_groups;
      t.n_groups = G;
      t.sums.assign(size_t(nm) * G, 0);
      uint64_t* S = t.sums.data();
      const uint32_t* gou = m.group_of_unit.data();
      for (size_t u = 0; u < n_units; ++u)
        if (gou[u] >= G)
          throw Error("cpu backend: group map '" + m.name + "' sends unit " + std::to_string(u) + " to group " +
                      std::to_string(gou[u]) + " (n_groups " + std::to_string(G) + ")");
      // One task per (chunk, slice of its months): tasks write disjoint month rows.
      const uint32_t parts = std::max<uint32_t>(1, std::min<uint32_t>(8, (T + spans.size() - 1) / spans.size()));
      pool.run(spans.size() * parts, [&](size_t task, unsigned) {
        const Span& sp = spans[task / parts];
        const uint32_t part = task % parts, w = sp.j1 - sp.j0;
        const uint32_t j0 = sp.j0 + w * part / parts, j1 = sp.j0 + w * (part + 1) / parts;
        if (j0 >= j1) return;
        const uint64_t* p = chunks_[sp.chunk].p;
        const uint32_t first = uint32_t(chunk_base_ + sp.chunk) * 8;
        uint64_t* rows[8];
        for (uint32_t j = j0; j < j1; ++j) rows[j] = S + size_t(first + j - mmin_) * G;
        for (size_t u = 0; u < live; ++u) {
          const uint64_t* q = p + u * 8;
          const uint32_t g = gou[u];
          for (uint32_t j = j0; j < j1; ++j) rows[j][g] += q[j];
        }
      });
    }
    out.group_month.push_back(std::move(t));
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
