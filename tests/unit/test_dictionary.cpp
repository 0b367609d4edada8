// Dictionary::find_many answers exactly as find, for any batch length (the prefetch pipeline's
// edges: fewer ids than its depth, lengths around it) and for absent ids; the hash.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "ecostat/dictionary.hpp"
#include "ecostat/types.hpp"

using ecostat::Dictionary;

TEST_CASE("dictionary: find_many agrees with find", "[dictionary]") {
  Dictionary d;
  std::vector<std::string> present, absent;
  for (int i = 0; i < 5000; ++i) present.push_back("org" + std::to_string(i % 97) + "/model-" + std::to_string(i));
  for (const auto& s : present) d.intern(s);
  for (int i = 0; i < 300; ++i) absent.push_back("nobody/" + std::to_string(i));
  std::vector<std::string_view> ids;
  for (size_t i = 0; i < 4000; ++i) ids.push_back(i % 7 == 3 ? std::string_view(absent[i % absent.size()]) : std::string_view(present[(i * 7919) % present.size()]));
  for (size_t n : {size_t(0), size_t(1), size_t(7), size_t(8), size_t(9), size_t(15), size_t(16), size_t(17), size_t(33), ids.size()}) {
    std::vector<uint32_t> got(n + 1, 12345);
    d.find_many(ids.data(), n, got.data());
    for (size_t i = 0; i < n; ++i) REQUIRE(got[i] == d.find(ids[i]));
    CHECK(got[n] == 12345u);  // nothing written past n
  }
  Dictionary empty;
  uint32_t out[2] = {0, 0};
  empty.find_many(ids.data(), 2, out);
  CHECK(out[0] == ecostat::kNone);
  CHECK(out[1] == ecostat::kNone);
}

TEST_CASE("dictionary: ids are compared byte for byte at every length and place", "[dictionary]") {
  std::string a, b;
  for (size_t n = 0; n <= 70; ++n) {
    a.assign(n, 'x');
    for (size_t i = 0; i < n; ++i) a[i] = char('a' + (i * 7) % 26);
    CHECK(Dictionary::same_bytes(a.data(), a.data(), n));
    b = a;
    CHECK(Dictionary::same_bytes(a.data(), b.data(), n));
    for (size_t i = 0; i < n; ++i) {  // one byte differs, at every place
      b = a;
      b[i] = char(b[i] ^ 0x20);
      INFO("length " << n << ", byte " << i);
      CHECK_FALSE(Dictionary::same_bytes(a.data(), b.data(), n));
    }
  }
  // Through the dictionary: ids of every length are found, and ids that differ in one byte are not the same id.
  Dictionary d;
  std::vector<std::string> ids;
  for (size_t n = 1; n <= 70; ++n) {
    ids.push_back(std::string(n, 'q'));
    ids.push_back(std::string(n - 1, 'q') + "r");
  }
  for (const auto& s : ids) d.intern(s);
  for (size_t i = 0; i < ids.size(); ++i) CHECK(d.find(ids[i]) == i);
  CHECK(d.size() == ids.size());
}

// The repository readers hash ids on their parsing threads and reserve room from the input's
// size: ids must not change with either, and reserving must keep what was interned before.
TEST_CASE("dictionary: precomputed hashes and reserve keep the same ids", "[dictionary]") {
  Dictionary plain, hashed;
  std::vector<std::string> keys;
  for (int i = 0; i < 3000; ++i) keys.push_back("org" + std::to_string(i % 2500 % 31) + "/m-" + std::to_string(i % 2500));
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i == 100) hashed.reserve(10);        // smaller than held: nothing to do
    if (i == 200) hashed.reserve(100000);    // a rehash with ids already in it
    const uint64_t h = Dictionary::hash(keys[i]);
    hashed.prefetch(h);
    REQUIRE(hashed.intern(keys[i], h) == plain.intern(keys[i]));
  }
  REQUIRE(hashed.size() == plain.size());
  CHECK(hashed.size() == 2500u);
  for (uint32_t id = 0; id < plain.size(); ++id) {
    CHECK(hashed.at(id) == plain.at(id));
    CHECK(hashed.find(plain.at(id), Dictionary::hash(plain.at(id))) == id);
    CHECK(hashed.find(plain.at(id)) == id);
  }
  CHECK(hashed.find("absent/x") == ecostat::kNone);
  Dictionary empty;
  empty.prefetch(Dictionary::hash("x"));  // no slots yet: nothing to fetch
  CHECK(empty.find("x", Dictionary::hash("x")) == ecostat::kNone);
  empty.reserve(5);
  CHECK(empty.intern("x") == 0u);
}

