// Fuzzes host::read_downloads in all three modes: the header decides (detect), per-period
// counts, and cumulative snapshots differenced per repo.
#include "fuzz_common.hpp"

using namespace ecostat;
using namespace ecostat::host;

namespace {

constexpr size_t kBatchCapacity = 5;  // small, so batches are flushed often

// A batch is never over capacity, its columns line up, and its bounds hold every event.
void check_batch(const EventBatch& b, const RepoTable& repos) {
  FUZZ_CHECK(b.size() <= kBatchCapacity);
  FUZZ_CHECK(b.month.size() == b.size() && b.count.size() == b.size());
  FUZZ_CHECK(b.unit_bound <= repos.size());
  for (size_t i = 0; i < b.size(); ++i) {
    FUZZ_CHECK(b.unit[i] < b.unit_bound);
    FUZZ_CHECK(b.month[i] >= b.month_min && b.month[i] <= b.month_max);
  }
}

fuzz::Outcome read_once(const uint8_t* data, size_t size, DownloadFormat format, bool strict, const ReadOptions& options) {
  return fuzz::run_read(strict, [&](RejectLog& rejects) {
    fuzz::ChunkedSource src(data, size);
    RepoTable repos;
    fuzz::ProgressCheck progress;
    auto sink = [&](const EventBatch& b) { check_batch(b, repos); };
    return read_downloads(src, format, repos, rejects, kBatchCapacity, sink, std::ref(progress), options);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (DownloadFormat f : {DownloadFormat::detect, DownloadFormat::per_period, DownloadFormat::cumulative})
    fuzz::check_all_modes([&](bool strict, const ReadOptions& o) { return read_once(data, size, f, strict, o); });
  return 0;
}
