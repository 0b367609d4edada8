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

// What a caller of Backend::lineage reads. per_node: every array of LineageRaw. families: the
// root of each node, the greatest depth and the families (below) only, which is what the engine
// reads: about 4 bytes a node come back from a GPU instead of 60 (126 MB for 2.1M nodes).
enum class LineageOutput : uint8_t { per_node, families };

// Lineage results; every backend returns these exactly equal.
struct LineageRaw {
  std::vector<uint32_t> root;        // family root: follow primary parents to the end
  // Per node, with LineageOutput::per_node only (empty with LineageOutput::families):
  std::vector<uint32_t> depth;       // hops to the root
  std::vector<uint32_t> children;    // distinct direct children (any relation)
  std::vector<uint64_t> descendants; // distinct nodes that reach this node through any parent edges
  // descendants split by each descendant's own relation to its primary parent
  std::vector<std::array<uint64_t, kRelationCount>> descendants_by_relation;
  // Whatever the output: the greatest depth, and the families, that is the roots with at least
  // one descendant, ascending, with their counts as descendants[] and descendants_by_relation[]
  // hold them at the root.
  uint32_t max_depth = 0;
  std::vector<uint32_t> family_root;
  std::vector<uint64_t> family_descendants;
  std::vector<std::array<uint64_t, kRelationCount>> family_by_relation;
  bool operator==(const LineageRaw& o) const;
};

// Sets max_depth and the families from the per-node arrays; with LineageOutput::families,
// then empties the per-node arrays but root. For backends that compute every array anyway.
void finish_lineage_output(LineageRaw* raw, LineageOutput output);

}  // namespace ecostat