// The hash reads a string in overlapping words: every byte of every length must count, and
// the low bits (the slot) and high bits (the tag) must spread like random ones.
TEST_CASE("dictionary: the hash depends on every byte and spreads ids", "[dictionary]") {
  for (size_t n = 0; n <= 70; ++n) {
    const std::string base(n, 'a');
    std::set<uint64_t> seen{Dictionary::hash(base)};
    for (size_t i = 0; i < n; ++i) {
      std::string s = base;
      s[i] = 'b';
      INFO("length " << n << ", byte " << i);
      CHECK(seen.insert(Dictionary::hash(s)).second);
    }
    CHECK(Dictionary::hash(base) != Dictionary::hash(base + '\0'));  // the length counts too
  }
  constexpr size_t kIds = 100000, kSlots = size_t(1) << 18;
  std::vector<uint8_t> slot(kSlots), tag(kSlots);
  size_t slots = 0, tags = 0;
  for (size_t i = 0; i < kIds; ++i) {
    const uint64_t h = Dictionary::hash("org" + std::to_string(i % 97) + "/model-" + std::to_string(i));
    slots += slot[h & (kSlots - 1)]++ == 0;
    tags += tag[h >> 46]++ == 0;
  }
  const double random = double(kSlots) * (1 - std::exp(-double(kIds) / double(kSlots)));  // about 85,000
  CHECK(double(slots) > 0.98 * random);
  CHECK(double(tags) > 0.98 * random);
}

// Slots and bytes of a large dictionary are mapped blocks (HugePageAllocator, from 4 MiB):
// growing through that size, copying and reserving must keep every id; ASan checks that each
// block goes back the way it came.
TEST_CASE("dictionary: a dictionary grown past the mapped-block size keeps its ids", "[dictionary]") {
  Dictionary grown;
  std::vector<std::string> keys;
  for (int i = 0; i < 300000; ++i) keys.push_back("org" + std::to_string(i % 101) + "/model-" + std::to_string(i));
  for (size_t i = 0; i < keys.size(); ++i) REQUIRE(grown.intern(keys[i]) == i);  // slots 1M x 16 B: mapped
  const Dictionary copy = grown;
  Dictionary reserved;
  reserved.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); i += 3) REQUIRE(reserved.intern(keys[i]) == i / 3);
  for (size_t i = 0; i < keys.size(); i += 997) {
    CHECK(grown.find(keys[i]) == i);
    CHECK(copy.find(keys[i]) == i);
    CHECK(copy.at(uint32_t(i)) == keys[i]);
    CHECK(reserved.find(keys[i]) == (i % 3 == 0 ? uint32_t(i / 3) : ecostat::kNone));
  }
  std::vector<std::string_view> ids(keys.begin(), keys.end());
  std::vector<uint32_t> got(ids.size());
  copy.find_many(ids.data(), ids.size(), got.data());
  for (size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == i);
  CHECK((copy.strings() == keys));  // every id's bytes, in id order, from the one arena
}

TEST_CASE("dictionary: at() gives each id's exact bytes, empty and with NUL bytes among them", "[dictionary]") {
  Dictionary d;
  const std::vector<std::string> keys = {"", std::string("a\0b", 3), std::string(1, '\0'), "x", std::string(70000, 'q')};
  for (size_t i = 0; i < keys.size(); ++i) REQUIRE(d.intern(keys[i]) == i);
  for (size_t i = 0; i < keys.size(); ++i) {
    CHECK(d.at(uint32_t(i)).size() == keys[i].size());
    CHECK(d.at(uint32_t(i)) == keys[i]);
  }
  CHECK((d.strings() == keys));
}

TEST_CASE("HugePageAllocator: small and mapped blocks hold what is written", "[dictionary]") {
  for (size_t n : {size_t(10), (ecostat::kHugePagesFromBytes / sizeof(uint64_t)) - 1,
                   ecostat::kHugePagesFromBytes / sizeof(uint64_t), size_t(3) << 20}) {
    INFO(n << " words");
    std::vector<uint64_t, ecostat::HugePageAllocator<uint64_t>> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = i * 3;
    v.push_back(7);  // reallocates: from a small block to a mapped one at the edge
    auto w = v;
    REQUIRE(w.size() == n + 1);
    CHECK(w[n] == 7u);
    CHECK(w[n / 2] == (n / 2) * 3);
    CHECK(v == w);
  }
}

TEST_CASE("dictionary: lookup_bytes counts the slots and the arena a lookup reads", "[dictionary]") {
  Dictionary d;
  CHECK(d.lookup_bytes() == 0);
  size_t text = 0;
  const size_t n = 5000;
  for (size_t i = 0; i < n; ++i) {
    const std::string id = "org" + std::to_string(i % 7) + "/m-" + std::to_string(i);
    text += id.size();
    d.intern(id);
  }
  // The arena holds a u32 length and the bytes of every id; the slots (16 bytes each, a power of
  // two, at a load of at most one half) at least 2n of them, at most 8n.
  const size_t arena = text + 4 * n;
  CHECK(d.lookup_bytes() >= arena + 16 * 2 * n);
  CHECK(d.lookup_bytes() <= arena + 16 * 8 * n);
  const size_t before = d.lookup_bytes();
  d.reserve(100000);  // more slots, the same arena
  CHECK(d.lookup_bytes() >= arena + 16 * 2 * 100000);
  CHECK(d.lookup_bytes() > before);
}
