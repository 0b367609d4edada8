// The independent oracle (see oracle.hpp). Written for clarity, not speed.
#include "oracle/oracle.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <set>
#include <stdexcept>

namespace ecostat::oracle {

using ld = long double;

static ld to_ld(u128 v) {
  // Split so that the conversion does not depend on the compiler's u128 -> long double.
  const uint64_t hi = static_cast<uint64_t>(v >> 64), lo = static_cast<uint64_t>(v);
  return static_cast<ld>(hi) * 18446744073709551616.0L + static_cast<ld>(lo);
}

Conc concentration(std::vector<uint64_t> x, const ConcentrationSpec& spec, bool mad_check) {
  std::sort(x.begin(), x.end());
  Conc c;
  const uint64_t n = x.size();
  c.n = n;
  for (uint64_t i = 0; i < n; ++i) {
    c.total += x[i];
    c.rank_weighted += static_cast<u128>(x[i]) * (i + 1);
    c.sum_squares += static_cast<u128>(x[i]) * x[i];
  }
  const ld S = to_ld(c.total), N = static_cast<ld>(n);
  if (n > 0 && c.total > 0) {
    c.gini = 2.0L * to_ld(c.rank_weighted) / (N * S) - (N + 1.0L) / N;
    ld h = 0;
    for (uint64_t v : x) h += (static_cast<ld>(v) / S) * (static_cast<ld>(v) / S);
    c.hhi = h;
  }
  if (mad_check) {
    u128 mad = 0;
    for (uint64_t i = 0; i < n; ++i)
      for (uint64_t j = 0; j < n; ++j) mad += x[i] > x[j] ? x[i] - x[j] : x[j] - x[i];
    c.gini_mad = (n == 0 || c.total == 0) ? 0.0L : to_ld(mad) / (2.0L * N * S);
  }
  auto sum_largest = [&](uint64_t k) {
    u128 s = 0;
    for (uint64_t i = 0; i < k; ++i) s += x[n - 1 - i];
    return s;
  };
  auto share = [&](u128 part) { return c.total == 0 ? 0.0L : to_ld(part) / S; };
  for (uint64_t k : spec.top_k) {
    const uint64_t kk = std::min(k, n);
    c.top_k_count.push_back(kk);
    c.top_k_sum.push_back(sum_largest(kk));
    c.top_k_share.push_back(share(c.top_k_sum.back()));
  }
  for (double p : spec.top_pct) {
    uint64_t k = 0;
    if (n > 0) {
      const ld exact = static_cast<ld>(p) * N / 100.0L;
      k = static_cast<uint64_t>(std::ceil(exact - 1e-9L));
      k = std::max<uint64_t>(1, std::min<uint64_t>(k, n));
    }
    c.top_pct_count.push_back(k);
    c.top_pct_sum.push_back(sum_largest(k));
    c.top_pct_share.push_back(share(c.top_pct_sum.back()));
  }
  for (double q : spec.percentiles) {
    if (n == 0) {
      c.percentile.push_back(std::numeric_limits<ld>::quiet_NaN());
      c.percentile_lo_value.push_back(0);
      c.percentile_hi_value.push_back(0);
      continue;
    }
    const ld h = static_cast<ld>(n - 1) * static_cast<ld>(q) / 100.0L;
    const uint64_t lo = static_cast<uint64_t>(std::floor(h));
    const uint64_t hi = std::min<uint64_t>(lo + 1, n - 1);
    const ld a = static_cast<ld>(x[lo]), b = static_cast<ld>(x[hi]);
    c.percentile.push_back(a + (h - static_cast<ld>(lo)) * (b - a));
    c.percentile_lo_value.push_back(x[lo]);
    c.percentile_hi_value.push_back(x[hi]);
  }
  for (uint64_t t : spec.below) {
    uint64_t cnt = 0;
    for (uint64_t v : x) cnt += v < t;
    c.below_count.push_back(cnt);
    c.below_fraction.push_back(n == 0 ? 0.0L : static_cast<ld>(cnt) / N);
  }
  const uint32_t K = spec.lorenz_points;
  u128 s = 0;       // sum of the `summed` smallest; counts only grow with j
  uint64_t summed = 0;
  for (uint32_t j = 0; j < K; ++j) {
    const uint64_t cnt = static_cast<uint64_t>(std::llround(static_cast<ld>(j) * N / static_cast<ld>(K - 1)));
    while (summed < cnt) s += x[summed++];
    c.lorenz_count.push_back(cnt);
    c.lorenz_sum.push_back(s);
    ld px, py;
    if (n == 0) {
      px = py = static_cast<ld>(j) / static_cast<ld>(K - 1);
    } else {
      px = static_cast<ld>(cnt) / N;
      py = c.total == 0 ? px : to_ld(s) / S;
    }
    c.lorenz.emplace_back(px, py);
  }
  return c;
}

std::vector<Conc> concentration_segmented(const std::vector<uint64_t>& values,
                                          const std::vector<uint32_t>& segment_of, uint32_t n_segments,
                                          const ConcentrationSpec& spec) {
  std::map<uint32_t, std::vector<uint64_t>> by;
  for (size_t i = 0; i < values.size(); ++i) by[segment_of.at(i)].push_back(values[i]);
  std::vector<Conc> out;
  for (uint32_t s = 0; s < n_segments; ++s) {
    auto it = by.find(s);
    out.push_back(concentration(it == by.end() ? std::vector<uint64_t>{} : it->second, spec));
  }
  return out;
}

std::vector<uint64_t> group_sum(const std::vector<uint64_t>& values, const GroupMap& map) {
  std::map<uint32_t, uint64_t> sums;
  for (size_t u = 0; u < values.size(); ++u) {
    const uint32_t g = map.group_of_unit.empty() ? static_cast<uint32_t>(u) : map.group_of_unit.at(u);
    sums[g] += values[u];
  }
  const size_t size = map.group_of_unit.empty() ? std::max<size_t>(map.n_groups, values.size()) : map.n_groups;
  std::vector<uint64_t> out(size, 0);
  for (auto& [g, s] : sums) out.at(g) = s;
  return out;
}

Totals accumulate(const std::vector<EventBatch>& batches) {
  Totals t;
  for (const EventBatch& b : batches) {
    if (b.size() == 0) continue;
    if (!t.any) {
      t.any = true;
      t.month_min = b.month_min;
      t.month_max = b.month_max;
    }
    t.month_min = std::min(t.month_min, b.month_min);
    t.month_max = std::max(t.month_max, b.month_max);
    for (size_t i = 0; i < b.size(); ++i) {
      t.unit[b.unit[i]] += b.count[i];
      t.unit_month[{b.unit[i], b.month[i]}] += b.count[i];
      ++t.events;
    }
  }
  return t;
}

std::vector<uint64_t> unit_totals(const Totals& t, uint32_t n_units) {
  std::vector<uint64_t> out(n_units, 0);
  for (auto& [u, s] : t.unit) out.at(u) = s;
  return out;
}

GroupMonthTable group_month(const Totals& t, uint32_t n_units, const GroupMap& map) {
  GroupMonthTable g;
  g.n_groups = map.group_of_unit.empty() ? n_units : map.n_groups;
  if (!t.any) return g;
  g.month_first = t.month_min;
  g.n_months = static_cast<uint32_t>(t.month_max - t.month_min + 1);
  std::map<std::pair<uint32_t, Month>, uint64_t> sums;
  for (auto& [key, s] : t.unit_month) {
    const uint32_t grp = map.group_of_unit.empty() ? key.first : map.group_of_unit.at(key.first);
    sums[{grp, key.second}] += s;
  }
  g.sums.assign(static_cast<size_t>(g.n_months) * g.n_groups, 0);
  for (auto& [key, s] : sums) g.sums.at(static_cast<size_t>(key.second - g.month_first) * g.n_groups + key.first) = s;
  return g;
}

LineageRaw lineage(const LineageGraph& g, LineageOutput output) {
  const uint32_t n = g.n_nodes;
  auto parents_of = [&](uint32_t v) {
    return std::vector<uint32_t>(g.parents.begin() + g.parent_offsets[v], g.parents.begin() + g.parent_offsets[v + 1]);
  };
  LineageRaw r;
  r.root.resize(n);
  r.depth.resize(n);
  r.children.assign(n, 0);
  r.descendants.assign(n, 0);
  r.descendants_by_relation.assign(n, {});
  std::vector<std::set<uint32_t>> kids(n);
  for (uint32_t v = 0; v < n; ++v)
    for (uint32_t p : parents_of(v)) kids[p].insert(v);
  for (uint32_t v = 0; v < n; ++v) {
    uint32_t u = v, d = 0;
    while (g.parent_offsets[u] != g.parent_offsets[u + 1]) {
      u = g.parents[g.parent_offsets[u]];
      if (++d > n) throw std::runtime_error("oracle: cycle in primary parents");
    }
    r.root[v] = u;
    r.depth[v] = d;
    r.children[v] = static_cast<uint32_t>(kids[v].size());
  }
  std::vector<uint32_t> seen(n, 0);
  uint32_t stamp = 0;
  for (uint32_t v = 0; v < n; ++v) {
    ++stamp;
    std::deque<uint32_t> q{v};
    seen[v] = stamp;
    while (!q.empty()) {
      const uint32_t x = q.front();
      q.pop_front();
      for (uint32_t c : kids[x]) {
        if (seen[c] == stamp) continue;
        seen[c] = stamp;
        q.push_back(c);
        ++r.descendants[v];
        const Relation rel = g.relations[g.parent_offsets[c]];  // c has a parent: x
        ++r.descendants_by_relation[v][static_cast<int>(rel)];
      }
    }
  }
  // The families: nodes that are their own root and have a descendant, by node number.
  if (n > 0) r.max_depth = *std::max_element(r.depth.begin(), r.depth.end());
  for (uint32_t v = 0; v < n; ++v)
    if (r.root[v] == v && r.descendants[v] != 0) {
      r.family_root.push_back(v);
      r.family_descendants.push_back(r.descendants[v]);
      r.family_by_relation.push_back(r.descendants_by_relation[v]);
    }
  if (output == LineageOutput::families) {
    r.depth.clear();
    r.children.clear();
    r.descendants.clear();
    r.descendants_by_relation.clear();
  }
  return r;
}

LineageGraph build_graph(uint32_t n, const std::vector<BaseEdge>& edges, CycleReport* report) {
  // Each child's edges in (order, input position) order; first listing of a pair wins.
  std::vector<size_t> idx(edges.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    if (edges[a].child != edges[b].child) return edges[a].child < edges[b].child;
    return edges[a].order < edges[b].order;
  });
  std::set<std::pair<uint32_t, uint32_t>> seen_pair;
  std::vector<size_t> kept, removed;
  std::set<uint32_t> self;
  for (size_t i : idx) {
    const BaseEdge& e = edges[i];
    if (!seen_pair.insert({e.child, e.parent}).second) continue;
    if (e.child == e.parent) {
      self.insert(e.child);
      removed.push_back(i);
      continue;
    }
    kept.push_back(i);
  }
  // reach[u]: nodes reachable from u over kept edges.
  std::vector<std::vector<uint32_t>> out(n);
  for (size_t i : kept) out[edges[i].child].push_back(edges[i].parent);
  std::vector<std::set<uint32_t>> reach(n);
  for (uint32_t u = 0; u < n; ++u) {
    std::deque<uint32_t> q{u};
    while (!q.empty()) {
      const uint32_t x = q.front();
      q.pop_front();
      for (uint32_t y : out[x])
        if (reach[u].insert(y).second) q.push_back(y);
    }
  }
  auto same_cycle = [&](uint32_t a, uint32_t b) { return a != b && reach[a].count(b) && reach[b].count(a); };
  LineageGraph g;
  g.n_nodes = n;
  g.parent_offsets.assign(size_t(n) + 1, 0);
  std::vector<std::vector<std::pair<uint32_t, Relation>>> lists(n);
  for (size_t i : kept) {
    const BaseEdge& e = edges[i];
    if (same_cycle(e.child, e.parent))
      removed.push_back(i);
    else
      lists[e.child].push_back({e.parent, e.relation});
  }
  for (uint32_t v = 0; v < n; ++v) {
    for (auto& [p, rel] : lists[v]) g.parents.push_back(p), g.relations.push_back(rel);
    g.parent_offsets[v + 1] = static_cast<uint32_t>(g.parents.size());
  }
  if (report) {
    *report = CycleReport{};
    std::set<std::vector<uint32_t>> comps;
    for (uint32_t u = 0; u < n; ++u) {
      std::vector<uint32_t> members{u};
      for (uint32_t v = 0; v < n; ++v)
        if (same_cycle(u, v)) members.push_back(v);
      std::sort(members.begin(), members.end());
      if (members.size() > 1) comps.insert(members);
    }
    report->cycles.assign(comps.begin(), comps.end());  // ordered by first member (disjoint sets)
    report->self_loops.assign(self.begin(), self.end());
    std::sort(removed.begin(), removed.end());
    for (size_t i : removed) report->removed_edges.push_back(edges[i]);
  }
  return g;
}

}  // namespace ecostat::oracle
