// Internal pieces of the generator (host/src/gen): counter-based randomness, the samplers, the
// per-model tables and the parallel helpers. Not a public header.
#pragma once
#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ecostat/host/generator.hpp"
#include "ecostat/types.hpp"

namespace ecostat::host::gen {

// SplitMix64's finaliser: a bijection on u64 with full avalanche.
inline uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
inline double uniform(uint64_t h) { return double(h >> 11) * 0x1.0p-53; }  // [0, 1)

enum Stream {
  kStreamRecordRank = 0,
  kStreamRecordRest,
  kStreamPerm,
  kStreamAuthor,
  kStreamAttr,
  kStreamRelation,
  kStreamParent,
  kStreamParent2,
  kStreamCreated,
  kStreamName,
  kStreamOrg,
  kStreams
};
constexpr int kLevels = 5;  // roots + derivatives at depth 1..4

// x -> (a x + b) mod n, a bijection on [0, n) (gcd(a, n) = 1): spreads ranks over ids.
struct Level {
  uint64_t n = 1, a = 1, b = 0;
  uint32_t apply(uint32_t x) const { return uint32_t((a * x + b) % n); }
};

inline Level make_perm(uint32_t n, uint64_t h) {
  Level p;
  p.n = n ? n : 1;
  if (p.n <= 2) return p;
  uint64_t a = (h % (p.n - 1)) + 1;
  auto gcd = [](uint64_t x, uint64_t y) {
    while (y) {
      const uint64_t t = x % y;
      x = y;
      y = t;
    }
    return x;
  };
  while (gcd(a, p.n) != 1) a = a + 1 < p.n ? a + 1 : 1;
  p.a = a;
  p.b = mix64(h) % p.n;
  return p;
}

// Continuous power law on [1, n + 1) with density ~ x^-s, floored: a rank in [0, n).
inline uint32_t zipf(uint32_t n, double s, double u) {
  if (n <= 1) return 0;
  double x;
  if (std::fabs(s - 1) < 1e-9) x = std::exp(u * std::log(double(n) + 1));
  else {
    const double a = 1 - s;
    x = std::pow(1 + u * (std::pow(double(n) + 1, a) - 1), 1 / a);
  }
  const double k = std::floor(x) - 1;
  return k <= 0 ? 0 : k >= double(n - 1) ? n - 1 : uint32_t(k);
}

inline std::string day_string(int32_t day) { return iso_date(day); }

// Per popularity rank (rank 0 = most downloaded): the unit, its record window and mean count.
struct RankInfo {
  uint32_t unit;
  int32_t lo;     // first day of its records, relative to first_day
  uint32_t span;  // days in its window
  float mu;       // mean count per record
};

struct AttrRow {
  uint32_t author = 0, org = 0, country = 0, region = 0, type = 0;
};

struct Intern {
  std::vector<std::string> names;
  std::unordered_map<std::string, uint32_t> ids;
  uint32_t id(const std::string& s) {
    auto it = ids.find(s);
    if (it != ids.end()) return it->second;
    ids.emplace(s, uint32_t(names.size()));
    names.push_back(s);
    return uint32_t(names.size() - 1);
  }
};

}  // namespace ecostat::host::gen

namespace ecostat::host {

struct Generator::Impl {
  uint64_t key[gen::kStreams];
  int32_t first_day = 0, last_day = 0, hub_start = 0;
  double inv_skew = 4;
  int inv_skew_int = 4;
  double total_scale = 0;
  std::vector<Month> day_month;  // per day of the window
  std::vector<char> day_label;   // 10 chars per day
  uint32_t level_start[gen::kLevels + 1] = {0};
  uint32_t level_size[gen::kLevels] = {0};
  gen::Level level_perm[gen::kLevels];
  gen::Level author_perm, download_perm;
  std::vector<uint32_t> parent0, parent1, root, author;
  std::vector<int32_t> created;
  std::vector<uint8_t> relation, family_tag, size_class, pipeline, library;
  std::vector<gen::RankInfo> rank;
  std::vector<uint32_t> unit_rank;
  std::vector<std::string> handles;
  std::vector<char> names;
  std::vector<uint64_t> name_off;
  size_t max_name = 0;
  std::vector<uint32_t> attributed_of_author;  // author -> row in attr_rows, or kNone
  std::vector<gen::AttrRow> attr_rows;
  std::vector<std::string> org_names, country_names, region_names, type_names;
  std::vector<uint32_t> author_dense, author_order;  // engine's author ids (first appearance)

