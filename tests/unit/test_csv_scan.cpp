// SeparatorScan gives exactly the positions of '\n', ',' and '"' a byte-by-byte scan gives, in
// order, for texts and windows of every length around its 64-byte blocks, and reads nothing
// outside [begin, end) (each text sits in a heap buffer of exactly its size: the sanitizer build
// reports any read past it).
#include <catch2/catch.hpp>

#include <memory>
#include <random>
#include <vector>

#include "csv_scan.hpp"

using ecostat::host::detail::SeparatorScan;

namespace {

std::vector<size_t> naive(const char* data, size_t begin, size_t end) {
  std::vector<size_t> at;
  for (size_t i = begin; i < end; ++i)
    if (data[i] == '\n' || data[i] == ',' || data[i] == '"') at.push_back(i);
  return at;
}

std::vector<size_t> scanned(const char* data, size_t begin, size_t end) {
  std::vector<size_t> at;
  SeparatorScan scan(data, begin, end);
  for (size_t p = scan.next(); p < end; p = scan.next()) at.push_back(p);
  CHECK(scan.next() == end);  // stays at the end once there
  return at;
}

}  // namespace

TEST_CASE("separator scan: the positions of a byte-by-byte scan, no read outside the window", "[csv][downloads]") {
  std::mt19937 rng(7);
  const char alphabet[] = {'a', 'b', ',', '\n', '"', '\r', ' ', '\0', '\xff', '\x80'};
  for (size_t size : {size_t(0), size_t(1), size_t(2), size_t(63), size_t(64), size_t(65), size_t(127), size_t(128),
                      size_t(129), size_t(200), size_t(1000)}) {
    for (int density = 0; density < 3; ++density) {
      auto buf = std::make_unique<char[]>(size + (size == 0));  // exactly the text's bytes
      for (size_t i = 0; i < size; ++i)
        buf[i] = density == 0 ? 'x' : alphabet[rng() % (density == 1 ? 10 : 5)];
      for (size_t begin : {size_t(0), size_t(1), size_t(63), size_t(64), size_t(65)}) {
        for (size_t cut : {size_t(0), size_t(1), size_t(64)}) {
          if (begin > size || cut > size - begin) continue;
          const size_t end = size - cut;
          INFO("size " << size << ", window [" << begin << ", " << end << "), density " << density);
          REQUIRE(scanned(buf.get(), begin, end) == naive(buf.get(), begin, end));
        }
      }
    }
  }
  // An empty or reversed window finds nothing.
  const char text[] = "a,b\n";
  CHECK(SeparatorScan(text, 2, 2).next() == 2);
  CHECK(SeparatorScan(text, 3, 1).next() == 1);
}
