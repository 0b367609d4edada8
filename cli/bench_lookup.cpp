// The dictionary-lookup stage of `ecostat bench` and its memory floor (bench_lookup.hpp).
#include "bench_lookup.hpp"

#include <algorithm>
#include <chrono>

#include "ecostat/host/generator.hpp"
#include "ecostat/huge_pages.hpp"
#include "ecostat/prefetch.hpp"

namespace ecostat::cli {

namespace {

// About as many 4 MiB-chunk rows as the chunk parser looks up at once (~40 bytes a row).
constexpr size_t kBlockLookups = 100000;

}  // namespace

double random_line_ns(size_t bytes, size_t reads, unsigned rounds, size_t ahead) {
  const size_t lines = std::max<size_t>(1, bytes / 64);
  // Allocated as the dictionary's tables are, and zero-filled: every page is backed before the timing.
  std::vector<char, HugePageAllocator<char>> table(lines * 64);
  std::vector<uint32_t> at(reads);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (auto& a : at) {  // xorshift64*: lines at random, repeats allowed
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    a = uint32_t(((x * 0x2545f4914f6cdd1dull) >> 32) % lines);
  }
  double best = 0;
  volatile uint64_t sink = 0;
  for (unsigned r = 0; r < rounds; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    uint64_t s = 0;
    for (size_t i = 0; i < reads; ++i) {
      if (i + ahead < reads) prefetch_for_read(table.data() + size_t(at[i + ahead]) * 64);
      s += uint8_t(table[size_t(at[i]) * 64]);
    }
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    sink = sink + s;
    const double per = ns / double(std::max<size_t>(1, reads));
    best = r == 0 ? per : std::min(best, per);
  }
  return best;
}

DictionaryLookupBench::DictionaryLookupBench(const host::Generator& gen, const std::vector<EventBatch>& batches,
                                             size_t max_lookups) {
  const uint32_t M = gen.models();
  ids_.reserve(M);
  for (uint32_t u = 0; u < M; ++u) ids_.intern(gen.repo_id(u));
  for (const EventBatch& b : batches) {
    for (size_t i = 0; i < b.size() && want_.size() < max_lookups; ++i) want_.push_back(b.unit[i]);
    if (want_.size() >= max_lookups) break;
  }
  std::vector<size_t> at(want_.size());
  for (size_t i = 0; i < want_.size(); ++i) {
    at[i] = text_.size();
    text_ += ids_.at(want_[i]);
  }
  views_.resize(want_.size());
  for (size_t i = 0; i < want_.size(); ++i) views_[i] = std::string_view(text_.data() + at[i], ids_.at(want_[i]).size());
  got_.assign(want_.size(), 0);
}

void DictionaryLookupBench::run() {
  for (size_t i = 0; i < views_.size(); i += kBlockLookups)
    ids_.find_many(views_.data() + i, std::min(kBlockLookups, views_.size() - i), got_.data() + i);
}

std::string DictionaryLookupBench::check() const {
  for (size_t i = 0; i < want_.size(); ++i)
    if (got_[i] != want_[i])
      return "lookup " + std::to_string(i) + " of '" + std::string(views_[i]) + "' gave " + std::to_string(got_[i]) +
             ", not unit " + std::to_string(want_[i]);
  return "";
}

}  // namespace ecostat::cli
