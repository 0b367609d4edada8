// CPU lineage: roots, depth, children and exact DAG-aware descendant counts.
//
// Let F be the primary-parent forest (each node's first listed parent). Every node d with a
// parent contributes +1 (in the slot of its own primary relation) to every node of anc(d),
// the set of nodes it reaches through any parent edges. The contributions are carried
// upward in two phases:
//   1. Nodes in order of decreasing depth (depth in F). carry[v] = v's own contribution plus
//      the carries of its single-parent children. When v has exactly one parent p
//      (anc(v) = {p} + anc(p)), p is credited carry[v], which also makes it part of carry[p],
//      so each chain node is counted once, O(1) per node. When v lists several parents, v goes
//      to phase 2 with its final carry. (carry[v] is A[v] + v's own contribution at v's turn,
//      so no separate per-node array is needed.)
//   2. For each multi-parent node v: an explicit upward walk over all parent edges, with a
//      visited stamp (so a node reached by two paths is credited once), crediting carry[v]
//      to each node of anc(v). Walks are independent: spread over threads (per-thread stamps,
//      atomic adds into the shared counts).
// Exact: a contributor d is credited once to each node of its single-parent chain up to the
// first multi-parent node m on it (phase 1), and once to each node of anc(m) (phase 2); the
// chain and anc(m) are disjoint because the graph is acyclic.
// Cost: O(n + E) for roots, depth, children and phase 1, plus, for phase 2, the sum over
// multi-parent nodes v of (|anc(v)| + parent edges inside anc(v)). On the Hub's shape (2% of
// derivatives are merges, ancestries of a few nodes) phase 2 is small; a hostile graph (a long
// chain of merges) is quadratic there, but always terminates.
// Cycles: the input must be acyclic (build_lineage_graph makes it so); a cycle is detected
// (in F while computing roots, through a multi-parent node in phase 2) and throws.
#include <algorithm>
#include <string>

#include "cpu_internal.hpp"
#include "ecostat/errors.hpp"

