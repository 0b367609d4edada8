// Pushing your own data (docs/library.md, "Session and partials"): two workers each fill a
// Session with their share of the download records, stop at a Partial, and the partials merge
// into the results one session over all the records gives.
#include <cstdio>

#include "ecostat/partial.hpp"
#include "ecostat/session.hpp"

// Worker `part` of 2 takes every other day of March 2024 for two models.
ecostat::Partial worker(int part) {
  ecostat::EngineOptions options;  // backend "auto", every table
  ecostat::Session session(options);
  ecostat::RepoTable& repos = session.repositories();
  const uint32_t units[] = {repos.ensure("org/base", true), repos.ensure("org/base-ft", true)};
  ecostat::EventBatch batch;
  for (int day = 1 + part; day <= 31; day += 2)
    for (uint32_t u : units) batch.push(u, ecostat::month_of(2024, 3), 10 * (u + 1) + day);
  session.add_downloads(batch);
  return session.to_partial();
}

int main() {
  std::vector<ecostat::Partial> parts;
  parts.push_back(worker(1));  // any order
  parts.push_back(worker(0));
  ecostat::Results r = ecostat::finish(ecostat::merge(std::move(parts)), ecostat::EngineOptions{});
  for (const ecostat::ShareRow& row : r.share.front().rows)  // share by model
    std::printf("%.*s %llu %.4f\n", int(row.key.size()), row.key.data(), static_cast<unsigned long long>(row.downloads), row.share);
  return 0;
}
