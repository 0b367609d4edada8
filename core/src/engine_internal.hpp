// Pieces the session, the reduction and the partial merge share (not public API).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ecostat/backend.hpp"
#include "ecostat/engine.hpp"
#include "ecostat/records.hpp"

namespace ecostat::detail {

// Wall time per stage, appended to Results::timings.
class StageTimer {
 public:
  using Clock = std::chrono::steady_clock;
  explicit StageTimer(std::vector<Timing>& out) : out_(&out), t0_(Clock::now()) {}
  void mark(const std::string& stage) {
    const auto t = Clock::now();
    out_->push_back({stage, std::chrono::duration<double, std::milli>(t - t0_).count()});
    t0_ = t;
  }

 private:
  std::vector<Timing>* out_;
  Clock::time_point t0_;
};

// Adds `add` to `*sum`; a sum past 2^64-1 is an InputError naming the repository whose count
// took it there. The readers stop such input first (docs/input-formats.md); this guards library
// callers that bypass them, so a sum is exact or an error, never wrapped.
void add_checked(uint64_t* sum, uint64_t add, const std::string& source, const char* field, std::string_view repo,
                 const char* what);

// The first file of `role` in the summary, else a placeholder naming the role (for messages).
std::string source_of(const InputSummary& input, const std::string& role);

// Input summaries in a canonical order, so that results do not depend on the order the inputs
// (or partials) came in: files by role (orgs, repos, downloads, params) then name; the first
// rejects by file, line, field, reason, at most `keep`.
void canonical_input_order(InputSummary* input, size_t keep = 20);

// What the reduction reads: the tables producers filled and a way to get month tables.
struct ReduceInput {
  const EngineOptions& options;
  Backend& backend;
  RepoTable& repos;  // parameter counts from `params` are applied to it
  const AttributionTable& attribution;
  const ParameterTable& params;
  bool have_downloads = false;
  // The download-record month tables for `maps` (plus unit totals and the event count) over
  // n_units units: from the backend's accumulator, or from a partial's unit x month sums.
  std::function<EventTotals(uint32_t n_units, const std::vector<GroupMap>& maps)> month_tables;
};

// Reduces everything into `res` (res.input holds what the producers counted; units,
// placeholders, events, unresolved parents are filled here).
void reduce(ReduceInput& in, Results& res, StageTimer& timer);

}  // namespace ecostat::detail
