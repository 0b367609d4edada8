#include "share_tables.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>

#include "ecostat/errors.hpp"

namespace ecostat::detail {
namespace {

constexpr size_t kRankKeysAbove = 4096;  // rows kept per table above which key ranks pay off

// Sorts the first `keep` elements into place. std::partial_sort is a heap sort, several times
// slower than std::sort when every row is kept (--share-limit 0: millions of rows).
template <class T, class Less>
void sort_first(std::vector<T>& v, size_t keep, Less less) {
  if (keep == v.size()) {
    std::sort(v.begin(), v.end(), less);
  } else if (keep > 0) {
    std::nth_element(v.begin(), v.begin() + (keep - 1), v.end(), less);
    std::sort(v.begin(), v.begin() + keep, less);
  }
}

// Share order: downloads descending, then key. With many rows kept ties compare precomputed
// key ranks (key_ranks, order_groups) instead of two strings each time.
struct ByDownloads {
  const uint64_t* sums;
  const GroupKeys* keys;
  bool operator()(uint32_t a, uint32_t b) const {
    if (sums[a] != sums[b]) return sums[a] > sums[b];
    return keys->key(a) < keys->key(b);
  }
};

// LSD radix sort of 64-bit keys, ascending, 11 bits a pass; a pass whose digit is the same in
// every key is skipped (share keys: small counts and ranks leave most high digits constant).
void radix_sort(std::vector<uint64_t>& keys) {
  constexpr int kBits = 11, kPasses = (64 + kBits - 1) / kBits;
  constexpr size_t kBuckets = size_t(1) << kBits;
  std::vector<uint32_t> count(kPasses * kBuckets, 0);
  for (uint64_t k : keys)
    for (int p = 0; p < kPasses; ++p) ++count[p * kBuckets + ((k >> (p * kBits)) & (kBuckets - 1))];
  std::vector<uint64_t> other(keys.size());
  for (int p = 0; p < kPasses; ++p) {
    uint32_t* c = &count[p * kBuckets];
    if (std::any_of(c, c + kBuckets, [&](uint32_t n) { return n == keys.size(); })) continue;
    uint32_t at = 0;
    for (size_t b = 0; b < kBuckets; ++b) {
      const uint32_t n = c[b];
      c[b] = at;
      at += n;
    }
    for (uint64_t k : keys) other[c[(k >> (p * kBits)) & (kBuckets - 1)]++] = k;
    keys.swap(other);
  }
}

// Puts the first `keep` of `groups` in share order. With key ranks and counts below 2^32 (every
// month table of real data) the order is one radix sort of (inverted count, rank) words; else
// the rows are sorted as contiguous (downloads, rank, group) records.
void order_groups(std::vector<uint32_t>& groups, size_t keep, const uint64_t* sums, const GroupKeys& keys,
                  const KeyRanks* rank) {
  if (rank == nullptr) {
    sort_first(groups, keep, ByDownloads{sums, &keys});
    return;
  }
  uint64_t max_sum = 0;
  for (uint32_t g : groups) max_sum = std::max(max_sum, sums[g]);
  if (max_sum <= UINT32_MAX && groups.size() < (size_t(1) << 32)) {
    std::vector<uint64_t> words(groups.size());
    for (size_t i = 0; i < groups.size(); ++i)
      words[i] = uint64_t(UINT32_MAX - uint32_t(sums[groups[i]])) << 32 | rank->rank[groups[i]];
    radix_sort(words);
    for (size_t i = 0; i < keep; ++i) groups[i] = rank->by_rank[uint32_t(words[i])];
    return;
  }
  struct Ranked {
    uint64_t sum;
    uint32_t rank, g;
  };
  std::vector<Ranked> rows(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) rows[i] = {sums[groups[i]], rank->rank[groups[i]], groups[i]};
  sort_first(rows, keep, [](const Ranked& a, const Ranked& b) { return a.sum != b.sum ? a.sum > b.sum : a.rank < b.rank; });
  for (size_t i = 0; i < keep; ++i) groups[i] = rows[i].g;
}

// The listed groups' keys, each once, in one block of text the table keeps (key_text), laid
// out in group order: one pass over the groups' strings in memory order, where a layout in row
// order read a string at random per row (the model table, every row kept: 111 ms -> see
// docs/benchmarks.md). `listed(i)`: whether entry i has a row.
struct KeyText {
  struct Place {
    size_t offset = 0, size = 0;
  };
  std::shared_ptr<std::string> text = std::make_shared<std::string>();
  std::vector<Place> place;  // by entry; the rows read these, not the key strings again

