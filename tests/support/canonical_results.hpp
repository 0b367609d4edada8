// The results document without its timings: what two runs of the same job must agree on byte
// for byte (partials merged, slices, thread counts).
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "ecostat/engine.hpp"

namespace ecostat::test {

inline std::string canonical(const Results& r) {
  auto j = nlohmann::json::parse(results_to_json(r));
  j.erase("timings_ms");
  return j.dump(1);
}

}  // namespace ecostat::test
