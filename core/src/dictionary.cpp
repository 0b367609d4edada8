#include "ecostat/dictionary.hpp"

#include <algorithm>
#include <cstring>
#include <functional>

#include "ecostat/errors.hpp"
#include "ecostat/prefetch.hpp"
#include "ecostat/types.hpp"

namespace ecostat {

uint64_t Dictionary::hash(std::string_view s) { return std::hash<std::string_view>{}(s) * 0x9E3779B97F4A7C15ull; }
static uint32_t tag_of(uint64_t h) { return static_cast<uint32_t>(h >> 32); }

bool Dictionary::arena_equals(uint64_t offset, std::string_view s) const {
  uint32_t len;
  std::memcpy(&len, arena_.data() + offset, sizeof len);
  return len == s.size() && std::memcmp(arena_.data() + offset + sizeof len, s.data(), len) == 0;
}

size_t Dictionary::slot_of(std::string_view s, uint64_t h) const {
  const size_t mask = slots_.size() - 1;
  const uint32_t tag = tag_of(h);
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.id == kNone || (slot.tag == tag && arena_equals(slot.offset, s))) return i;
  }
}

void Dictionary::grow() { rehash(slots_.empty() ? 64 : slots_.size() * 2); }

void Dictionary::rehash(size_t n_slots) {
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(n_slots, Slot{kNone, 0, 0});
  const size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.id == kNone) continue;
    // the slot keeps only 32 bits of the hash: rehash from the string itself
    size_t i = hash(strings_[s.id]) & mask;
    while (slots_[i].id != kNone) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void Dictionary::reserve(size_t n) {
  size_t want = 64;
  while (want < 2 * n) want *= 2;  // load factor <= 1/2, as intern keeps it
  if (want > slots_.size()) rehash(want);
  strings_.reserve(n);
}

uint32_t Dictionary::intern(std::string_view s, uint64_t h) {
  if ((strings_.size() + 1) * 2 > slots_.size()) grow();  // load factor <= 1/2
  const size_t i = slot_of(s, h);
  if (slots_[i].id != kNone) return slots_[i].id;
  if (strings_.size() >= kNone) throw Error("dictionary overflow: more than 2^32-1 distinct ids");
  if (s.size() > UINT32_MAX) throw Error("dictionary: id longer than 4 GiB");
  const uint32_t id = static_cast<uint32_t>(strings_.size());
  const uint64_t offset = arena_.size();
  const uint32_t len = static_cast<uint32_t>(s.size());
  arena_.resize(offset + sizeof len + len);
  std::memcpy(arena_.data() + offset, &len, sizeof len);
  std::memcpy(arena_.data() + offset + sizeof len, s.data(), len);
  strings_.emplace_back(s);
  slots_[i] = Slot{id, tag_of(h), offset};
  return id;
}

uint32_t Dictionary::find(std::string_view s, uint64_t h) const {
  if (slots_.empty()) return kNone;
  return slots_[slot_of(s, h)].id;
}

void Dictionary::find_many(const std::string_view* ids, size_t n, uint32_t* out) const {
  if (slots_.empty()) {
    std::fill(out, out + n, kNone);
    return;
  }
  // Three stages, kAhead ids apart: hash + prefetch the home slot; read that slot and prefetch
  // the arena bytes it points to when its tag matches; probe (now mostly from cache).
  constexpr size_t kAhead = 8;
  constexpr size_t kRing = 2 * kAhead;  // hashes of the ids between the first and the last stage
  uint64_t hashes[kRing];
  const size_t mask = slots_.size() - 1;
  auto stage_hash = [&](size_t i) {
    const uint64_t h = hash(ids[i]);
    hashes[i % kRing] = h;
    prefetch_for_read(&slots_[h & mask]);
  };
  auto stage_slot = [&](size_t i) {
    const uint64_t h = hashes[i % kRing];
    const Slot& slot = slots_[h & mask];
    if (slot.id != kNone && slot.tag == tag_of(h)) {
      // Both ends of the entry (length word, then the bytes): an id of some 30 bytes crosses a
      // cache line about every other time.
      const char* entry = arena_.data() + slot.offset;
      prefetch_for_read(entry);
      prefetch_for_read(entry + sizeof(uint32_t) + ids[i].size() - 1);
    }
  };
  for (size_t i = 0; i < n && i < 2 * kAhead; ++i) stage_hash(i);
  for (size_t i = 0; i < n && i < kAhead; ++i) stage_slot(i);
  for (size_t i = 0; i < n; ++i) {
    out[i] = slots_[slot_of(ids[i], hashes[i % kRing])].id;  // before its ring entry is reused
    if (i + kAhead < n) stage_slot(i + kAhead);
    if (i + 2 * kAhead < n) stage_hash(i + 2 * kAhead);
  }
}

}  // namespace ecostat