namespace ecostat::cpu {
namespace {

using Counts = std::array<uint64_t, kRelationCount>;

void check_graph(const LineageGraph& g) {
  const uint32_t n = g.n_nodes;
  if (g.parent_offsets.size() != size_t(n) + 1 || g.parent_offsets[0] != 0)
    throw Error("cpu backend: lineage graph has " + std::to_string(g.parent_offsets.size()) + " offsets for " +
                std::to_string(n) + " nodes");
  for (uint32_t v = 0; v < n; ++v)
    if (g.parent_offsets[v + 1] < g.parent_offsets[v]) throw Error("cpu backend: lineage graph offsets decrease");
  if (g.parents.size() != g.parent_offsets[n] || g.relations.size() != g.parents.size())
    throw Error("cpu backend: lineage graph parents/relations do not match its offsets");
  for (uint32_t p : g.parents)
    if (p >= n) throw Error("cpu backend: lineage graph names parent " + std::to_string(p) + " >= n_nodes");
  for (Relation r : g.relations)
    if (static_cast<unsigned>(r) >= kRelationCount) throw Error("cpu backend: lineage graph has an invalid relation");
}

}  // namespace

LineageRaw lineage(ThreadPool& pool, const LineageGraph& g) {
  check_graph(g);
  const uint32_t n = g.n_nodes;
  const uint32_t* off = g.parent_offsets.data();
  const uint32_t* par = g.parents.data();
  LineageRaw out;
  out.root.resize(n);
  out.depth.resize(n);
  out.children.assign(n, 0);
  out.descendants.assign(n, 0);
  out.descendants_by_relation.assign(n, Counts{});
  if (n == 0) return out;

  // Roots and depth: walk up primary parents to a resolved node, then unwind (no recursion).
  // depth[] doubles as the state: kUnset (not resolved yet), kOnPath (on the current walk).
  constexpr uint32_t kUnset = 0xffffffffu, kOnPath = 0xfffffffeu;
  for (uint32_t v = 0; v < n; ++v) {
    const bool root = off[v] == off[v + 1];
    out.root[v] = v;
    out.depth[v] = root ? 0 : kUnset;
  }
  {
    std::vector<uint32_t> path;
    for (uint32_t v = 0; v < n; ++v) {
      if (out.depth[v] != kUnset) continue;
      uint32_t u = v;
      while (out.depth[u] == kUnset) {
        out.depth[u] = kOnPath;
        path.push_back(u);
        u = par[off[u]];
      }
      if (out.depth[u] == kOnPath)
        throw Error("cpu backend: lineage graph has a cycle through node " + std::to_string(u) + " (primary parents)");
      uint32_t r = out.root[u], d = out.depth[u];
      while (!path.empty()) {
        const uint32_t w = path.back();
        path.pop_back();
        out.root[w] = r;
        out.depth[w] = ++d;
      }
    }
  }

  // Children: distinct children per node (a list may repeat a parent).
  {
    std::vector<uint32_t> stamp;
    for (uint32_t v = 0; v < n; ++v) {
      const uint32_t b = off[v], e = off[v + 1];
      if (e - b == 1) {
        ++out.children[par[b]];
      } else if (e - b > 1) {
        if (stamp.empty()) stamp.assign(n, 0xffffffffu);
        for (uint32_t k = b; k < e; ++k)
          if (stamp[par[k]] != v) stamp[par[k]] = v, ++out.children[par[k]];
      }
    }
  }

  // Phase 1: nodes with a parent, by decreasing depth.
  auto& A = out.descendants_by_relation;
  std::vector<uint32_t> multi;
  {
    uint32_t max_depth = 0;
    size_t with_parent = 0;
    for (uint32_t v = 0; v < n; ++v) {
      max_depth = std::max(max_depth, out.depth[v]);
      with_parent += off[v] != off[v + 1];
    }
    std::vector<uint32_t> start(size_t(max_depth) + 2, 0);
    for (uint32_t v = 0; v < n; ++v)
      if (off[v] != off[v + 1]) ++start[max_depth - out.depth[v] + 1];
    for (size_t d = 1; d < start.size(); ++d) start[d] += start[d - 1];
    std::vector<uint32_t> order(with_parent);
    for (uint32_t v = 0; v < n; ++v)
      if (off[v] != off[v + 1]) order[start[max_depth - out.depth[v]]++] = v;
    // carry[v] = v's own contribution + what its single-parent children carried up, which is
    // exactly A[v] + e_rel(v) when v's turn comes (phase 2 has not added anything yet).
    std::vector<Counts> mcarry;
    for (uint32_t v : order) {
      Counts c = A[v];
      ++c[static_cast<unsigned>(g.relations[off[v]])];
      if (off[v + 1] - off[v] == 1) {
        Counts& ap = A[par[off[v]]];
        for (int r = 0; r < kRelationCount; ++r) ap[r] += c[r];
      } else {
        multi.push_back(v);
        mcarry.push_back(c);
      }
    }
    std::vector<uint32_t>().swap(order);

    // Phase 2: upward walks from multi-parent nodes.
    if (!multi.empty()) {
      const unsigned T = pool.size();
      const bool atomic = T > 1 && multi.size() > 64;
      std::vector<std::vector<uint32_t>> stamps(atomic ? T : 1);
      std::vector<std::vector<uint32_t>> queues(stamps.size());
      std::vector<uint32_t> walk_id(stamps.size(), 0);
      const size_t per_task = 256;
      const size_t tasks = (multi.size() + per_task - 1) / per_task;
      auto body = [&](size_t task, unsigned worker) {
        const unsigned w = atomic ? worker : 0;
        std::vector<uint32_t>& stamp = stamps[w];
        std::vector<uint32_t>& queue = queues[w];
        if (stamp.empty()) stamp.assign(n, 0);
        const size_t b = task * per_task, e = std::min(multi.size(), b + per_task);
        for (size_t i = b; i < e; ++i) {
          const uint32_t v = multi[i];
          const Counts& c = mcarry[i];
          uint32_t id = ++walk_id[w];
          if (id == 0) {  // wrapped: reset the stamps
            std::fill(stamp.begin(), stamp.end(), 0);
            id = walk_id[w] = 1;
          }
          stamp[v] = id;
          queue.clear();
          queue.push_back(v);
          for (size_t q = 0; q < queue.size(); ++q) {
            const uint32_t x = queue[q];
            for (uint32_t k = off[x]; k < off[x + 1]; ++k) {
              const uint32_t a = par[k];
              if (stamp[a] == id) {
                if (a == v) throw Error("cpu backend: lineage graph has a cycle through node " + std::to_string(v));
                continue;
              }
              stamp[a] = id;
              queue.push_back(a);
              Counts& ac = A[a];
              if (atomic) {
                for (int r = 0; r < kRelationCount; ++r)
                  if (c[r]) __atomic_fetch_add(&ac[r], c[r], __ATOMIC_RELAXED);
              } else {
                for (int r = 0; r < kRelationCount; ++r) ac[r] += c[r];
              }
            }
          }
        }
      };
      if (atomic)
        pool.run(tasks, body);
      else
        for (size_t t = 0; t < tasks; ++t) body(t, 0);
    }
  }

  for (uint32_t v = 0; v < n; ++v) {
    const Counts& c = A[v];
    uint64_t s = 0;
    for (int r = 0; r < kRelationCount; ++r) s += c[r];
    out.descendants[v] = s;
  }
  return out;
}

}  // namespace ecostat::cpu
