// The share tables of the results: groups ordered by downloads (descending, then key), truncated
// to the share limit, with each listed key stored once per table (ShareTable::key_text).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ecostat/detail/thread_pool.hpp"
#include "ecostat/engine.hpp"
#include "group_maps.hpp"

namespace ecostat::detail {

inline double share_ratio(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

// Whether ties are better broken by precomputed key ranks than by comparing key strings: when
// many rows are kept (--share-limit 0: millions of rows, most of them ties on small counts).
bool worth_ranking(size_t limit, size_t n_groups);
// The groups' keys in byte order: rank[g] is group g's place, by_rank[r] the group at place r.
// Sorted on the pool's threads (null: this thread); the ranks do not depend on how many.
struct KeyRanks {
  std::vector<uint32_t> rank, by_rank;
};
KeyRanks key_ranks(const GroupKeys& keys, uint32_t n_groups, ThreadPool* pool);

// Share rows sorted by downloads descending then key, truncated to `limit` (0 = all). Only
// groups with a member unit exist (`exists`, GroupMapBuilder::has_member). The `unknown` group,
// when it exists, is always listed: in rank order when it ranks within the limit, else appended
// after the `limit` rows. `rank`: key_ranks, or null to compare the keys.
ShareTable make_share_table(const std::string& name, const GroupKeys& keys, const std::vector<uint8_t>& exists,
                            const std::vector<uint64_t>& sums, size_t limit, const KeyRanks* rank);

// Per month: the groups with downloads that month, the same limit rule as make_share_table;
// the `unknown` row is listed every month when the unknown group exists. The months are
// ordered on the pool's threads (null: this thread); the table does not depend on how many.
ShareMonthTable make_share_month_table(const std::string& name, const GroupKeys& keys, const std::vector<uint8_t>& exists,
                                       const GroupMonthTable& tab, size_t limit, const KeyRanks* rank,
                                       ThreadPool* pool);

}  // namespace ecostat::detail
