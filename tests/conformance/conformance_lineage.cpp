// Conformance: lineage (roots, depth, children, exact DAG-aware descendants by relation) on
// graphs built by build_lineage_graph, against the oracle's BFS from every node. Every
// backend runs these.
#include <algorithm>
#include <numeric>
#include <sstream>

#include "conformance/backend_under_test.hpp"

using namespace ecostat;
using namespace ecostat::conformance;

namespace {

// The first difference between got and want ("" if none): per node, then the greatest depth
// and the families.
std::string diff(const LineageRaw& got, const LineageRaw& want) {
  std::ostringstream s;
  const size_t n = want.root.size();
  if (got.root.size() != n || got.depth.size() != want.depth.size() || got.children.size() != want.children.size() ||
      got.descendants.size() != want.descendants.size() ||
      got.descendants_by_relation.size() != want.descendants_by_relation.size())
    return "sizes differ";
  for (size_t v = 0; v < n; ++v) {
    const bool per_node = v < want.depth.size();
    if (got.root[v] != want.root[v]) s << "root[" << v << "] " << got.root[v] << " != " << want.root[v];
    else if (!per_node) continue;
    else if (got.depth[v] != want.depth[v]) s << "depth[" << v << "] " << got.depth[v] << " != " << want.depth[v];
    else if (got.children[v] != want.children[v]) s << "children[" << v << "] " << got.children[v] << " != " << want.children[v];
    else if (got.descendants[v] != want.descendants[v]) s << "descendants[" << v << "] " << got.descendants[v] << " != " << want.descendants[v];
    else if (got.descendants_by_relation[v] != want.descendants_by_relation[v]) s << "descendants_by_relation[" << v << "]";
    else continue;
    return s.str();
  }
  if (got.max_depth != want.max_depth) return "max_depth " + std::to_string(got.max_depth) + " != " + std::to_string(want.max_depth);
  if (got.family_root != want.family_root) return "family_root differs (" + std::to_string(got.family_root.size()) +
                                                   " families, want " + std::to_string(want.family_root.size()) + ")";
  if (got.family_descendants != want.family_descendants) return "family_descendants differ";
  if (got.family_by_relation != want.family_by_relation) return "family_by_relation differs";
  return "";
}

BaseEdge edge(uint32_t c, uint32_t p, Relation r, uint16_t order) { return BaseEdge{c, p, r, order}; }

// The Hub's shape: 72% of nodes without a parent, derivatives pick popular (old) bases with
// heavy skew or recent nodes, 2% of derivatives are merges of 2-4 parents; ids scrambled so
// that they follow no topological order. A few parents are "placeholders" (ids that only
// appear as parents).
std::vector<BaseEdge> hub_edges(uint32_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> U(0.0, 1.0);
  std::vector<uint32_t> id(n);
  std::iota(id.begin(), id.end(), 0u);
  std::shuffle(id.begin(), id.end(), rng);
  std::vector<BaseEdge> edges;
  auto pick = [&](uint32_t i) -> uint32_t {
    const double r = U(rng);
    if (U(rng) < 0.6) return static_cast<uint32_t>(i * r * r * r * r);     // popular, old
    return i - 1 - static_cast<uint32_t>((std::min<uint32_t>(i, 50) - 1) * r);  // recent
  };
  for (uint32_t i = 1; i < n; ++i) {
    if (U(rng) >= 0.28) continue;
    const double t = U(rng);
    if (t < 0.02) {  // merge
      const int k = 2 + static_cast<int>(rng() % 3);
      std::vector<uint32_t> ps;
      for (int j = 0; j < k; ++j) ps.push_back(pick(i));
      uint16_t order = 0;
      for (uint32_t p : ps) edges.push_back(edge(id[i], id[p], Relation::merge, order++));  // repeats possible
    } else {
      const Relation r = t < 0.5 ? Relation::finetune : t < 0.7 ? Relation::adapter : t < 0.97 ? Relation::quantized : Relation::unknown;
      edges.push_back(edge(id[i], id[pick(i)], r, 0));
    }
  }
  return edges;
}

// Both outputs: every per-node array, and the families alone (per-node arrays but root empty).
void check_lineage_of(const LineageGraph& g) {
  CHECK(diff(backend().lineage(g), oracle::lineage(g)) == "");
  const LineageRaw families = backend().lineage(g, LineageOutput::families);
  CHECK(diff(families, oracle::lineage(g, LineageOutput::families)) == "");
  CHECK(families.depth.empty());
  CHECK(families.descendants_by_relation.empty());
}

void check_lineage_of(uint32_t n, const std::vector<BaseEdge>& edges) {
  CycleReport rep;
  check_lineage_of(build_lineage_graph(n, edges, &rep));
}

}  // namespace

TEST_CASE("lineage: Hub-shaped DAGs around warp and block edges", "[conformance]") {
  const uint32_t sizes[] = {0, 1, 31, 32, 33, 63, 64, 65, 1000, 100000, 1u << 20};
  for (uint32_t n : sizes) {
    INFO("n = " << n);
    check_lineage_of(n, hub_edges(n, n + 1));
  }
}

