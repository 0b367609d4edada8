// Dictionary encoding: strings to dense u32 ids in order of first appearance.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
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
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> index_;
  std::vector<std::string> strings_;
};

}  // namespace ecostat
