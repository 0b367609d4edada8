#include "ecostat/dictionary.hpp"

#include <algorithm>
#include <cstring>

#include "ecostat/errors.hpp"
#include "ecostat/prefetch.hpp"
#include "ecostat/types.hpp"

namespace ecostat {

namespace {

uint64_t load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint64_t load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The 128-bit product of a and b folded to 64 bits: every input bit reaches every output bit.
uint64_t fold_multiply(uint64_t a, uint64_t b) {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

}  // namespace

// Every record's id is hashed, so the hash is built for ids of 10-100 bytes: 16 bytes per
// multiply, the last block read overlapping the one before instead of byte by byte (the way
// wyhash reads), then a final fold with the length. The tables index by the low bits and tag
// by the high ones: both come out of the folds mixed.
uint64_t Dictionary::hash(std::string_view s) {
  constexpr uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull, k2 = 0x8ebc6af09c88c6e3ull;
  const char* p = s.data();
  const size_t n = s.size();
  uint64_t a = 0, b = 0, h = k0 ^ n;
  if (n <= 16) {
    if (n >= 8) {
      a = load64(p), b = load64(p + n - 8);
    } else if (n >= 4) {
      a = load32(p), b = load32(p + n - 4);
    } else if (n > 0) {
      a = uint64_t(uint8_t(p[0])) << 16 | uint64_t(uint8_t(p[n / 2])) << 8 | uint8_t(p[n - 1]);
    }
  } else {
    size_t i = 0;
    for (; n - i > 16; i += 16) h = fold_multiply(load64(p + i) ^ k1, load64(p + i + 8) ^ h);
    a = load64(p + n - 16), b = load64(p + n - 8);
  }
  return fold_multiply(k1 ^ n, fold_multiply(a ^ k1, b ^ h) ^ k2);
}
static uint32_t tag_of(uint64_t h) { return static_cast<uint32_t>(h >> 32); }

// Words of 8 bytes, the last one overlapping the one before (dictionary.hpp says why).
bool Dictionary::same_bytes(const char* a, const char* b, size_t n) {
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8)
      if (load64(a + i) != load64(b + i)) return false;
    return load64(a + n - 8) == load64(b + n - 8);
  }
  if (n >= 4) return load32(a) == load32(b) && load32(a + n - 4) == load32(b + n - 4);
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

std::string_view Dictionary::entry(uint64_t offset) const {
  uint32_t len;
  std::memcpy(&len, arena_.data() + offset, sizeof len);
  return std::string_view(arena_.data() + offset + sizeof len, len);
}

std::vector<std::string> Dictionary::strings() const {
  std::vector<std::string> out;
  out.reserve(offsets_.size());
  for (uint64_t offset : offsets_) out.emplace_back(entry(offset));
  return out;
}

bool Dictionary::arena_equals(uint64_t offset, std::string_view s) const {
  uint32_t len;
  std::memcpy(&len, arena_.data() + offset, sizeof len);
  return len == s.size() && same_bytes(arena_.data() + offset + sizeof len, s.data(), len);
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
  decltype(slots_) old;
  old.swap(slots_);
  slots_.assign(n_slots, Slot{kNone, 0, 0});
  const size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.id == kNone) continue;
    // the slot keeps only 32 bits of the hash: rehash from the string itself
    size_t i = hash(entry(s.offset)) & mask;
    while (slots_[i].id != kNone) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void Dictionary::reserve(size_t n) {
  size_t want = 64;
  while (want < 2 * n) want *= 2;  // load factor <= 1/2, as intern keeps it
  if (want > slots_.size()) rehash(want);
  offsets_.reserve(n);
  // Room for the bytes too (ids of the Hub are some 30 bytes): a large arena is mapped, so
  // room not used costs address space only, and growth would copy it all.
  if (n > offsets_.size()) arena_.reserve(arena_.size() + (n - offsets_.size()) * 40);
}

uint32_t Dictionary::intern(std::string_view s, uint64_t h, bool* added) {
  if ((offsets_.size() + 1) * 2 > slots_.size()) grow();  // load factor <= 1/2
  const size_t i = slot_of(s, h);
  *added = slots_[i].id == kNone;
  if (!*added) return slots_[i].id;
  if (offsets_.size() >= kNone) throw Error("dictionary overflow: more than 2^32-1 distinct ids");
  if (s.size() > UINT32_MAX) throw Error("dictionary: id longer than 4 GiB");
  const uint32_t id = static_cast<uint32_t>(offsets_.size());
  const uint64_t offset = arena_.size();
  const uint32_t len = static_cast<uint32_t>(s.size());
  arena_.resize(offset + sizeof len + len);
  std::memcpy(arena_.data() + offset, &len, sizeof len);
  std::memcpy(arena_.data() + offset + sizeof len, s.data(), len);
  offsets_.push_back(offset);
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