TEST_CASE("lineage: merges, diamonds, placeholders", "[conformance]") {
  // 0 root; 1, 2 fine-tunes of 0; 3 merges 1 and 2 (diamond); 4 quantizes 3; 5 adapter of 4
  // and of 0 (reaches 0 by several paths); 6 a placeholder parent (no parent itself) of 7;
  // 8 merges 6 and 3; 9 isolated.
  std::vector<BaseEdge> e = {
      edge(1, 0, Relation::finetune, 0), edge(2, 0, Relation::finetune, 0), edge(3, 1, Relation::merge, 0),
      edge(3, 2, Relation::merge, 1),    edge(4, 3, Relation::quantized, 0), edge(5, 4, Relation::adapter, 0),
      edge(5, 0, Relation::adapter, 1),  edge(7, 6, Relation::unknown, 0),  edge(8, 6, Relation::merge, 0),
      edge(8, 3, Relation::merge, 1),
  };
  const LineageGraph g = build_lineage_graph(10, e, nullptr);
  check_lineage_of(g);
  const LineageRaw got = backend().lineage(g);
  // By hand: descendants of 0 are 1, 2, 3, 4, 5, 8 (each once).
  CHECK(got.descendants[0] == 6);
  CHECK(got.children[0] == 3);  // 1, 2, 5
  CHECK(got.descendants[6] == 2);
  CHECK(got.root[8] == 6);
  CHECK(got.depth[5] == 4);
  CHECK(got.descendants_by_relation[0] == std::array<uint64_t, kRelationCount>{2, 1, 1, 2, 0});
  // The families: the roots 0 and 6 (9 is a root without descendants); the deepest node is 5.
  const LineageRaw fam = backend().lineage(g, LineageOutput::families);
  CHECK(fam.max_depth == 4);
  CHECK(fam.family_root == std::vector<uint32_t>{0, 6});
  CHECK(fam.family_descendants == std::vector<uint64_t>{6, 2});
  CHECK(fam.family_by_relation.at(0) == got.descendants_by_relation[0]);
  CHECK(fam.root == got.root);
}

TEST_CASE("lineage: deep chains (1e5), below a merge diamond, ids both ways", "[conformance]") {
  const uint32_t L = 100000;
  for (bool ascending : {true, false}) {
    INFO((ascending ? "child id > parent id" : "child id < parent id"));
    // Nodes: R, A, B, M (merge of A and B), then a chain of L nodes below M.
    const uint32_t n = L + 4;
    auto id = [&](uint32_t i) { return ascending ? i : n - 1 - i; };
    std::vector<BaseEdge> e = {edge(id(1), id(0), Relation::finetune, 0), edge(id(2), id(0), Relation::adapter, 0),
                               edge(id(3), id(1), Relation::merge, 0), edge(id(3), id(2), Relation::merge, 1)};
    for (uint32_t i = 4; i < n; ++i) e.push_back(edge(id(i), id(i - 1), i % 2 ? Relation::quantized : Relation::finetune, 0));
    const LineageGraph g = build_lineage_graph(n, e, nullptr);
    const LineageRaw got = backend().lineage(g);
    const LineageRaw fam = backend().lineage(g, LineageOutput::families);
    CHECK(fam.max_depth == n - 2);
    CHECK(fam.family_root == std::vector<uint32_t>{id(0)});
    CHECK(fam.family_descendants == std::vector<uint64_t>{L + 3});
    // Chain node i (i >= 4) has depth i - 1 (R, A, M, ...), L - (i - 4) - 1 descendants.
    CHECK(got.descendants[id(0)] == L + 3);
    CHECK(got.descendants[id(1)] == L + 1);
    CHECK(got.descendants[id(2)] == L + 1);
    CHECK(got.descendants[id(3)] == L);
    bool ok = true;
    for (uint32_t i = 4; i < n && ok; ++i) {
      ok = got.root[id(i)] == id(0) && got.depth[id(i)] == i - 1 && got.descendants[id(i)] == uint64_t(n - 1 - i) &&
           got.children[id(i)] == (i + 1 < n ? 1u : 0u);
      if (!ok) FAIL_CHECK("chain node " << i);
    }
    const uint64_t odd = (L + 1) / 2;  // chain nodes i >= 4 with i odd: quantized
    CHECK(got.descendants_by_relation[id(0)] ==
          std::array<uint64_t, kRelationCount>{1 + (L - odd), 1, odd, 1, 0});
  }
}

TEST_CASE("lineage: random graphs with cycles, self-loops and repeated edges", "[conformance]") {
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    const uint32_t n = 40 + static_cast<uint32_t>(rng() % 200);
    std::vector<BaseEdge> e;
    const size_t m = n + rng() % (2 * n);
    for (size_t i = 0; i < m; ++i) {
      const uint32_t c = static_cast<uint32_t>(rng() % n);
      uint32_t p = static_cast<uint32_t>(rng() % n);
      if (rng() % 3) p = c > 0 ? static_cast<uint32_t>(rng() % c) : 0;  // mostly "older" parents
      e.push_back(edge(c, p, static_cast<Relation>(rng() % kRelationCount), static_cast<uint16_t>(rng() % 4)));
    }
    CycleReport rep;
    check_lineage_of(build_lineage_graph(n, e, &rep));
  }
}
