#include "ecostat/records.hpp"

namespace ecostat {

void RepoTable::push_defaults() {
  author.push_back(kNone);
  kind.push_back(RepoKind::model);
  created_day.push_back(kNoDay);
  likes.push_back(0);
  downloads_30d.push_back(0);
  downloads_all_time.push_back(0);
  has_all_time.push_back(0);
  parameters.push_back(0);
  pipeline_tag.push_back(kNone);
  library.push_back(kNone);
  tag_offsets.push_back(tag_offsets.back());
  placeholder.push_back(0);
  in_downloads_only.push_back(0);
}

void RepoTable::reserve(size_t n) {
  ids.reserve(n);
  author.reserve(n);
  kind.reserve(n);
  created_day.reserve(n);
  likes.reserve(n);
  downloads_30d.reserve(n);
  downloads_all_time.reserve(n);
  has_all_time.reserve(n);
  parameters.reserve(n);
  pipeline_tag.reserve(n);
  library.reserve(n);
  tag_offsets.reserve(n + 1);
  placeholder.reserve(n);
  in_downloads_only.reserve(n);
}

uint32_t RepoTable::ensure(std::string_view id, uint64_t h, bool from_downloads) {
  bool added = false;
  const uint32_t u = ids.intern(id, h, &added);
  if (added) {  // new: a placeholder row, author from the id's prefix
    push_defaults();
    placeholder[u] = 1;
    in_downloads_only[u] = from_downloads ? 1 : 0;
    if (const std::string_view a = id_author(id); !a.empty()) author[u] = authors.intern(a);
  }
  return u;
}

void EventBatch::clear() {
  unit.clear();
  month.clear();
  count.clear();
  wide.clear();
  unit_bound = 0;
  month_min = 0xffff;
  month_max = 0;
}

void EventBatch::push_wide(uint32_t u, Month m, uint64_t c) {
  wide.push_back({u, m, c});
  if (u >= unit_bound) unit_bound = u + 1;
  if (m < month_min) month_min = m;
  if (m > month_max) month_max = m;
}

}  // namespace ecostat
