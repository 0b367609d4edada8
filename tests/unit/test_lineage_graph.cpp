// build_lineage_graph: duplicate edges, parent order, self-loops, cycles (2, 3, hanging below a
// root, rings of a million nodes), merge diamonds, empty input; and the oracle's rule on random
// graphs.
#include <catch2/catch.hpp>

#include <random>

#include "ecostat/errors.hpp"
#include "ecostat/lineage.hpp"
#include "oracle/oracle.hpp"

using namespace ecostat;

namespace {

BaseEdge E(uint32_t c, uint32_t p, Relation r = Relation::finetune, uint16_t order = 0) { return {c, p, r, order}; }

std::vector<uint32_t> parents_of(const LineageGraph& g, uint32_t v) {
  return {g.parents.begin() + g.parent_offsets[v], g.parents.begin() + g.parent_offsets[v + 1]};
}

bool same_edges(const std::vector<BaseEdge>& a, const std::vector<BaseEdge>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].child != b[i].child || a[i].parent != b[i].parent || a[i].relation != b[i].relation ||
        a[i].order != b[i].order)
      return false;
  return true;
}

}  // namespace

TEST_CASE("lineage graph: empty inputs", "[lineage]") {
  CycleReport rep;
  LineageGraph g = build_lineage_graph(0, {}, &rep);
  CHECK(g.n_nodes == 0);
  CHECK(g.parent_offsets == std::vector<uint32_t>{0});
  CHECK(g.parents.empty());
  CHECK(rep.cycles.empty());
  g = build_lineage_graph(4, {}, nullptr);
  CHECK(g.parent_offsets == std::vector<uint32_t>{0, 0, 0, 0, 0});
  CHECK(g.primary_relation(2) == Relation::unknown);
}

TEST_CASE("lineage graph: parents keep their listed order, repeated pairs keep the first", "[lineage]") {
  // Child 3 lists 2 (order 1) before 0 (order 0) in the input, then 0 again (a repeat, as
  // adapter) and 1 (order 2).
  std::vector<BaseEdge> e = {E(3, 2, Relation::merge, 1), E(3, 0, Relation::merge, 0), E(3, 0, Relation::adapter, 0),
                             E(3, 1, Relation::merge, 2), E(1, 0, Relation::quantized, 0), E(1, 0, Relation::finetune, 1)};
  CycleReport rep;
  const LineageGraph g = build_lineage_graph(4, e, &rep);
  CHECK(parents_of(g, 3) == std::vector<uint32_t>{0, 2, 1});
  CHECK(g.relations[g.parent_offsets[3]] == Relation::merge);
  CHECK(parents_of(g, 1) == std::vector<uint32_t>{0});
  CHECK(g.primary_relation(1) == Relation::quantized);
  CHECK(g.primary_relation(0) == Relation::unknown);
  CHECK(g.primary_relation(3) == Relation::merge);
  CHECK(rep.removed_edges.empty());  // repeats are dropped silently, not cycle breaking
  CHECK(rep.self_loops.empty());
}

TEST_CASE("lineage graph: self-loop", "[lineage]") {
  std::vector<BaseEdge> e = {E(5, 5, Relation::finetune, 0), E(5, 6, Relation::adapter, 1), E(5, 5, Relation::merge, 2)};
  CycleReport rep;
  const LineageGraph g = build_lineage_graph(7, e, &rep);
  CHECK(parents_of(g, 5) == std::vector<uint32_t>{6});
  CHECK(g.primary_relation(5) == Relation::adapter);  // the self-loop was first: the next parent is primary
  CHECK(rep.self_loops == std::vector<uint32_t>{5});
  CHECK(same_edges(rep.removed_edges, {E(5, 5, Relation::finetune, 0)}));
  CHECK(rep.cycles.empty());
}

TEST_CASE("lineage graph: 2-cycle and 3-cycle hanging below a root", "[lineage]") {
  // 0 <-> 1 (2-cycle). 2 -> 3 -> 4 -> 2 (child -> parent), and 4 also lists root 5 (order 1);
  // 6 is a fine-tune of 2 (hangs below the cycle); 7 merges 1 and 5.
  std::vector<BaseEdge> e = {E(0, 1),    E(1, 0),    E(2, 3),   E(3, 4),
                             E(4, 2),    E(4, 5, Relation::adapter, 1), E(6, 2),
                             E(7, 1, Relation::merge, 0), E(7, 5, Relation::merge, 1)};
  CycleReport rep;
  const LineageGraph g = build_lineage_graph(8, e, &rep);
  REQUIRE(rep.cycles.size() == 2);
  CHECK(rep.cycles[0] == std::vector<uint32_t>{0, 1});
  CHECK(rep.cycles[1] == std::vector<uint32_t>{2, 3, 4});
  CHECK(same_edges(rep.removed_edges, {E(0, 1), E(1, 0), E(2, 3), E(3, 4), E(4, 2)}));
  CHECK(parents_of(g, 0).empty());
  CHECK(parents_of(g, 1).empty());
  CHECK(parents_of(g, 2).empty());
  CHECK(parents_of(g, 4) == std::vector<uint32_t>{5});
  CHECK(g.primary_relation(4) == Relation::adapter);
  CHECK(parents_of(g, 6) == std::vector<uint32_t>{2});
  CHECK(parents_of(g, 7) == std::vector<uint32_t>{1, 5});
}

