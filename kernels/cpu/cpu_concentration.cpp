// CPU concentration: sort each segment's values, then one pass of exact u128 sums.
//
// Sorting. Values are u64 totals, usually far below 2^64: an LSD radix sort over only the
// significant bits of the largest value (passes of at most 11 bits; a pass whose digit is the
// same for every value is skipped), parallel across threads (per-thread digit histograms, then
// a scatter to per-thread offsets, which keeps the sort stable and exact). Small segments use
// std::sort. Segmented input: values are first bucketed by segment (counting sort), then large
// segments are sorted one after the other with every thread, and small ones are spread over
// the threads, one segment per task.
//
// Sums. Over the sorted x_(1..n): S, sum i * x_(i) and sum x^2 in u128, and the prefix sums
// L(c) at every count c the plan asks for (Lorenz counts, and n - k for each top-k, since the
// k largest sum to S - L(n - k)). Large segments split the pass into per-thread ranges and
// combine (rank offsets: sum (b + i) x = sum i x + b * sum x).
#include <algorithm>
#include <cstring>
#include <string>

#include "cpu_internal.hpp"
#include "ecostat/errors.hpp"

namespace ecostat::cpu {
namespace {

constexpr size_t kStdSortBelow = 1u << 12;     // std::sort below this size
constexpr size_t kParallelFrom = 1u << 18;     // segments this large use every thread
constexpr uint64_t kSmall = 1u << 16;          // values below this are counted, not sorted...
constexpr size_t kCountFrom = 1u << 16;        // ...in segments this large, when >= 1/4 of them are small

}  // namespace

namespace {

// LSD radix sort of src[0..n) whose largest value is mx (see sort_values for the buffers).
const uint64_t* radix_sort(ThreadPool& pool, const uint64_t* src, uint64_t* buf0, uint64_t* buf1, size_t n,
                           uint64_t mx, bool parallel) {
  if (n < kStdSortBelow) {
    if (src != buf1) std::copy(src, src + n, buf1);
    std::sort(buf1, buf1 + n);
    return buf1;
  }
  const unsigned T = parallel ? pool.size() : 1;
  auto range = [&](size_t t, size_t& b, size_t& e) { b = n * t / T, e = n * (t + 1) / T; };
  const unsigned bits = 64 - __builtin_clzll(mx | 1);
  const unsigned passes = (bits + 10) / 11, width = (bits + passes - 1) / passes;
  const size_t buckets = size_t(1) << width;
  const uint64_t mask = buckets - 1;
  const uint64_t* in = src;
  uint64_t* out = buf0;
  auto advance = [&] {  // the pass wrote `out`: it is the next input
    in = out;
    out = out == buf0 ? buf1 : buf0;
  };
  auto exclusive_scan = [](size_t* c, size_t k) {
    size_t sum = 0;
    for (size_t d = 0; d < k; ++d) {
      const size_t x = c[d];
      c[d] = sum;
      sum += x;
    }
  };

  if (T == 1) {
    // Every pass's histogram in one read; a pass whose digit is the same for all is skipped.
    std::vector<size_t> hist(size_t(passes) * buckets, 0);
    for (size_t i = 0; i < n; ++i) {
      const uint64_t x = src[i];
      for (unsigned p = 0; p < passes; ++p) ++hist[p * buckets + ((x >> (p * width)) & mask)];
    }
    for (unsigned p = 0; p < passes; ++p) {
      size_t* c = hist.data() + size_t(p) * buckets;
      if (std::find(c, c + buckets, n) != c + buckets) continue;
      exclusive_scan(c, buckets);
      const unsigned shift = p * width;
      for (size_t i = 0; i < n; ++i) {
        const uint64_t x = in[i];
        out[c[(x >> shift) & mask]++] = x;
      }
      advance();
    }
    return in;
  }

  // Parallel: per-thread histograms of its slice, then a stable scatter to per-thread offsets.
  std::vector<std::vector<size_t>> hist(T, std::vector<size_t>(buckets));
  for (unsigned p = 0; p < passes; ++p) {
    const unsigned shift = p * width;
    pool.run(T, [&](size_t t, unsigned) {
      size_t b, e;
      range(t, b, e);
      size_t* c = hist[t].data();
      std::fill(c, c + buckets, 0);
      for (size_t i = b; i < e; ++i) ++c[(in[i] >> shift) & mask];
    });
    bool constant = false;
    for (size_t d = 0; d < buckets && !constant; ++d) {
      size_t tot = 0;
      for (unsigned t = 0; t < T; ++t) tot += hist[t][d];
      constant = tot == n;
    }
    if (constant) continue;
    size_t sum = 0;
    for (size_t d = 0; d < buckets; ++d)
      for (unsigned t = 0; t < T; ++t) {
        const size_t x = hist[t][d];
        hist[t][d] = sum;
        sum += x;
      }
    pool.run(T, [&](size_t t, unsigned) {
      size_t b, e;
      range(t, b, e);
      size_t* c = hist[t].data();
      for (size_t i = b; i < e; ++i) {
        const uint64_t x = in[i];
        out[c[(x >> shift) & mask]++] = x;
      }
    });
    advance();
  }
  return in;
}

}  // namespace

const uint64_t* sort_values(ThreadPool& pool, const uint64_t* src, uint64_t* buf0, uint64_t* buf1, size_t n,
                            bool parallel) {
  if (n < kStdSortBelow) {
    if (src != buf1) std::copy(src, src + n, buf1);
    std::sort(buf1, buf1 + n);
    return buf1;
  }
  const unsigned T = parallel ? pool.size() : 1;
  auto range = [&](size_t t, size_t& b, size_t& e) { b = n * t / T, e = n * (t + 1) / T; };
  // One read: the largest value and how many values are small (< kSmall).
  std::vector<uint64_t> maxes(T, 0);
  std::vector<size_t> smalls(T, 0);
  pool.run(T, [&](size_t t, unsigned) {
    size_t b, e;
    range(t, b, e);
    uint64_t m = 0;
    size_t k = 0;
    for (size_t i = b; i < e; ++i) {
      m = std::max(m, src[i]);
      k += src[i] < kSmall;
    }
    maxes[t] = m;
    smalls[t] = k;
  });
  const uint64_t mx = *std::max_element(maxes.begin(), maxes.end());
  size_t n_small = 0;
  for (size_t k : smalls) n_small += k;
  if (n < kCountFrom || n_small < n / 4) return radix_sort(pool, src, buf0, buf1, n, mx, parallel);

  // Counting path (download totals are mostly small): values < kSmall are counted in a
  // histogram, the others are packed at the end of buf0 and radix-sorted there; then the
  // small values are written out in order in front of them.
  const size_t n_large = n - n_small, base = n_small;
  std::vector<size_t> large_at(T, base);
  for (unsigned t = 1; t < T; ++t) {
    size_t b, e;
    range(t - 1, b, e);
    large_at[t] = large_at[t - 1] + (e - b) - smalls[t - 1];
  }
  std::vector<std::vector<size_t>> hist(T);
  pool.run(T, [&](size_t t, unsigned) {
    size_t b, e;
    range(t, b, e);
    std::vector<size_t>& h = hist[t];
    h.assign(kSmall, 0);
    uint64_t* o = buf0 + large_at[t];
    for (size_t i = b; i < e; ++i) {
      const uint64_t x = src[i];
      if (x < kSmall)
        ++h[x];
      else
        *o++ = x;
    }
  });
  for (unsigned t = 1; t < T; ++t)
    for (size_t v = 0; v < kSmall; ++v) hist[0][v] += hist[t][v];
  const uint64_t* large = radix_sort(pool, buf0 + base, buf1 + base, buf0 + base, n_large, mx, parallel);
  uint64_t* out = const_cast<uint64_t*>(large) - base;  // large lies in buf0 or buf1, at base
  // Expand the histogram: threads take ranges of values holding about n_small / T values each.
  const std::vector<size_t>& h = hist[0];
  std::vector<size_t> cut(T + 1, kSmall), start(T + 1, n_small);
  cut[0] = 0, start[0] = 0;
  {
    size_t acc = 0;
    unsigned t = 1;
    for (size_t v = 0; v < kSmall && t < T; ++v) {
      while (t < T && acc >= n_small * t / T) cut[t] = v, start[t] = acc, ++t;
      acc += h[v];
    }
  }
  pool.run(T, [&](size_t t, unsigned) {
    uint64_t* o = out + start[t];
    for (size_t v = cut[t]; v < cut[t + 1]; ++v) o = std::fill_n(o, h[v], uint64_t(v));
  });
  return out;
}

namespace {

// Exact aggregates of sorted x[0..n). When parallel, ranges of x are summed by the pool's
// threads and combined.
ConcentrationRaw raw_of_sorted(ThreadPool& pool, const uint64_t* x, size_t n, const ConcentrationSpec& spec,
                               bool parallel) {
  const ConcentrationPlan plan = ConcentrationPlan::make(n, spec);
  ConcentrationRaw r;
  r.n = n;
  // Prefix counts wanted: Lorenz counts, then n - k per top count.
  std::vector<uint64_t> want;
  want.reserve(plan.lorenz_counts.size() + plan.top_counts.size());
  for (uint64_t c : plan.lorenz_counts) want.push_back(c);
  for (uint64_t k : plan.top_counts) want.push_back(n - k);
  std::vector<uint64_t> sorted_want = want;
  std::sort(sorted_want.begin(), sorted_want.end());
  sorted_want.erase(std::unique(sorted_want.begin(), sorted_want.end()), sorted_want.end());
  std::vector<u128> prefix(sorted_want.size(), 0);  // L(sorted_want[i])

  const unsigned T = parallel ? pool.size() : 1;
  struct Part {
    u128 sum = 0, rw = 0, sq = 0;
  };
  std::vector<Part> parts(T);
  std::vector<u128> local(sorted_want.size(), 0);  // prefix within its part, before the offset
  std::vector<unsigned> owner(sorted_want.size(), 0);
  auto body = [&](size_t t, unsigned) {
    const size_t b = n * t / T, e = n * (t + 1) / T;
    // Wanted counts c in (b, e] are reached inside this part; c = 0 is L(0) = 0.
    size_t w = std::upper_bound(sorted_want.begin(), sorted_want.end(), uint64_t(b)) - sorted_want.begin();
    const size_t w_end = std::upper_bound(sorted_want.begin(), sorted_want.end(), uint64_t(e)) - sorted_want.begin();
    uint64_t next = w < w_end ? sorted_want[w] : UINT64_MAX;
    u128 s = 0, rw = 0, sq = 0;
    for (size_t i = b; i < e; ++i) {
      const uint64_t v = x[i];
      s += v;
      rw += static_cast<u128>(v) * (i - b + 1);
      sq += static_cast<u128>(v) * v;
      if (i + 1 == next) {
        do {
          local[w] = s;
          owner[w] = static_cast<unsigned>(t);
          ++w;
        } while (w < w_end && sorted_want[w] == i + 1);
        next = w < w_end ? sorted_want[w] : UINT64_MAX;
      }
    }
    parts[t] = {s, rw, sq};
  };
  if (T == 1)
    body(0, 0);
  else
    pool.run(T, body);
  std::vector<u128> before(T, 0);  // sum of parts < t
  for (unsigned t = 0; t < T; ++t) {
    const size_t b = n * t / T;
    r.total += parts[t].sum;
    r.rank_weighted += parts[t].rw + static_cast<u128>(b) * parts[t].sum;
    r.sum_squares += parts[t].sq;
    if (t + 1 < T) before[t + 1] = before[t] + parts[t].sum;
  }
  for (size_t i = 0; i < sorted_want.size(); ++i)
    prefix[i] = sorted_want[i] == 0 ? 0 : before[owner[i]] + local[i];
  auto L = [&](uint64_t c) {
    return prefix[std::lower_bound(sorted_want.begin(), sorted_want.end(), c) - sorted_want.begin()];
  };
  r.lorenz_sums.reserve(plan.lorenz_counts.size());
  for (uint64_t c : plan.lorenz_counts) r.lorenz_sums.push_back(L(c));
  r.top_sums.reserve(plan.top_counts.size());
  for (uint64_t k : plan.top_counts) r.top_sums.push_back(r.total - L(n - k));
  r.percentile_values.reserve(plan.percentile_ranks.size());
  for (uint64_t rank : plan.percentile_ranks) r.percentile_values.push_back(x[rank]);
  r.below_counts.reserve(spec.below.size());
  for (uint64_t t : spec.below) r.below_counts.push_back(std::lower_bound(x, x + n, t) - x);
  return r;
}

}  // namespace

std::vector<ConcentrationRaw> concentration(ThreadPool& pool, Scratch& scratch, const std::vector<uint64_t>& values,
                                            const std::vector<uint32_t>& segment_of, uint32_t n_segments,
                                            const ConcentrationSpec& spec) {
  spec.validate();
  const size_t n = values.size();
  if (n == 0 && n_segments > 1) {
    // No values: segment_of is necessarily empty, yet it still segments them into n_segments
    // (empty) segments; see docs/metrics.md.
    return std::vector<ConcentrationRaw>(n_segments, raw_of_sorted(pool, nullptr, 0, spec, false));
  }
  if (!segment_of.empty() && segment_of.size() != n)
    throw Error("cpu backend: concentration: segment_of has " + std::to_string(segment_of.size()) +
                " entries for " + std::to_string(n) + " values");
  Scratch::Lease buf(scratch, n);
  uint64_t* A = buf.a();
  uint64_t* B = buf.b();
  if (segment_of.empty()) {
    const bool par = n >= kParallelFrom && pool.size() > 1;
    const uint64_t* sorted = sort_values(pool, values.data(), A, B, n, par);
    return {raw_of_sorted(pool, sorted, n, spec, par)};
  }
  // Bucket values by segment into A.
  std::vector<size_t> off(size_t(n_segments) + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t s = segment_of[i];
    if (s >= n_segments)
      throw Error("cpu backend: concentration: value " + std::to_string(i) + " is in segment " + std::to_string(s) +
                  " of " + std::to_string(n_segments));
    ++off[s + 1];
  }
  for (uint32_t s = 0; s < n_segments; ++s) off[s + 1] += off[s];
  {
    std::vector<size_t> fill(off.begin(), off.end() - 1);
    for (size_t i = 0; i < n; ++i) A[fill[segment_of[i]]++] = values[i];
  }
  std::vector<ConcentrationRaw> out(n_segments);
  std::vector<uint32_t> small;
  for (uint32_t s = 0; s < n_segments; ++s) {
    const size_t b = off[s], len = off[s + 1] - b;
    if (len >= kParallelFrom && pool.size() > 1) {
      const uint64_t* sorted = sort_values(pool, A + b, B + b, A + b, len, true);
      out[s] = raw_of_sorted(pool, sorted, len, spec, true);
    } else {
      small.push_back(s);
    }
  }
  // Largest first, for balance.
  std::sort(small.begin(), small.end(), [&](uint32_t x, uint32_t y) {
    const size_t lx = off[x + 1] - off[x], ly = off[y + 1] - off[y];
    return lx != ly ? lx > ly : x < y;
  });
  pool.run(small.size(), [&](size_t i, unsigned) {
    const uint32_t s = small[i];
    const size_t b = off[s], len = off[s + 1] - b;
    const uint64_t* sorted = sort_values(pool, A + b, B + b, A + b, len, false);
    out[s] = raw_of_sorted(pool, sorted, len, spec, false);
  });
  return out;
}

}  // namespace ecostat::cpu
