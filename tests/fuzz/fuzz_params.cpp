// Fuzzes host::read_parameters: the model id -> parameter count table.
#include "fuzz_common.hpp"

using namespace ecostat;
using namespace ecostat::host;

namespace {

fuzz::Outcome read_once(const uint8_t* data, size_t size, bool strict, const ReadOptions& options) {
  return fuzz::run_read(strict, [&](RejectLog& rejects) {
    fuzz::ChunkedSource src(data, size);
    ParameterTable table;
    ReadStats s = read_parameters(src, table, rejects, options);
    // One row per accepted record (a duplicate id is rejected), and a zero count is rejected.
    FUZZ_CHECK(table.ids.size() == s.accepted);
    FUZZ_CHECK(table.total.size() == table.ids.size() && table.active.size() == table.ids.size());
    for (uint64_t total : table.total) FUZZ_CHECK(total > 0);
    return s;
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::check_all_modes([&](bool strict, const ReadOptions& o) { return read_once(data, size, strict, o); });
  return 0;
}
