// Lineage graph construction with deterministic cycle breaking (docs/metrics.md, "Lineage").
//   1. Edges are grouped by child; each child's parents are ordered by (BaseEdge::order,
//      position in the input). A repeated (child, parent) pair keeps its first listing.
//   2. Self-loops are dropped and reported (self_loops, removed_edges).
//   3. Strongly connected components over child -> parent edges (iterative Tarjan: inputs
//      may hold chains and rings of millions of nodes). Every edge whose two endpoints lie
//      in the same component of size > 1 is dropped; the components are reported (cycles)
//      with their edges (removed_edges). What remains is acyclic.
// Cost: O(n_nodes + edges) time and memory, plus a stable sort of each child's edges when
// they are not already listed in `order` order.
#include <algorithm>
#include <string>

#include "ecostat/errors.hpp"
#include "ecostat/lineage.hpp"

namespace ecostat {

Relation LineageGraph::primary_relation(uint32_t v) const {
  if (v >= n_nodes || parent_offsets[v] == parent_offsets[v + 1]) return Relation::unknown;
  return relations[parent_offsets[v]];
}

bool LineageRaw::operator==(const LineageRaw& o) const {
  return root == o.root && depth == o.depth && children == o.children && descendants == o.descendants &&
         descendants_by_relation == o.descendants_by_relation && max_depth == o.max_depth &&
         family_root == o.family_root && family_descendants == o.family_descendants &&
         family_by_relation == o.family_by_relation;
}

void finish_lineage_output(LineageRaw* raw, LineageOutput output) {
  const size_t n = raw->root.size();
  if (raw->depth.size() != n || raw->descendants.size() != n || raw->descendants_by_relation.size() != n)
    throw Error("finish_lineage_output: the per-node arrays have different lengths");
  raw->max_depth = 0;
  raw->family_root.clear();
  raw->family_descendants.clear();
  raw->family_by_relation.clear();
  for (size_t v = 0; v < n; ++v) {
    raw->max_depth = std::max(raw->max_depth, raw->depth[v]);
    if (raw->root[v] != v || raw->descendants[v] == 0) continue;
    raw->family_root.push_back(static_cast<uint32_t>(v));
    raw->family_descendants.push_back(raw->descendants[v]);
    raw->family_by_relation.push_back(raw->descendants_by_relation[v]);
  }
  if (output == LineageOutput::families) {  // freed, not only cleared: 56 bytes a node
    std::vector<uint32_t>().swap(raw->depth);
    std::vector<uint32_t>().swap(raw->children);
    std::vector<uint64_t>().swap(raw->descendants);
    std::vector<std::array<uint64_t, kRelationCount>>().swap(raw->descendants_by_relation);
  }
}

namespace {

constexpr uint32_t kUnvisited = 0xffffffffu;

// Tarjan's algorithm without recursion. comp[v] = component id; returns component sizes.
std::vector<uint32_t> strongly_connected(uint32_t n, const std::vector<uint32_t>& off,
                                         const std::vector<uint32_t>& adj, std::vector<uint32_t>& comp) {
  std::vector<uint32_t> index(n, kUnvisited), low(n, 0);
  std::vector<uint8_t> on_stack(n, 0);
  std::vector<uint32_t> stack;
  struct Frame {
    uint32_t v, pos;
  };
  std::vector<Frame> calls;
  std::vector<uint32_t> sizes;
  comp.assign(n, kUnvisited);
  uint32_t next_index = 0;
  for (uint32_t s = 0; s < n; ++s) {
    if (index[s] != kUnvisited) continue;
    if (off[s] == off[s + 1]) {  // no out-edge: a component of its own, no walk needed
      index[s] = low[s] = next_index++;
      comp[s] = static_cast<uint32_t>(sizes.size());
      sizes.push_back(1);
      continue;
    }
    index[s] = low[s] = next_index++;
    stack.push_back(s);
    on_stack[s] = 1;
    calls.push_back({s, off[s]});
    while (!calls.empty()) {
      Frame& f = calls.back();
      const uint32_t v = f.v;
      if (f.pos < off[v + 1]) {
        const uint32_t w = adj[f.pos++];
        if (index[w] == kUnvisited) {
          index[w] = low[w] = next_index++;
          stack.push_back(w);
          on_stack[w] = 1;
          calls.push_back({w, off[w]});  // invalidates f
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      calls.pop_back();
      if (low[v] == index[v]) {
        const uint32_t id = static_cast<uint32_t>(sizes.size());
        uint32_t size = 0, w;
        do {
          w = stack.back();
          stack.pop_back();
          on_stack[w] = 0;
          comp[w] = id;
          ++size;
        } while (w != v);
        sizes.push_back(size);
      }
      if (!calls.empty()) {
        const uint32_t u = calls.back().v;
        low[u] = std::min(low[u], low[v]);
      }
    }
  }
  return sizes;
}

}  // namespace

LineageGraph build_lineage_graph(uint32_t n_nodes, const std::vector<BaseEdge>& edges, CycleReport* report) {
  if (report) *report = CycleReport{};
  if (edges.size() >= kUnvisited) throw Error("lineage: too many base-model edges (" + std::to_string(edges.size()) + ")");
  for (const BaseEdge& e : edges)
    if (e.child >= n_nodes || e.parent >= n_nodes)
      throw Error("lineage: edge " + std::to_string(e.child) + " -> " + std::to_string(e.parent) +
                  " names a node outside [0, " + std::to_string(n_nodes) + ")");

  // 1. Group edge indices by child (counting sort, stable), then order each child's edges by
  //    (order, input position).
  std::vector<uint32_t> off(size_t(n_nodes) + 1, 0);
  for (const BaseEdge& e : edges) ++off[e.child + 1];
  for (uint32_t v = 0; v < n_nodes; ++v) off[v + 1] += off[v];
  std::vector<uint32_t> by_child(edges.size());
  {
    std::vector<uint32_t> fill(off.begin(), off.end() - 1);
    for (uint32_t i = 0; i < edges.size(); ++i) by_child[fill[edges[i].child]++] = i;
  }
  for (uint32_t v = 0; v < n_nodes; ++v) {
    auto b = by_child.begin() + off[v], e = by_child.begin() + off[v + 1];
    if (e - b < 2) continue;
    auto by_order = [&](uint32_t a, uint32_t c) { return edges[a].order < edges[c].order; };
    if (!std::is_sorted(b, e, by_order)) std::stable_sort(b, e, by_order);
  }

  // 2. Drop repeated (child, parent) pairs (first listing wins) and self-loops.
  std::vector<uint32_t> kept_off(size_t(n_nodes) + 1, 0);
  std::vector<uint32_t> kept;  // edge indices, grouped by child in CSR order
  kept.reserve(edges.size());
  std::vector<uint32_t> self_loop_edges;
  {
    std::vector<uint32_t> stamp(n_nodes, kUnvisited);  // stamp[p] = last child that listed p
    for (uint32_t v = 0; v < n_nodes; ++v) {
      for (uint32_t k = off[v]; k < off[v + 1]; ++k) {
        const uint32_t i = by_child[k];
        const uint32_t p = edges[i].parent;
        if (stamp[p] == v) continue;  // repeated pair
        stamp[p] = v;
        if (p == v) {
          self_loop_edges.push_back(i);
          continue;
        }
        kept.push_back(i);
      }
      kept_off[v + 1] = static_cast<uint32_t>(kept.size());
    }
  }
  std::vector<uint32_t>().swap(by_child);

  // 3. Components over the remaining child -> parent edges.
  std::vector<uint32_t> adj(kept.size());
  for (size_t k = 0; k < kept.size(); ++k) adj[k] = edges[kept[k]].parent;
  std::vector<uint32_t> comp;
  const std::vector<uint32_t> comp_size = strongly_connected(n_nodes, kept_off, adj, comp);

  // 4. The acyclic graph: every edge between two different components.
  LineageGraph g;
  g.n_nodes = n_nodes;
  g.parent_offsets.assign(size_t(n_nodes) + 1, 0);
  g.parents.reserve(kept.size());
  g.relations.reserve(kept.size());
  std::vector<uint32_t> removed;  // edge indices
  for (uint32_t v = 0; v < n_nodes; ++v) {
    for (uint32_t k = kept_off[v]; k < kept_off[v + 1]; ++k) {
      const uint32_t p = adj[k];
      if (comp[p] == comp[v]) {
        removed.push_back(kept[k]);
        continue;
      }
      g.parents.push_back(p);
      g.relations.push_back(edges[kept[k]].relation);
    }
    g.parent_offsets[v + 1] = static_cast<uint32_t>(g.parents.size());
  }

  if (report) {
    for (uint32_t i : self_loop_edges) report->self_loops.push_back(edges[i].child);  // sorted by child already
    // Components of size > 1, members sorted, listed by smallest member.
    std::vector<uint32_t> slot(comp_size.size(), kUnvisited);
    for (uint32_t v = 0; v < n_nodes; ++v) {
      const uint32_t c = comp[v];
      if (comp_size[c] < 2) continue;
      if (slot[c] == kUnvisited) {
        slot[c] = static_cast<uint32_t>(report->cycles.size());
        report->cycles.emplace_back();
        report->cycles.back().reserve(comp_size[c]);
      }
      report->cycles[slot[c]].push_back(v);  // v ascending: members come out sorted
    }
    removed.insert(removed.end(), self_loop_edges.begin(), self_loop_edges.end());
    std::sort(removed.begin(), removed.end());  // input order
    report->removed_edges.reserve(removed.size());
    for (uint32_t i : removed) report->removed_edges.push_back(edges[i]);
  }
  return g;
}

}  // namespace ecostat
