// Mapped blocks with huge pages asked (huge_pages.hpp).
#include "ecostat/huge_pages.hpp"

#include <sys/mman.h>

namespace ecostat {

void* map_huge_pages(std::size_t bytes) {
  void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  madvise(m, bytes, MADV_HUGEPAGE);  // advice only: without it the block still works
#endif
  return m;
}

void unmap_huge_pages(void* p, std::size_t bytes) { munmap(p, bytes); }

}  // namespace ecostat