TEST_CASE("lineage graph: merge diamonds are not cycles", "[lineage]") {
  std::vector<BaseEdge> e = {E(1, 0), E(2, 0), E(3, 1, Relation::merge, 0), E(3, 2, Relation::merge, 1), E(4, 3)};
  CycleReport rep;
  const LineageGraph g = build_lineage_graph(5, e, &rep);
  CHECK(rep.cycles.empty());
  CHECK(rep.removed_edges.empty());
  CHECK(g.parents.size() == 5);
}

TEST_CASE("lineage graph: a ring and a chain of a million nodes (no recursion)", "[lineage]") {
  const uint32_t n = 1000000;
  std::vector<BaseEdge> ring, chain;
  ring.reserve(n);
  chain.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    ring.push_back(E(i, (i + 1) % n));
    if (i + 1 < n) chain.push_back(E(i, i + 1));
  }
  CycleReport rep;
  LineageGraph g = build_lineage_graph(n, ring, &rep);
  CHECK(g.parents.empty());
  REQUIRE(rep.cycles.size() == 1);
  CHECK(rep.cycles[0].size() == n);
  CHECK(rep.cycles[0].front() == 0);
  CHECK(rep.cycles[0].back() == n - 1);
  CHECK(rep.removed_edges.size() == n);
  g = build_lineage_graph(n, chain, &rep);
  CHECK(g.parents.size() == n - 1);
  CHECK(rep.cycles.empty());
}

TEST_CASE("lineage graph: an edge outside the nodes is an error", "[lineage]") {
  CHECK_THROWS_AS(build_lineage_graph(3, {E(1, 3)}, nullptr), Error);
  CHECK_THROWS_AS(build_lineage_graph(3, {E(3, 1)}, nullptr), Error);
}

TEST_CASE("lineage graph: random graphs agree with the oracle's mutual-reachability rule", "[lineage]") {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    const uint32_t n = 1 + static_cast<uint32_t>(rng() % 120);
    std::vector<BaseEdge> e;
    const size_t m = rng() % (3 * n + 1);
    for (size_t i = 0; i < m; ++i)
      e.push_back(E(static_cast<uint32_t>(rng() % n), static_cast<uint32_t>(rng() % n),
                    static_cast<Relation>(rng() % kRelationCount), static_cast<uint16_t>(rng() % 3)));
    CycleReport got_rep, want_rep;
    const LineageGraph got = build_lineage_graph(n, e, &got_rep);
    const LineageGraph want = oracle::build_graph(n, e, &want_rep);
    CHECK(got.parent_offsets == want.parent_offsets);
    CHECK(got.parents == want.parents);
    CHECK(got.relations == want.relations);
    CHECK(got_rep.cycles == want_rep.cycles);
    CHECK(got_rep.self_loops == want_rep.self_loops);
    CHECK(same_edges(got_rep.removed_edges, want_rep.removed_edges));
  }
}

TEST_CASE("LineageRaw equality", "[lineage]") {
  LineageRaw a;
  a.root = {0, 0};
  a.depth = {0, 1};
  a.children = {1, 0};
  a.descendants = {1, 0};
  a.descendants_by_relation = {{1, 0, 0, 0, 0}, {0, 0, 0, 0, 0}};
  LineageRaw b = a;
  CHECK(a == b);
  b.descendants_by_relation[0][2] = 1;
  CHECK_FALSE(a == b);
  b = a;
  b.family_descendants = {1};
  CHECK_FALSE(a == b);
}

TEST_CASE("finish_lineage_output: families from the per-node arrays, and the families output", "[lineage]") {
  // 0 <- 1 <- 2, 3 alone, 4 <- 5: families 0 (2 descendants) and 4 (1).
  LineageRaw r;
  r.root = {0, 0, 0, 3, 4, 4};
  r.depth = {0, 1, 2, 0, 0, 1};
  r.children = {1, 1, 0, 0, 1, 0};
  r.descendants = {2, 1, 0, 0, 1, 0};
  r.descendants_by_relation = {{2, 0, 0, 0, 0}, {1, 0, 0, 0, 0}, {}, {}, {0, 1, 0, 0, 0}, {}};
  LineageRaw per_node = r;
  finish_lineage_output(&per_node, LineageOutput::per_node);
  CHECK(per_node.max_depth == 2);
  CHECK(per_node.family_root == std::vector<uint32_t>{0, 4});
  CHECK(per_node.family_descendants == std::vector<uint64_t>{2, 1});
  CHECK(per_node.family_by_relation.at(1) == std::array<uint64_t, kRelationCount>{0, 1, 0, 0, 0});
  CHECK(per_node.depth == r.depth);
  LineageRaw families = r;
  finish_lineage_output(&families, LineageOutput::families);
  CHECK(families.family_root == per_node.family_root);
  CHECK(families.root == r.root);
  CHECK((families.depth.empty() && families.children.empty() && families.descendants.empty()));
  // Arrays of different lengths are a caller's error, not a read past the end.
  LineageRaw bad = r;
  bad.descendants.pop_back();
  CHECK_THROWS_AS(finish_lineage_output(&bad, LineageOutput::per_node), Error);
}
