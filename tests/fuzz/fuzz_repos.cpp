// Fuzzes host::read_repositories: Hub JSON Lines and the CSV export with a `metadata` column
// (the reader detects which from the first line).
#include "fuzz_common.hpp"

using namespace ecostat;
using namespace ecostat::host;

namespace {

// Every column has one entry per unit, and edges and tags point at rows that exist.
void check_table(const RepoTable& t) {
  const size_t n = t.size();
  FUZZ_CHECK(t.author.size() == n && t.kind.size() == n && t.created_day.size() == n);
  FUZZ_CHECK(t.likes.size() == n && t.downloads_30d.size() == n && t.downloads_all_time.size() == n);
  FUZZ_CHECK(t.has_all_time.size() == n && t.parameters.size() == n && t.pipeline_tag.size() == n);
  FUZZ_CHECK(t.library.size() == n && t.placeholder.size() == n && t.in_downloads_only.size() == n);
  FUZZ_CHECK(t.tag_offsets.size() == n + 1);
  for (size_t u = 0; u < n; ++u) FUZZ_CHECK(t.tag_offsets[u] <= t.tag_offsets[u + 1]);
  FUZZ_CHECK(t.tag_offsets.back() == t.tag_ids.size());
  for (uint32_t tag : t.tag_ids) FUZZ_CHECK(tag < t.tags.size());
  for (const auto& e : t.edges) FUZZ_CHECK(e.child < n && e.parent < n);
}

fuzz::Outcome read_once(const uint8_t* data, size_t size, bool strict, const ReadOptions& options) {
  return fuzz::run_read(strict, [&](RejectLog& rejects) {
    fuzz::ChunkedSource src(data, size);
    RepoTable repos;
    fuzz::ProgressCheck progress;
    ReadStats s = read_repositories(src, repos, rejects, std::ref(progress), options);
    check_table(repos);
    // Placeholders (parents named by no record) are rows too, so rows >= accepted records.
    FUZZ_CHECK(repos.size() >= s.accepted);
    return s;
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::check_all_modes([&](bool strict, const ReadOptions& o) { return read_once(data, size, strict, o); });
  return 0;
}
