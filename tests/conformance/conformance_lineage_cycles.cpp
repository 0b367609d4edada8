// Backend::lineage called directly with a cycle (the engine removes cycles first, but the
// Backend interface promises a defined answer to any caller): every backend throws
// ecostat::Error naming a cycle, never a result. On the device backends the pointer-jumping
// distance of a self-loop doubled every round and wrapped to 0 in 32 bits by round 32, so the
// self-loop read as a root and a 2-cycle got depth 4294967295 (issue 12).
#include <string>

#include "conformance/backend_under_test.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/lineage.hpp"

namespace ecostat::conformance {
namespace {

// A graph from (child, parents...) lists over n nodes; relations all finetune.
LineageGraph graph_of(uint32_t n, const std::vector<std::vector<uint32_t>>& parents_of) {
  LineageGraph g;
  g.n_nodes = n;
  g.parent_offsets.assign(1, 0);
  for (uint32_t v = 0; v < n; ++v) {
    for (uint32_t p : parents_of[v]) {
      g.parents.push_back(p);
      g.relations.push_back(Relation::finetune);
    }
    g.parent_offsets.push_back(static_cast<uint32_t>(g.parents.size()));
  }
  return g;
}

void throws_cycle(const LineageGraph& g) {
  try {
    const LineageRaw r = backend().lineage(g);
    std::string depths;
    for (uint32_t d : r.depth) depths += std::to_string(d) + " ";
    FAIL("no error; depths: " << depths);
  } catch (const Error& e) {
    INFO(e.what());
    CHECK(std::string(e.what()).find("cycle") != std::string::npos);
  }
}

}  // namespace

TEST_CASE("lineage: a direct call with a cycle throws a cycle error on every backend", "[conformance]") {
  INFO("backend " << backend_name());
  SECTION("a self-loop (primary parent)") { throws_cycle(graph_of(3, {{}, {1}, {0}})); }
  SECTION("a 2-cycle") { throws_cycle(graph_of(4, {{}, {2}, {1}, {0}})); }
  SECTION("a 3-cycle below a tree") { throws_cycle(graph_of(6, {{}, {0}, {4}, {2}, {3}, {1}})); }
  SECTION("a self-loop as a second parent") { throws_cycle(graph_of(3, {{}, {0, 1}, {1}})); }
  SECTION("a long chain into a self-loop (distances past 2^31 before the fix)") {
    std::vector<std::vector<uint32_t>> p(2000);
    p[0] = {0};
    for (uint32_t v = 1; v < 2000; ++v) p[v] = {v - 1};
    throws_cycle(graph_of(2000, p));
  }
  SECTION("an acyclic graph next to them still works") {
    const LineageGraph g = graph_of(4, {{}, {0}, {1}, {1, 0}});
    const LineageRaw r = backend().lineage(g);
    CHECK(r.depth == std::vector<uint32_t>{0, 1, 2, 2});
    CHECK(r.root == std::vector<uint32_t>{0, 0, 0, 0});
  }
}

}  // namespace ecostat::conformance
