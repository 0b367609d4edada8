// Dictionary encoding: strings to dense u32 ids in order of first appearance.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ecostat/huge_pages.hpp"
#include "ecostat/prefetch.hpp"

namespace ecostat {

class Dictionary {
 public:
  // Returns the id of s, adding it when new. Ids are dense: 0, 1, 2, ...
  uint32_t intern(std::string_view s) { return intern(s, hash(s)); }
  // Returns the id of s or kNone (0xffffffff) when absent.
  uint32_t find(std::string_view s) const { return find(s, hash(s)); }
  // The same with h = hash(s) computed ahead (by a parsing thread, while one thread interns),
  // and the home slot of a hash fetched into the cache a few records before it is needed.
  static uint64_t hash(std::string_view s);
  uint32_t intern(std::string_view s, uint64_t h) {
    bool added;
    return intern(s, h, &added);
  }
  // intern that also says whether s was new: one probe where find-then-intern takes two.
  uint32_t intern(std::string_view s, uint64_t h, bool* added);
  uint32_t find(std::string_view s, uint64_t h) const;
  void prefetch(uint64_t h) const {
    if (!slots_.empty()) prefetch_for_read(&slots_[h & (slots_.size() - 1)]);
  }
  // Room for n strings without rehashing (a reader that can estimate its count).
  void reserve(size_t n);
  // out[i] = find(ids[i]) for i < n, with the memory latency overlapped: every id is hashed and
  // its slot prefetched a few ids ahead, then its arena bytes, so a lookup into a table far
  // larger than the caches costs about one miss's bandwidth instead of two dependent misses.
  // Read-only: safe from many threads at once (as find is), while nobody interns.
  void find_many(const std::string_view* ids, size_t n, uint32_t* out) const;
  // The string of an id: a view into the arena, valid until the next intern (which may move it).
  std::string_view at(uint32_t id) const { return entry(offsets_[id]); }
  uint32_t size() const { return static_cast<uint32_t>(offsets_.size()); }
  // Every string in id order, copied (tests and small dictionaries).
  std::vector<std::string> strings() const;
  // Bytes a lookup may read: the slot table and the arena (what the bench's memory floor is
  // measured on).
  size_t lookup_bytes() const { return slots_.size() * sizeof(Slot) + arena_.size(); }
  // a[0, n) == b[0, n) without a library call, as lookups compare ids: ids are some 10-100
  // bytes, and a memcmp call per lookup was 6% of a downloads parser thread's time.
  static bool same_bytes(const char* a, const char* b, std::size_t n);

 private:
  // Open addressing (C++17 has no heterogeneous unordered_map lookup, and a lookup must not
  // allocate: readers look up every record's id). A slot holds the id, 32 bits of the hash
  // and where the string lies in one contiguous arena, so a lookup touches two cache lines:
  // the slot, and the arena bytes (length prefix and characters) it points to.
  struct Slot {
    uint32_t id;
    uint32_t tag;
    uint64_t offset;  // of the u32 length prefix in arena_
  };
  size_t slot_of(std::string_view s, uint64_t h) const;
  std::string_view entry(uint64_t offset) const;
  bool arena_equals(uint64_t offset, std::string_view s) const;
  void grow();
  void rehash(size_t n_slots);
  // Both read at random by every lookup: huge pages when large.
  std::vector<Slot, HugePageAllocator<Slot>> slots_;  // size is a power of two; id kNone marks an empty slot
  // [u32 length][bytes] per id, in id order: the only copy of the strings (a std::string per id
  // as well was some 80 bytes an id, 170 MB at 2.2M ids, and a heap allocation per new id).
  std::vector<char, HugePageAllocator<char>> arena_;
  std::vector<uint64_t> offsets_;  // of each id's entry in arena_
};

}  // namespace ecostat
