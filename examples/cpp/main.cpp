// The smallest ecostat program (docs/library.md): the main job on the sample data embedded in
// the library, and three headline figures. scripts/check-package.sh builds it against the
// installed package and checks them against `ecostat run --json -`.
#include <cstdio>

#include "ecostat/engine.hpp"
#include "ecostat/job.hpp"
#include "ecostat/version.hpp"

int main() {
  ecostat::JobSpec job;  // no input paths: the embedded sample; backend "auto"
  ecostat::Results results = ecostat::run_job(job);
  std::printf("ecostat %s, backend %s\n", ecostat::version(), results.backend.name.c_str());
  std::printf("units %llu\n", static_cast<unsigned long long>(results.input.units));
  for (const ecostat::ShareTable& table : results.share) {
    if (table.group != "model" || table.rows.empty()) continue;
    std::printf("downloads %llu\n", static_cast<unsigned long long>(table.total));
    const ecostat::ShareRow& top = table.rows.front();  // key: a view of the table's key text
    std::printf("top %.*s %.4f\n", int(top.key.size()), top.key.data(), top.share);
  }
  return 0;
}
