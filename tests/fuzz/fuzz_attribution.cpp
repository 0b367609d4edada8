// Fuzzes host::read_attribution: the handle -> organisation, country, region, org type table.
#include "fuzz_common.hpp"

using namespace ecostat;
using namespace ecostat::host;

namespace {

// One row per handle in every column; every value id names an entry of its dictionary.
void check_table(const AttributionTable& t) {
  const size_t n = t.handles.size();
  FUZZ_CHECK(t.organisation.size() == n && t.country.size() == n && t.region.size() == n &&
             t.org_type.size() == n);
  for (size_t i = 0; i < n; ++i) {
    FUZZ_CHECK(t.organisation[i] == kNone || t.organisation[i] < t.organisations.size());
    FUZZ_CHECK(t.country[i] == kNone || t.country[i] < t.countries.size());
    FUZZ_CHECK(t.region[i] == kNone || t.region[i] < t.regions.size());
    FUZZ_CHECK(t.org_type[i] == kNone || t.org_type[i] < t.org_types.size());
  }
}

fuzz::Outcome read_once(const uint8_t* data, size_t size, bool strict, const ReadOptions& options) {
  return fuzz::run_read(strict, [&](RejectLog& rejects) {
    fuzz::ChunkedSource src(data, size);
    AttributionTable table;
    ReadStats s = read_attribution(src, table, rejects, options);
    check_table(table);
    FUZZ_CHECK(table.handles.size() <= s.accepted);
    return s;
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::check_all_modes([&](bool strict, const ReadOptions& o) { return read_once(data, size, strict, o); });
  return 0;
}
