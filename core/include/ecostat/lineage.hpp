// Lineage: the graph a backend reduces and what it returns.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "ecostat/records.hpp"

namespace ecostat {

// Parents per node in listed order (CSR). Built by core from RepoTable::edges, after
// cycle breaking, so every backend sees the same acyclic graph.
struct LineageGraph {
  uint32_t n_nodes = 0;
  std::vector<uint32_t> parent_offsets{0};  // size n_nodes + 1
  std::vector<uint32_t> parents;            // parents[parent_offsets[v] ..] in listed order
  std::vector<Relation> relations;          // relation of each parent edge
  // Relation of node v to its primary parent (first listed); unknown for roots.
  Relation primary_relation(uint32_t v) const;
};

// What cycle breaking removed (rule: core/src/lineage_graph.cpp, docs/metrics.md).
struct CycleReport {
  std::vector<std::vector<uint32_t>> cycles;  // members of each strongly connected component of size > 1, sorted
  std::vector<uint32_t> self_loops;           // nodes that listed themselves as parent
  std::vector<BaseEdge> removed_edges;
};

// Builds the lineage graph: drops self-loops and every edge inside a cycle
// (strongly connected component), deterministically; reports what was dropped.
LineageGraph build_lineage_graph(uint32_t n_nodes, const std::vector<BaseEdge>& edges, CycleReport* report);

// Per-node results; every backend returns these exactly equal.
struct LineageRaw {
  std::vector<uint32_t> root;        // family root: follow primary parents to the end
  std::vector<uint32_t> depth;       // hops to the root
  std::vector<uint32_t> children;    // distinct direct children (any relation)
  std::vector<uint64_t> descendants; // distinct nodes that reach this node through any parent edges
  // descendants split by each descendant's own relation to its primary parent
  std::vector<std::array<uint64_t, kRelationCount>> descendants_by_relation;
  bool operator==(const LineageRaw& o) const;
};

}  // namespace ecostat
