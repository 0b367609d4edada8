// Dictionary encoding: strings to dense u32 ids in order of first appearance.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ecostat {

class Dictionary {
 public:
  // Returns the id of s, adding it when new. Ids are dense: 0, 1, 2, ...
  uint32_t intern(std::string_view s);
  // Returns the id of s or kNone (0xffffffff) when absent.
  uint32_t find(std::string_view s) const;
  const std::string& at(uint32_t id) const { return strings_[id]; }
  uint32_t size() const { return static_cast<uint32_t>(strings_.size()); }
  const std::vector<std::string>& strings() const { return strings_; }

 private:
  // Open addressing over ids (C++17 has no heterogeneous unordered_map lookup, and a lookup
  // must not allocate: readers look up every record's id).
  size_t slot_of(std::string_view s, uint64_t h) const;
  void grow();
  std::vector<uint32_t> slots_;   // id, or kNone for empty; size is a power of two
  std::vector<uint64_t> hashes_;  // per id, so growing does not rehash strings
  std::vector<std::string> strings_;
};

}  // namespace ecostat
