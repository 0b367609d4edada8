// Cells: u64 tables whose large allocations are fresh zero pages (see cells.hpp).
#include "ecostat/cells.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <ostream>
#include <stdexcept>
#include <string>

#include <sys/mman.h>

#include "ecostat/huge_pages.hpp"

namespace ecostat {
namespace {

constexpr size_t kMapFrom = size_t(1) << 17;      // cells (1 MiB) from which a table is mapped
constexpr size_t kHugePagesFrom = kHugePagesFromBytes / sizeof(uint64_t);  // cells (4 MiB) from which huge pages are asked

// n zero cells: calloc for small tables, an anonymous mapping (untouched zero pages) for large.
uint64_t* allocate_zero(size_t n, bool& mapped) {
  if (n == 0) {
    mapped = false;
    return nullptr;
  }
  if (n > SIZE_MAX / sizeof(uint64_t)) throw std::bad_alloc();
  mapped = n >= kMapFrom;
  if (!mapped) {
    void* p = std::calloc(n, sizeof(uint64_t));
    if (!p) throw std::bad_alloc();
    return static_cast<uint64_t*>(p);
  }
  // Tables of hundreds of MB otherwise spend most of their first touch in 4 KiB page faults.
  if (n >= kHugePagesFrom) return static_cast<uint64_t*>(map_huge_pages(n * sizeof(uint64_t)));
  void* m = mmap(nullptr, n * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) throw std::bad_alloc();
  return static_cast<uint64_t*>(m);
}

}  // namespace

Cells::Cells(size_t n) {
  p_ = allocate_zero(n, mapped_);  // in the body: mapped_'s member initializer would run after p_'s
  n_ = held_ = n;
}

Cells::Cells(std::initializer_list<uint64_t> values) : Cells(values.size()) {
  std::copy(values.begin(), values.end(), p_);
}

Cells::Cells(const std::vector<uint64_t>& values) : Cells(values.size()) {
  std::copy(values.begin(), values.end(), p_);
}

Cells::Cells(const Cells& o) : Cells(o.n_) { std::copy(o.begin(), o.end(), p_); }

Cells& Cells::operator=(const Cells& o) {
  if (this != &o) *this = Cells(o);
  return *this;
}

Cells::Cells(Cells&& o) noexcept : p_(o.p_), n_(o.n_), held_(o.held_), mapped_(o.mapped_) {
  o.p_ = nullptr, o.n_ = o.held_ = 0, o.mapped_ = false;
}

Cells& Cells::operator=(Cells&& o) noexcept {
  std::swap(p_, o.p_);
  std::swap(n_, o.n_);
  std::swap(held_, o.held_);
  std::swap(mapped_, o.mapped_);
  return *this;
}

Cells::~Cells() { release(); }

void Cells::release() {
  if (!p_) return;
  if (mapped_) munmap(p_, held_ * sizeof(uint64_t));
  else std::free(p_);
  p_ = nullptr, n_ = held_ = 0, mapped_ = false;
}

void Cells::assign(size_t n, uint64_t v) {
  *this = Cells(n);
  if (v != 0) std::fill(p_, p_ + n, v);
}

void Cells::shrink(size_t n) {
  if (n > n_) throw std::logic_error("Cells::shrink to " + std::to_string(n) + " of " + std::to_string(n_) + " cells");
  n_ = n;
}

void Cells::extend(size_t n) {
  if (n < n_) throw std::logic_error("Cells::extend to " + std::to_string(n) + " of " + std::to_string(n_) + " cells");
  if (n <= held_) {  // cells once shrunk away hold old values
    std::fill(p_ + n_, p_ + n, uint64_t(0));
    n_ = n;
    return;
  }
  if (mapped_) {
    std::fill(p_ + n_, p_ + held_, uint64_t(0));
    void* m = mremap(p_, held_ * sizeof(uint64_t), n * sizeof(uint64_t), MREMAP_MAYMOVE);
    if (m == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    if (n >= kHugePagesFrom) madvise(m, n * sizeof(uint64_t), MADV_HUGEPAGE);
#endif
    p_ = static_cast<uint64_t*>(m), n_ = held_ = n;  // the pages past the old end are fresh zero pages
    return;
  }
  Cells grown(n);
  std::copy(begin(), end(), grown.p_);
  *this = std::move(grown);
}

uint64_t& Cells::at(size_t i) {
  if (i >= n_) throw std::out_of_range("Cells::at(" + std::to_string(i) + ") of " + std::to_string(n_) + " cells");
  return p_[i];
}

const uint64_t& Cells::at(size_t i) const { return const_cast<Cells*>(this)->at(i); }

bool Cells::operator==(const Cells& o) const { return n_ == o.n_ && std::equal(begin(), end(), o.begin()); }

std::ostream& operator<<(std::ostream& os, const Cells& c) {
  uint64_t sum = 0;  // mod 2^64: a fingerprint, not a result
  for (const uint64_t v : c) sum += v;
  os << c.size() << " cells, sum " << sum << ":";
  for (size_t i = 0; i < c.size() && i < 8; ++i) os << ' ' << c[i];
  if (c.size() > 8) os << " ...";
  return os;
}

}  // namespace ecostat
