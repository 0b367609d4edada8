// TopRowsTable (cpu_internal.hpp): a group x month table kept as each month's top rows.
#include <algorithm>
#include <functional>

#include "cpu_internal.hpp"

namespace ecostat::cpu {

TopRowsTable::TopRowsTable(const GroupMap& map, uint32_t n_months, unsigned threads)
    : n_groups_(map.n_groups),
      top_rows_(map.top_rows),
      always_group_(map.always_group),
      rows_(threads),
      nonzero_(threads),
      sums_(threads),
      candidates_(n_months),
      month_total_(n_months, 0),
      month_nonzero_(n_months, 0) {}

uint64_t* TopRowsTable::row(unsigned worker) {
  Cells& r = rows_[worker];
  if (r.empty()) r = Cells(n_groups_);  // fresh zero pages, touched by this worker alone
  return r.data();
}

void TopRowsTable::take_month(uint32_t month, unsigned worker) {
  uint64_t* S = row(worker);
  std::vector<Candidate>& nz = nonzero_[worker];
  nz.clear();
  uint64_t total = 0;
  for (uint32_t g = 0; g < n_groups_; ++g)
    if (const uint64_t v = S[g]) {
      nz.push_back({g, v});
      total += v;
      S[g] = 0;  // zero again for the worker's next month
    }
  // The threshold: the top_rows-th largest sum, or 1 (every nonzero group) when there are fewer.
  uint64_t threshold = 1;
  if (top_rows_ > 0 && nz.size() > top_rows_) {
    std::vector<uint64_t>& v = sums_[worker];
    v.resize(nz.size());
    for (size_t i = 0; i < nz.size(); ++i) v[i] = nz[i].sum;
    std::nth_element(v.begin(), v.begin() + (top_rows_ - 1), v.end(), std::greater<uint64_t>());
    threshold = v[top_rows_ - 1];
  }
  std::vector<Candidate>& out = candidates_[month];
  for (const Candidate& c : nz)
    if (c.sum >= threshold || c.group == always_group_) out.push_back(c);
  out.shrink_to_fit();
  month_total_[month] = total;
  month_nonzero_[month] = nz.size();
}

void TopRowsTable::finish(Month month_first, GroupMonthTable* t) {
  const uint32_t nm = static_cast<uint32_t>(candidates_.size());
  *t = GroupMonthTable{};
  t->n_groups = n_groups_, t->month_first = month_first, t->n_months = nm;
  t->top_only = true;
  t->month_total = std::move(month_total_);
  t->month_nonzero = std::move(month_nonzero_);
  t->row_begin.assign(size_t(nm) + 1, 0);
  for (uint32_t m = 0; m < nm; ++m) t->row_begin[m + 1] = t->row_begin[m] + candidates_[m].size();
  t->row_group.reserve(t->row_begin[nm]);
  t->row_sum.reserve(t->row_begin[nm]);
  for (auto& month : candidates_) {
    for (const Candidate& c : month) {
      t->row_group.push_back(c.group);
      t->row_sum.push_back(c.sum);
    }
    std::vector<Candidate>().swap(month);
  }
  rows_.clear();
}

}  // namespace ecostat::cpu
