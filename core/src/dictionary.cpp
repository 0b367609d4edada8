#include "ecostat/dictionary.hpp"

#include <functional>

#include "ecostat/errors.hpp"
#include "ecostat/types.hpp"

namespace ecostat {

static uint64_t hash_of(std::string_view s) { return std::hash<std::string_view>{}(s) * 0x9E3779B97F4A7C15ull; }

size_t Dictionary::slot_of(std::string_view s, uint64_t h) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = (h >> 20) & mask;; i = (i + 1) & mask) {
    const uint32_t id = slots_[i];
    if (id == kNone || (hashes_[id] == h && strings_[id] == s)) return i;
  }
}

void Dictionary::grow() {
  std::vector<uint32_t> old;
  old.swap(slots_);
  slots_.assign(old.empty() ? 64 : old.size() * 2, kNone);
  const size_t mask = slots_.size() - 1;
  for (uint32_t id : old) {
    if (id == kNone) continue;
    size_t i = (hashes_[id] >> 20) & mask;
    while (slots_[i] != kNone) i = (i + 1) & mask;
    slots_[i] = id;
  }
}

uint32_t Dictionary::intern(std::string_view s) {
  if ((strings_.size() + 1) * 2 > slots_.size()) grow();  // load factor <= 1/2
  const uint64_t h = hash_of(s);
  const size_t i = slot_of(s, h);
  if (slots_[i] != kNone) return slots_[i];
  if (strings_.size() >= kNone) throw Error("dictionary overflow: more than 2^32-1 distinct ids");
  const uint32_t id = static_cast<uint32_t>(strings_.size());
  strings_.emplace_back(s);
  hashes_.push_back(h);
  slots_[i] = id;
  return id;
}

uint32_t Dictionary::find(std::string_view s) const {
  if (slots_.empty()) return kNone;
  return slots_[slot_of(s, hash_of(s))];
}

}  // namespace ecostat
