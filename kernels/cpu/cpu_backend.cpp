// The CPU backend: real and multi-threaded (std::thread pool), the default where no GPU is.
// The pieces live beside this file: cpu_accumulator.cpp (events -> tables),
// cpu_concentration.cpp (sort + exact sums), cpu_lineage.cpp (roots, descendants).
#include <algorithm>
#include <string>
#include <thread>

#include "cpu_internal.hpp"
#include "ecostat/errors.hpp"

namespace ecostat {
namespace cpu {

std::vector<uint64_t> group_sum(ThreadPool& pool, const std::vector<uint64_t>& values, const GroupMap& map) {
  const size_t n = values.size();
  if (map.group_of_unit.empty()) {  // identity: group = unit
    std::vector<uint64_t> out(std::max<size_t>(n, map.n_groups), 0);
    std::copy(values.begin(), values.end(), out.begin());
    return out;
  }
  if (map.group_of_unit.size() < n)
    throw Error("cpu backend: group map '" + map.name + "' covers " + std::to_string(map.group_of_unit.size()) +
                " units, fewer than the " + std::to_string(n) + " values");
  const uint32_t G = map.n_groups;
  const uint32_t* gou = map.group_of_unit.data();
  for (size_t u = 0; u < n; ++u)
    if (gou[u] >= G)
      throw Error("cpu backend: group map '" + map.name + "' sends unit " + std::to_string(u) + " to group " +
                  std::to_string(gou[u]) + " (n_groups " + std::to_string(G) + ")");
  const unsigned T = pool.size();
  // Per-thread partial tables when they are small next to the input; else one pass.
  if (T == 1 || n < (1u << 16) || size_t(G) * T > n) {
    std::vector<uint64_t> out(G, 0);
    for (size_t u = 0; u < n; ++u) out[gou[u]] += values[u];
    return out;
  }
  std::vector<std::vector<uint64_t>> part(T);
  pool.run(T, [&](size_t t, unsigned) {
    std::vector<uint64_t>& o = part[t];
    o.assign(G, 0);
    const size_t b = n * t / T, e = n * (t + 1) / T;
    for (size_t u = b; u < e; ++u) o[gou[u]] += values[u];
  });
  std::vector<uint64_t> out = std::move(part[0]);
  for (unsigned t = 1; t < T; ++t)
    for (uint32_t g = 0; g < G; ++g) out[g] += part[t][g];
  return out;
}

namespace {

unsigned resolve_threads(unsigned threads) {
  if (threads) return threads;
  unsigned h = std::thread::hardware_concurrency();
  return h ? h : 1;
}

std::string describe(unsigned threads) {
  return std::to_string(threads) + (threads == 1 ? " CPU thread" : " CPU threads");
}

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(unsigned threads) : pool_(std::make_shared<ThreadPool>(resolve_threads(threads))) {}

  BackendInfo info() const override { return {"cpu", describe(pool_->size()), true, true, "ok"}; }

  std::unique_ptr<EventAccumulator> make_accumulator(const AccumulatorPlan& plan = AccumulatorPlan()) override {
    // The unit x month table answers every map; otherwise only what the plan names is kept.
    if (plan.month_tables) return cpu::make_accumulator(pool_);
    if (!plan.direct_maps.empty()) return cpu::make_direct_accumulator(pool_, plan.direct_maps);
    return cpu::make_totals_accumulator(pool_);
  }

  std::vector<uint64_t> group_sum(const std::vector<uint64_t>& values, const GroupMap& map) override {
    return cpu::group_sum(*pool_, values, map);
  }

  std::vector<ConcentrationRaw> concentration(const std::vector<uint64_t>& values,
                                              const std::vector<uint32_t>& segment_of, uint32_t n_segments,
                                              const ConcentrationSpec& spec) override {
    return cpu::concentration(*pool_, scratch_, values, segment_of, n_segments, spec);
  }

  LineageRaw lineage(const LineageGraph& graph, LineageOutput output) override {
    LineageRaw out = cpu::lineage(*pool_, graph);
    finish_lineage_output(&out, output);
    return out;
  }

 private:
  std::shared_ptr<ThreadPool> pool_;
  Scratch scratch_;
};

}  // namespace
}  // namespace cpu

std::unique_ptr<Backend> make_cpu_backend(unsigned threads) { return std::make_unique<cpu::CpuBackend>(threads); }

BackendInfo probe_cpu_backend() { return {"cpu", cpu::describe(cpu::resolve_threads(0)), true, true, "ok"}; }

}  // namespace ecostat