  uint64_t rnd(int stream, uint64_t i) const { return gen::mix64(key[stream] ^ (i * 0xD1B54A32D192ED03ull)); }

  Generator::Record record(uint64_t i, uint32_t M) const {
    const uint64_t h1 = rnd(gen::kStreamRecordRank, i), h2 = rnd(gen::kStreamRecordRest, i);
    double u = gen::uniform(h1);
    double x;
    switch (inv_skew_int) {
      case 1: x = u; break;
      case 2: x = u * u; break;
      case 3: x = u * u * u; break;
      case 4: { const double q = u * u; x = q * q; break; }
      default: x = inv_skew_int ? std::pow(u, double(inv_skew_int)) : std::pow(u, inv_skew); break;
    }
    uint64_t k = uint64_t(x * M);
    if (k >= M) k = M - 1;
    const gen::RankInfo& r = rank[k];
    const int32_t day = first_day + r.lo + int32_t(((h2 & 0xffffffffull) * r.span) >> 32);
    const double noise = 0.5 + double((h2 >> 32) & 0xffff) * (1.0 / 65536);
    const double c = double(r.mu) * noise + double(h2 >> 48) * (1.0 / 65536);
    const uint32_t count = c < 1 ? 1u : c >= 4294967295.0 ? 0xffffffffu : uint32_t(c);
    return {r.unit, day, count};
  }
  const char* name(uint32_t u, size_t* len) const {
    *len = name_off[u + 1] - name_off[u];
    return &names[name_off[u]];
  }
};

namespace gen {

// fn(begin, end) over [0, n) split in `threads` contiguous parts (inline when threads == 1).
inline void parallel_for(uint64_t n, unsigned threads, const std::function<void(uint64_t, uint64_t)>& fn) {
  if (n == 0) return;
  if (threads <= 1 || n < 4096) {
    fn(0, n);
    return;
  }
  std::vector<std::thread> ts;
  std::exception_ptr err;
  std::mutex m;
  for (unsigned t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      try {
        fn(n * t / threads, n * (t + 1) / threads);
      } catch (...) {
        std::lock_guard<std::mutex> lk(m);
        if (!err) err = std::current_exception();
      }
    });
  for (auto& t : ts) t.join();
  if (err) std::rethrow_exception(err);
}

// Chunks 0..n-1 produced by `threads` workers into slots (chunk c uses slot c % slots) and
// consumed on the calling thread in chunk order: parallel formatting, ordered output.
inline void ordered_parallel(uint64_t n_chunks, unsigned threads, const std::function<void(uint64_t, size_t)>& produce,
                             const std::function<void(uint64_t, size_t)>& consume, size_t slots) {
  if (n_chunks == 0) return;
  if (threads <= 1 || n_chunks == 1) {
    for (uint64_t c = 0; c < n_chunks; ++c) {
      produce(c, c % slots);
      consume(c, c % slots);
    }
    return;
  }
  std::mutex m;
  std::condition_variable cv;
  std::vector<int64_t> ready(slots, -1);
  uint64_t next = 0, consumed = 0;
  bool abort = false;
  std::exception_ptr err;
  auto worker = [&] {
    for (;;) {
      uint64_t c;
      {
        std::unique_lock<std::mutex> lk(m);
        cv.wait(lk, [&] { return abort || next >= n_chunks || next < consumed + slots; });
        if (abort || next >= n_chunks) return;
        c = next++;
      }
      try {
        produce(c, c % slots);
      } catch (...) {
        std::lock_guard<std::mutex> lk(m);
        if (!err) err = std::current_exception();
        abort = true;
        cv.notify_all();
        return;
      }
      std::lock_guard<std::mutex> lk(m);
      ready[c % slots] = int64_t(c);
      cv.notify_all();
    }
  };
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < threads; ++t) ts.emplace_back(worker);
  try {
    for (uint64_t c = 0; c < n_chunks; ++c) {
      {
        std::unique_lock<std::mutex> lk(m);
        cv.wait(lk, [&] { return abort || ready[c % slots] == int64_t(c); });
        if (abort) break;
      }
      consume(c, c % slots);
      std::lock_guard<std::mutex> lk(m);
      ready[c % slots] = -1;
      ++consumed;
      cv.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lk(m);
    if (!err) err = std::current_exception();
    abort = true;
    cv.notify_all();
  }
  for (auto& t : ts) t.join();
  if (err) std::rethrow_exception(err);
}

}  // namespace gen
}  // namespace ecostat::host
