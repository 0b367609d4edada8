// A table of u64 cells: the sums of a month table (GroupMonthTable::sums).
//
// Why not std::vector<uint64_t>: a month table of 2.2M models x 48 months is 845 MB, and a
// vector writes every cell of it on the thread that makes it before anything is summed
// (docs/benchmarks.md, "Month tables filled in place", for what that cost). Cells are zero
// when made, but a large table is taken as fresh zero pages from the OS: nothing is written
// until the threads that fill it touch their pages, in parallel, and a cell never written costs
// nothing. The accumulator fills such a table in place and hands it over without a copy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <vector>

namespace ecostat {

class Cells {
 public:
  Cells() = default;
  explicit Cells(size_t n);  // n cells, all zero
  Cells(std::initializer_list<uint64_t> values);
  explicit Cells(const std::vector<uint64_t>& values);
  Cells(const Cells& o);
  Cells& operator=(const Cells& o);
  Cells(Cells&& o) noexcept;
  Cells& operator=(Cells&& o) noexcept;
  ~Cells();

  // n cells of value v (v == 0: fresh zero cells, as Cells(n)).
  void assign(size_t n, uint64_t v);
  // Keeps the first n cells (n <= size()).
  void shrink(size_t n);
  // Grows to n cells (n >= size()), the new ones zero, the old ones kept (a large table grows
  // by remapping its pages, without a copy).
  void extend(size_t n);

  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  uint64_t* data() { return p_; }
  const uint64_t* data() const { return p_; }
  uint64_t& operator[](size_t i) { return p_[i]; }
  const uint64_t& operator[](size_t i) const { return p_[i]; }
  uint64_t& at(size_t i);  // throws std::out_of_range past the end
  const uint64_t& at(size_t i) const;
  uint64_t* begin() { return p_; }
  uint64_t* end() { return p_ + n_; }
  const uint64_t* begin() const { return p_; }
  const uint64_t* end() const { return p_ + n_; }
  std::vector<uint64_t> to_vector() const { return std::vector<uint64_t>(begin(), end()); }

  bool operator==(const Cells& o) const;
  bool operator!=(const Cells& o) const { return !(*this == o); }

 private:
  void release();
  uint64_t* p_ = nullptr;
  size_t n_ = 0;       // cells in use
  size_t held_ = 0;    // cells the allocation holds (>= n_)
  bool mapped_ = false;  // from mmap (large) rather than calloc
};

// "<n> cells, sum <s>: c0 c1 ... c7 ..." (a test's failed comparison prints this, not millions of cells).
std::ostream& operator<<(std::ostream& os, const Cells& c);

}  // namespace ecostat
