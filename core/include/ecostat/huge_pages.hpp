// An allocator for large tables read at random (a dictionary's slots and string bytes): from
// 4 MiB on, memory is mapped on its own and the kernel is asked for 2 MiB pages
// (MADV_HUGEPAGE), so that a lookup need not also miss the TLB (with 4 KiB pages a 30 MB table
// spans ~8,000 pages, beyond its reach; the gain measured was within the noise of the 2-core
// machine: docs/benchmarks.md). Smaller blocks come from operator new. Cells maps its large
// tables the same way (map_huge_pages).
#pragma once
#include <cstddef>
#include <new>

namespace ecostat {

void* map_huge_pages(std::size_t bytes);  // throws std::bad_alloc
void unmap_huge_pages(void* p, std::size_t bytes);
constexpr std::size_t kHugePagesFromBytes = std::size_t{4} << 20;

template <class T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) {}
  T* allocate(std::size_t n) {
    if (n > std::size_t(-1) / sizeof(T)) throw std::bad_alloc();
    const std::size_t bytes = n * sizeof(T);
    if (bytes >= kHugePagesFromBytes) return static_cast<T*>(map_huge_pages(bytes));
    return static_cast<T*>(::operator new(bytes));
  }
  void deallocate(T* p, std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes >= kHugePagesFromBytes) return unmap_huge_pages(p, bytes);
    ::operator delete(p);
  }
  template <class U>
  bool operator==(const HugePageAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const HugePageAllocator<U>&) const { return false; }
};

}  // namespace ecostat