  // Entry i is group group_of[i] (null: group i).
  template <class Listed>
  KeyText(const GroupKeys& keys, size_t n, Listed listed, const std::vector<uint32_t>* group_of = nullptr) : place(n) {
    auto key = [&](uint32_t i) { return keys.key(group_of ? (*group_of)[i] : i); };
    size_t bytes = 0;
    for (uint32_t i = 0; i < n; ++i)
      if (listed(i)) place[i] = {bytes, key(i).size()}, bytes += place[i].size;
    text->reserve(bytes);
    for (uint32_t i = 0; i < n; ++i)
      if (listed(i)) text->append(key(i));
  }
  std::string_view key(uint32_t i) const { return std::string_view(text->data() + place[i].offset, place[i].size); }
};

// std::sort on the pool's threads: a part per thread sorted at once, then the parts merged
// pairwise (each round's merges at once). `less` must be a total order (then the result is the
// same for any number of threads). Sorting the 500,000 model keys took 98 ms on one thread.
template <class T, class Less>
void parallel_sort(std::vector<T>& v, Less less, ThreadPool* pool) {
  constexpr size_t kMinPart = 1 << 14;
  const size_t parts = pool == nullptr ? 1 : std::min<size_t>(pool->size(), v.size() / kMinPart);
  if (parts < 2) {
    std::sort(v.begin(), v.end(), less);
    return;
  }
  std::vector<size_t> cut(parts + 1);
  for (size_t i = 0; i <= parts; ++i) cut[i] = v.size() * i / parts;
  pool->run(parts, [&](size_t i, unsigned) { std::sort(v.begin() + cut[i], v.begin() + cut[i + 1], less); });
  std::vector<T> merged(v.size());
  for (size_t width = 1; width < parts; width *= 2) {
    const size_t pairs = (parts + 2 * width - 1) / (2 * width);
    pool->run(pairs, [&](size_t k, unsigned) {
      const size_t i = k * 2 * width;
      const auto lo = v.begin() + cut[i], mid = v.begin() + cut[std::min(i + width, parts)],
                 hi = v.begin() + cut[std::min(i + 2 * width, parts)];
      std::merge(lo, mid, mid, hi, merged.begin() + cut[i], less);
    });
    v.swap(merged);
  }
}

// The first 16 bytes of a key as two big-endian words (zero-padded): comparing them orders
// keys as std::string does up to those bytes, and only equal prefixes need the strings.
struct KeyPrefix {
  uint64_t hi = 0, lo = 0;
  uint32_t g = 0;
};

KeyPrefix key_prefix(std::string_view key, uint32_t g) {
  unsigned char b[16] = {};
  std::memcpy(b, key.data(), std::min<size_t>(key.size(), 16));
  KeyPrefix p;
  for (int i = 0; i < 8; ++i) p.hi = (p.hi << 8) | b[i], p.lo = (p.lo << 8) | b[8 + i];
  p.g = g;
  return p;
}

}  // namespace

bool worth_ranking(size_t limit, size_t n_groups) {
  return n_groups > kRankKeysAbove && (limit == 0 || limit > kRankKeysAbove);
}

KeyRanks key_ranks(const GroupKeys& keys, uint32_t n_groups, ThreadPool* pool) {
  std::vector<KeyPrefix> by_key(n_groups);
  for (uint32_t g = 0; g < n_groups; ++g) by_key[g] = key_prefix(keys.key(g), g);
  parallel_sort(by_key, [&](const KeyPrefix& a, const KeyPrefix& b) {
    if (a.hi != b.hi) return a.hi < b.hi;
    if (a.lo != b.lo) return a.lo < b.lo;
    const int c = keys.key(a.g).compare(keys.key(b.g));
    return c != 0 ? c < 0 : a.g < b.g;  // a total order: the ranks never depend on the threads
  }, pool);
  KeyRanks r;
  r.rank.resize(n_groups);
  r.by_rank.resize(n_groups);
  for (uint32_t i = 0; i < n_groups; ++i) r.rank[by_key[i].g] = i, r.by_rank[i] = by_key[i].g;
  return r;
}

ShareTable make_share_table(const std::string& name, const GroupKeys& keys, const std::vector<uint8_t>& exists,
                            const std::vector<uint64_t>& sums, size_t limit, const KeyRanks* rank) {
  ShareTable t;
  t.group = name;
  std::vector<uint32_t> order;
  for (uint32_t g = 0; g < sums.size(); ++g) {
    t.total += sums[g];
    if (exists[g]) order.push_back(g);
  }
  t.groups = order.size();
  const size_t keep = (limit == 0 || limit >= order.size()) ? order.size() : limit;
  order_groups(order, keep, sums.data(), keys, rank);
  t.truncated = keep < order.size();
  t.rows.reserve(keep + 1);
  order.resize(keep);  // now the listed groups, row by row
  const uint32_t unknown = keys.unknown_id();
  bool unknown_listed = false;
  for (size_t i = 0; i < keep; ++i) {
    const uint32_t g = order[i];
    unknown_listed |= (g == unknown);
    t.rows.push_back({{}, sums[g], share_ratio(sums[g], t.total)});
  }
  if (!unknown_listed && unknown != kNone && exists[unknown]) {
    t.rows.push_back({{}, sums[unknown], share_ratio(sums[unknown], t.total)});
    order.push_back(unknown);
  }
  if (order.size() * 16 >= sums.size()) {  // many of the groups listed: flags over all of them
    std::vector<uint8_t> listed(sums.size(), 0);
    for (uint32_t g : order) listed[g] = 1;
    const KeyText text(keys, sums.size(), [&](uint32_t g) { return listed[g] != 0; });
    for (size_t i = 0; i < t.rows.size(); ++i) t.rows[i].key = text.key(order[i]);
    t.key_text = text.text;
    return t;
  }
  // A few rows of many groups (a share limit): only the listed groups are visited, sorted into
  // the same group order, each row's found by binary search.
  std::vector<uint32_t> groups(order);
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  const KeyText text(keys, groups.size(), [](uint32_t) { return true; }, &groups);
  for (size_t i = 0; i < t.rows.size(); ++i)
    t.rows[i].key = text.key(uint32_t(std::lower_bound(groups.begin(), groups.end(), order[i]) - groups.begin()));
  t.key_text = text.text;
  return t;
}

ShareMonthTable make_share_month_table(const std::string& name, const GroupKeys& keys, const std::vector<uint8_t>& exists,
                                       const GroupMonthTable& tab, size_t limit, const KeyRanks* rank,
                                       ThreadPool* pool) {
  // Per month, on the pool: its total, then its listed groups in share order. Then the rows are
  // laid out month by month, each month's written by one task at its own offset.
  struct MonthRows {
    uint64_t total = 0;
    std::vector<uint32_t> listed;  // groups of the month's rows, in order (unknown appended)
    bool truncated = false;
    size_t first_row = 0;
  };
  const uint32_t unknown = keys.unknown_id();
  const bool unknown_exists = unknown != kNone && exists[unknown];
  std::vector<MonthRows> months(tab.n_months);
  auto each_month = [&](const std::function<void(uint32_t mi)>& fn) {
    if (pool)
      pool->run(tab.n_months, [&](size_t mi, unsigned) { fn(static_cast<uint32_t>(mi)); });
    else
      for (uint32_t mi = 0; mi < tab.n_months; ++mi) fn(mi);
  };
  if (tab.top_only && (limit == 0 || tab.row_begin.size() != size_t(tab.n_months) + 1 ||
                       tab.month_total.size() != tab.n_months || tab.month_nonzero.size() != tab.n_months))
    throw Error("share table " + name + "_x_month: the backend returned top rows that do not fit the table (limit " +
                std::to_string(limit) + ")");
  for (uint32_t mi = 0; tab.top_only && mi < tab.n_months; ++mi)  // the top `limit` rows must all be there
    if (tab.row_begin[mi + 1] - tab.row_begin[mi] < std::min<uint64_t>(limit, tab.month_nonzero[mi]))
      throw Error("share table " + name + "_x_month: the backend returned " +
                  std::to_string(tab.row_begin[mi + 1] - tab.row_begin[mi]) + " top rows for a month with " +
                  std::to_string(tab.month_nonzero[mi]) + " groups with downloads, fewer than the limit " +
                  std::to_string(limit));
  // A month's sum of group g: the dense cell, or its top row (candidates are in group order).
  // Only listed groups and the unknown group are asked: each is a candidate when its sum is not 0.
  auto sum_of = [&](uint32_t mi, uint32_t g) -> uint64_t {
    if (!tab.top_only) return tab.sums[size_t(mi) * tab.n_groups + g];
    const auto b = tab.row_group.begin() + tab.row_begin[mi], e = tab.row_group.begin() + tab.row_begin[mi + 1];
    const auto it = std::lower_bound(b, e, g);
    return it != e && *it == g ? tab.row_sum[it - tab.row_group.begin()] : 0;
  };
  each_month([&](uint32_t mi) {
    MonthRows& out = months[mi];
    std::vector<uint32_t>& order = out.listed;
    if (tab.top_only) {  // the candidates are the groups that can rank; ordered by their sums alone
      out.total = tab.month_total[mi];
      const uint64_t nonzero = tab.month_nonzero[mi];
      order.assign(tab.row_group.begin() + tab.row_begin[mi], tab.row_group.begin() + tab.row_begin[mi + 1]);
      if (out.total == 0) return;
      const size_t keep = std::min<size_t>(limit, order.size());
      const uint64_t* sums = tab.row_sum.data() + tab.row_begin[mi];  // the month's candidates' sums
      std::vector<uint32_t> at(order.size());  // candidate indices, put in share order
      for (uint32_t i = 0; i < at.size(); ++i) at[i] = i;
      sort_first(at, keep, [&](uint32_t a, uint32_t b) {
        if (sums[a] != sums[b]) return sums[a] > sums[b];
        return rank ? rank->rank[order[a]] < rank->rank[order[b]] : keys.key(order[a]) < keys.key(order[b]);
      });
      for (size_t i = 0; i < keep; ++i) at[i] = order[at[i]];
      order.assign(at.begin(), at.begin() + keep);
      out.truncated = keep < nonzero;
    } else {
      const uint64_t* row = tab.sums.data() + size_t(mi) * tab.n_groups;
      for (uint32_t g = 0; g < tab.n_groups; ++g) {
        out.total += row[g];
        if (row[g] != 0) order.push_back(g);
      }
      if (out.total == 0) return;
      const size_t keep = (limit == 0 || limit >= order.size()) ? order.size() : limit;
      order_groups(order, keep, row, keys, rank);
      out.truncated = keep < order.size();
      order.resize(keep);
    }
    if (unknown_exists && std::find(order.begin(), order.end(), unknown) == order.end()) order.push_back(unknown);
    order.shrink_to_fit();
  });
  ShareMonthTable t;
  t.group = name;
  size_t n_rows = 0;
  for (uint32_t mi = 0; mi < tab.n_months; ++mi) {
    MonthRows& m = months[mi];
    if (m.total == 0) continue;
    t.month_totals.emplace_back(static_cast<Month>(tab.month_first + mi), m.total);
    t.truncated |= m.truncated;
    m.first_row = n_rows;
    n_rows += m.listed.size();
  }
  // The listed groups' keys: flags set per month on the pool, then the text on this thread
  // (one pass over the groups, not over the rows), so that the rows, filled per month on the
  // pool, point at their keys directly.
  std::vector<std::atomic<uint8_t>> listed(tab.n_groups);
  each_month([&](uint32_t mi) {
    for (uint32_t g : months[mi].listed) listed[g].store(1, std::memory_order_relaxed);
  });
  // The rows' memory is made (zero-filled and faulted in: 116 ms for the 5 million rows of the
  // 2x10^7 job) while the key text is laid out, on two of the pool's threads.
  std::optional<KeyText> text;
  auto make = [&](size_t task, unsigned) {
    if (task == 0)
      t.rows.resize(n_rows);
    else
      text.emplace(keys, tab.n_groups, [&](uint32_t g) { return listed[g].load(std::memory_order_relaxed) != 0; });
  };
  if (pool) {
    pool->run(2, make);
  } else {
    make(0, 0);
    make(1, 0);
  }
  each_month([&](uint32_t mi) {
    const MonthRows& m = months[mi];
    if (m.total == 0) return;
    const Month month = static_cast<Month>(tab.month_first + mi);
    for (size_t i = 0; i < m.listed.size(); ++i) {
      const uint32_t g = m.listed[i];
      const uint64_t v = sum_of(mi, g);
      t.rows[m.first_row + i] = {text->key(g), month, v, share_ratio(v, m.total)};
    }
  });
  t.key_text = text->text;
  return t;
}

}  // namespace ecostat::detail
