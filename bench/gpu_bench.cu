// ecostat GPU benchmark: the CUDA backend's pieces on device-resident data (group-by, share
// tables, concentration, lineage), streaming from host memory (pinned and pageable), and the
// card's ceilings, all in one run. Data are generated on the device with the anchors'
// distribution (shared/anchors/gpu_anchors.cu: 2^30 events, 2^21 skewed keys, counts 1..64,
// months 0..47). Every case checks its result exactly (against plain atomics on the device,
// or the CPU backend, or a closed form) and prints one JSON object per line:
//   {"what":..., "ms":..., "Gev_s":..., "GBps":..., "exact":true, "device":...}
// Usage: ecostat_gpu_bench [--quick] [--reps R] [--only a,b,...] [--check-large]
//   --quick        small sizes (seconds; for sanitizers and smoke tests)
//   --only         cases: ceilings,groupby,share,stream,concentration,lineage
//   --check-large  also check the 2^25-node lineage against the CPU backend (slow)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "device_config.hpp"
#include "common/device_api.hpp"
#include "ecostat/backend.hpp"
#include "ecostat/concentration.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/lineage.hpp"

using namespace ecostat;
using namespace ecostat::ECOSTAT_DEV_NS;  // cudadev (or the CPU emulator's emudev)

namespace {

// ---- options and output ---------------------------------------------------------------------
struct Options {
  bool quick = false, check_large = false;
  int reps = 5;
  std::vector<std::string> only;
  bool want(const std::string& c) const { return only.empty() || std::find(only.begin(), only.end(), c) != only.end(); }
};
std::string g_device;

std::string jnum(double v, int prec = 3) {
  if (!std::isfinite(v)) return "null";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}
std::string jstr(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}
// One JSON line: what, then the given fields, then device.
void emit(const std::string& what, const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string s = "{\"what\":" + jstr(what);
  for (const auto& f : fields) s += ",\"" + f.first + "\":" + f.second;
  s += ",\"device\":" + jstr(g_device) + "}";
  std::printf("%s\n", s.c_str());
  std::fflush(stdout);
}
void emit_error(const std::string& what, const std::string& msg) {
  emit(what, {{"error", jstr(msg)}, {"exact", "false"}});
}

#define CK(x) ECOSTAT_CHECK(x)
#define LAUNCH_CK(what) ECOSTAT_CHECK_LAUNCH(what)

// ---- timing ---------------------------------------------------------------------------------
struct Timer {
  Event a{true}, b{true};
  // Median ms of reps runs of f on stream s (after one warm-up run).
  float median_ms(stream_t s, int reps, const std::function<void()>& f, bool warm = true) {
    if (warm) {
      f();
      CK(stream_synchronize(s));
    }
    std::vector<float> t;
    for (int r = 0; r < reps; ++r) {
      a.record(s);
      f();
      b.record(s);
      b.sync();
      float ms = 0;
      CK(event_elapsed_ms(&ms, a.get(), b.get()));
      t.push_back(ms);
    }
    CK(get_last_error());
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
  }
};
double wall_ms(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// ---- data generation (the anchors' distribution) --------------------------------------------
__device__ __forceinline__ uint32_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return (uint32_t)x;
}
// P(key < x) = (x/M)^(1/4), scrambled by an odd multiplier (M a power of two).
__device__ __forceinline__ uint32_t skew_key(uint64_t i, uint32_t M, uint64_t seed) {
  float u = (mix(seed ^ (i * 3 + 0)) + 0.5f) * 2.3283064e-10f;
  uint32_t k = min((uint32_t)(M * (u * u * u * u)), M - 1);
  return (k * 2654435761u) & (M - 1);
}
__device__ __forceinline__ uint32_t gen_count(uint64_t i, uint64_t seed) { return 1 + (mix(seed ^ (i * 3 + 1)) % 64); }
__device__ __forceinline__ uint32_t gen_month(uint64_t i, uint64_t seed) { return mix(seed ^ (i * 3 + 2)) % 48; }

__global__ void gen_columns(uint32_t* key, uint32_t* cnt, size_t n, uint32_t M, uint64_t seed) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    key[i] = skew_key(i, M, seed);
    cnt[i] = gen_count(i, seed);
  }
}
// Events [first, first + n) of the stream, packed narrow (wire.hpp) at data.
// padded = wire::pad_events(n): the padding gets zero counts.
__global__ void gen_wire_narrow(uint8_t* data, size_t count_off, size_t month_off, uint32_t n, uint32_t padded,
                                uint64_t first, uint32_t M, uint64_t seed) {
  uint32_t* u = reinterpret_cast<uint32_t*>(data);
  uint16_t* c = reinterpret_cast<uint16_t*>(data + count_off);
  uint8_t* m = data + month_off;
  for (size_t j = blockIdx.x * (size_t)blockDim.x + threadIdx.x; j < padded; j += (size_t)gridDim.x * blockDim.x) {
    if (j < n) {
      const uint64_t i = first + j;
      u[j] = skew_key(i, M, seed);
      c[j] = (uint16_t)gen_count(i, seed);
      m[j] = (uint8_t)gen_month(i, seed);
    } else {
      u[j] = 0, c[j] = 0, m[j] = 0;
    }
  }
}

// ---- references: one plain global atomic per event -----------------------------------------
__global__ void ref_groupby(const uint32_t* key, const uint32_t* cnt, size_t n, unsigned long long* out) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    atomicAdd(out + key[i], (unsigned long long)cnt[i]);
}
// out[(month) * M + unit] += count, from a narrow wire chunk (months relative to the chunk base).
__global__ void ref_unit_month(const uint8_t* data, size_t count_off, size_t month_off, uint32_t n, uint32_t M,
                               unsigned long long* out) {
  const uint32_t* u = reinterpret_cast<const uint32_t*>(data);
  const uint16_t* c = reinterpret_cast<const uint16_t*>(data + count_off);
  const uint8_t* m = data + month_off;
  for (size_t j = blockIdx.x * (size_t)blockDim.x + threadIdx.x; j < n; j += (size_t)gridDim.x * blockDim.x)
    atomicAdd(out + (size_t)m[j] * M + u[j], (unsigned long long)c[j]);
}
__global__ void count_mismatch(const uint64_t* a, const uint64_t* b, size_t n, uint64_t scale_b,
                               unsigned long long* bad) {
  unsigned long long local = 0;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    local += a[i] != b[i] * scale_b;
  if (local) atomicAdd(bad, local);
}
__global__ void tile_values(const uint64_t* src, size_t m, uint64_t* dst, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    dst[i] = src[i % m];
}
// Group maps of the share-tables job: unit -> organisation (skewed), organisation -> country,
// organisation -> type, unit -> family.
__global__ void gen_maps(uint32_t M, uint32_t n_org, uint32_t n_country, uint32_t n_type, uint32_t n_family,
                         uint32_t* org, uint32_t* country, uint32_t* type, uint32_t* family) {
  for (size_t u = blockIdx.x * (size_t)blockDim.x + threadIdx.x; u < M; u += (size_t)gridDim.x * blockDim.x) {
    float r = (mix(0xabcULL ^ u) + 0.5f) * 2.3283064e-10f;
    const uint32_t o = min((uint32_t)(n_org * r * r), n_org - 1);
    org[u] = o;
    country[u] = mix(0x5eedULL ^ o) % n_country;
    type[u] = mix(0x7e11ULL ^ o) % n_type;
    family[u] = mix(0xfa3ULL ^ (u >> 3)) % n_family;
  }
}
// Lineage: node i has a skewed earlier primary parent (or none, 1/8), with probability 1/16 a
// second parent and 1/64 a third (merges), now and then the primary parent again (a repeat),
// and a relation per edge. deg[i] first, then the edges at their offsets.
__device__ __forceinline__ uint32_t older(uint32_t i, uint64_t salt) {
  float u = (mix(salt ^ i) + 0.5f) * 2.3283064e-10f;
  return min((uint32_t)(i * (u * u)), i - 1);
}
__device__ __forceinline__ uint32_t degree(uint32_t i) {
  const uint32_t r = mix(0x1111ULL ^ i);
  if (i == 0 || (r & 7) == 0) return 0;
  uint32_t d = 1;
  if ((r >> 3) % 16 == 0) d += 1 + ((r >> 8) % 4 == 0);  // merge of 2 or 3
  if ((r >> 12) % 128 == 0) d += 1;                       // a repeated parent
  return d;
}
__global__ void gen_degrees(uint32_t n, uint32_t* deg) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    deg[i] = degree((uint32_t)i);
}
__global__ void gen_edges(uint32_t n, const uint32_t* off, uint32_t* par, uint8_t* rel) {
  for (size_t ii = blockIdx.x * (size_t)blockDim.x + threadIdx.x; ii < n; ii += (size_t)gridDim.x * blockDim.x) {
    const uint32_t i = (uint32_t)ii, b = off[i], d = off[i + 1] - b;
    if (d == 0) continue;
    const uint32_t r = mix(0x1111ULL ^ i);
    const bool repeat = (r >> 12) % 128 == 0;
    for (uint32_t k = 0; k < d; ++k) {
      uint32_t p = older(i, 0x2222ULL + 977 * k);
      if (repeat && k == d - 1) p = par[b];
      par[b + k] = p;
      rel[b + k] = (uint8_t)(mix(0x3333ULL ^ (uint64_t(i) * 4 + k)) % kRelationCount);
    }
  }
}

int grid_for(size_t n, int block = 256) {
  static int sms = 0;
  if (!sms) {
    DeviceProps p;
    CK(get_device_props(0, &p));
    sms = p.sm_count;
  }
  return (int)std::max<size_t>(1, std::min<size_t>((n + block - 1) / block, (size_t)sms * 16));
}

uint64_t mismatches(const uint64_t* a, const uint64_t* b, size_t n, uint64_t scale_b, stream_t s) {
  DeviceArray<uint64_t> bad(1);
  CK(memset_async(bad.data(), 0, 8, s));
  count_mismatch<<<grid_for(n), 256, 0, s>>>(a, b, n, scale_b, reinterpret_cast<unsigned long long*>(bad.data()));
  LAUNCH_CK("count_mismatch");
  uint64_t h = 0;
  CK(memcpy_d2h_async(&h, bad.data(), 8, s));
  CK(stream_synchronize(s));
  return h;
}

std::string b2s(bool b) { return b ? "true" : "false"; }

// ---- cases ----------------------------------------------------------------------------------
struct Ceilings {
  double h2d_pinned_GBps = 0, h2d_pageable_GBps = 0, d2d_GBps = 0;
};

Ceilings run_ceilings(Context& ctx, const Options& o) {
  Ceilings c;
  Timer T;
  const stream_t s = ctx.stream();
  const size_t bytes = o.quick ? (size_t(64) << 20) : (size_t(2) << 30);
  {
    DeviceArray<uint8_t> x(bytes), y(bytes);
    CK(memset_async(x.data(), 1, bytes, s));
    const float ms = T.median_ms(s, o.reps, [&] { CK(memcpy_d2d_async(y.data(), x.data(), bytes, s)); });
    c.d2d_GBps = 2.0 * bytes / ms / 1e6;
    emit("d2d_copy", {{"bytes", std::to_string(bytes)}, {"ms", jnum(ms)}, {"GBps", jnum(c.d2d_GBps, 1)},
                      {"note", jstr("bytes read + written")}});
  }
  const size_t hb = o.quick ? (size_t(64) << 20) : (size_t(1) << 30);
  DeviceArray<uint8_t> d(hb);
  {
    PinnedArray<uint8_t> h;
    h.reserve_discard(hb);
    std::memset(h.data(), 1, hb);
    const float ms = T.median_ms(s, o.reps, [&] { CK(memcpy_h2d_async(d.data(), h.data(), hb, s)); });
    c.h2d_pinned_GBps = hb / ms / 1e6;
    emit("h2d_pinned", {{"bytes", std::to_string(hb)}, {"ms", jnum(ms)}, {"GBps", jnum(c.h2d_pinned_GBps, 1)}});
  }
  {
    std::vector<uint8_t> pg(hb, 1);
    const float ms = T.median_ms(s, 3, [&] { CK(memcpy_h2d_async(d.data(), pg.data(), hb, s)); });
    c.h2d_pageable_GBps = hb / ms / 1e6;
    emit("h2d_pageable", {{"bytes", std::to_string(hb)}, {"ms", jnum(ms)}, {"GBps", jnum(c.h2d_pageable_GBps, 1)}});
  }
  return c;
}

// Group-by by model over device-resident events: every variant, each checked exactly.
// Leaves the per-model totals (the reference) in *totals for the concentration cases.
void run_groupby(Context& ctx, const Options& o, size_t n, uint32_t M, DeviceArray<uint64_t>* totals) {
  Timer T;
  const stream_t s = ctx.stream();
  DeviceArray<uint32_t> key(n), cnt(n);
  gen_columns<<<grid_for(n), 256, 0, s>>>(key.data(), cnt.data(), n, M, 42);
  LAUNCH_CK("gen_columns");
  DeviceArray<uint64_t> ref(M), out(M);
  const float ref_ms = T.median_ms(s, 1, [&] {
    CK(memset_async(ref.data(), 0, size_t(M) * 8, s));
    ref_groupby<<<grid_for(n), 256, 0, s>>>(key.data(), cnt.data(), n, reinterpret_cast<unsigned long long*>(ref.data()));
    LAUNCH_CK("ref_groupby");
  });
  emit("groupby_model_reference_atomic", {{"events", std::to_string(n)}, {"keys", std::to_string(M)},
                                          {"ms", jnum(ref_ms)}, {"Gev_s", jnum(n / ref_ms / 1e6, 2)},
                                          {"note", jstr("bench's own plain atomic kernel, the exactness reference")}});
  struct V {
    const char* name;
    GroupByVariant v;
    uint32_t H, slots;
    int block;
  };
  const V variants[] = {
      {"atomic", GroupByVariant::atomic, 0, 0, 1024},
      {"hot_slot_H8K", GroupByVariant::hot_slot, 8192, 0, 1024},
      {"hot_slot_H16K", GroupByVariant::hot_slot, 16384, 0, 1024},
      {"hot_slot_H32K", GroupByVariant::hot_slot, 32768, 0, 1024},
      {"hot_hash_H4K", GroupByVariant::hot_hash, 4096, 8192, 1024},
      {"hot_hash_H8K", GroupByVariant::hot_hash, 8192, 16384, 1024},
      {"hot_hash_H8K_b512", GroupByVariant::hot_hash, 8192, 16384, 512},
      {"hot_hash_H12K", GroupByVariant::hot_hash, 12288, 16384, 1024},
  };
  for (const V& v : variants) {
    const std::string what = std::string("groupby_model_") + v.name;
    try {
      GroupByOptions opt;
      opt.variant = v.v;
      opt.hot_keys = v.H;
      opt.table_slots = v.slots;
      opt.block_threads = v.block;
      DenseGroupBy gb(ctx, opt);
      // Whole call: hot-set selection from a sample + the pass.
      const float ms = T.median_ms(s, o.reps, [&] {
        CK(memset_async(out.data(), 0, size_t(M) * 8, s));
        gb.select_hot(key.data(), n, M, s);
        gb.run(key.data(), cnt.data(), n, M, out.data(), s);
      });
      const bool exact = mismatches(out.data(), ref.data(), M, 1, s) == 0;
      // The pass alone, hot set already chosen (as in a stream of batches).
      const float run_ms = T.median_ms(s, o.reps, [&] {
        CK(memset_async(out.data(), 0, size_t(M) * 8, s));
        gb.run(key.data(), cnt.data(), n, M, out.data(), s);
      });
      const bool exact2 = mismatches(out.data(), ref.data(), M, 1, s) == 0;
      ctx.check_flags(s, what);
      emit(what, {{"events", std::to_string(n)},
                  {"ms", jnum(ms)},
                  {"Gev_s", jnum(n / ms / 1e6, 2)},
                  {"GBps", jnum(n * 8.0 / ms / 1e6, 1)},
                  {"run_ms", jnum(run_ms)},
                  {"run_Gev_s", jnum(n / run_ms / 1e6, 2)},
                  {"config", jstr(gb.describe())},
                  {"exact", b2s(exact && exact2)}});
    } catch (const std::exception& e) {
      emit_error(what, e.what());
    }
  }
  *totals = std::move(ref);
}

// All share tables of a job from one read of the events (narrow wire format on the device).
void run_share(Context& ctx, std::shared_ptr<Context> shared_ctx, const Options& o, size_t n, uint32_t M) {
  Timer T;
  const stream_t s = ctx.stream();
  const uint32_t n_org = o.quick ? 1000 : 100000, n_country = 200, n_type = 6, n_family = o.quick ? 3000 : 300000;
  const Month base = month_of(2021, 1);
  const wire::Layout L = wire::layout(wire::Format::narrow, n);
  DeviceArray<uint8_t> ev(L.bytes);
  gen_wire_narrow<<<grid_for(n), 256, 0, s>>>(ev.data(), L.count_off, L.month_off, (uint32_t)n,
                                              (uint32_t)wire::pad_events(n), 0, M, 42);
  LAUNCH_CK("gen_wire_narrow");
  DeviceArray<uint32_t> org(M), country(M), type(M), family(M);
  gen_maps<<<grid_for(M), 256, 0, s>>>(M, n_org, n_country, n_type, n_family, org.data(), country.data(), type.data(),
                                       family.data());
  LAUNCH_CK("gen_maps");
  wire::Chunk c;
  c.format = wire::Format::narrow;
  c.n = (uint32_t)n;
  c.month_base = base;
  c.month_lo = base;
  c.month_hi = base + 47;
  c.unit_bound = M;
  c.data = ev.data();
  const std::vector<DeviceGroupMap> maps = {
      {nullptr, M}, {org.data(), n_org}, {country.data(), n_country}, {type.data(), n_type}, {family.data(), n_family}};
  const char* names[] = {"model_x_month", "organisation_x_month", "country_x_month", "org_type_x_month",
                         "family_x_month"};
  CK(stream_synchronize(s));

  std::vector<double> total, accum, derive;
  DeviceTables tables;
  size_t dev_bytes = 0;
  for (int r = 0; r < o.reps + 1; ++r) {  // first run: warm-up
    DeviceAccumulator acc(shared_ctx);
    double a = 0, d = 0;
    const double t = wall_ms([&] {
      a = wall_ms([&] {
        acc.add_device_wire(c);
        acc.sync();
      });
      d = wall_ms([&] {
        acc.finish_device(M, maps, &tables);
        CK(stream_synchronize(s));
        acc.sync();
      });
    });
    dev_bytes = acc.device_bytes();
    if (r > 0) total.push_back(t), accum.push_back(a), derive.push_back(d);
  }
  // Reference: unit x month by plain atomics on the device, the group tables derived on the host.
  DeviceArray<uint64_t> ref(size_t(M) * 48);
  CK(memset_async(ref.data(), 0, size_t(M) * 48 * 8, s));
  ref_unit_month<<<grid_for(n), 256, 0, s>>>(ev.data(), L.count_off, L.month_off, (uint32_t)n, M,
                                             reinterpret_cast<unsigned long long*>(ref.data()));
  LAUNCH_CK("ref_unit_month");
  std::vector<uint64_t> h_ref(size_t(M) * 48);
  CK(memcpy_d2h_async(h_ref.data(), ref.data(), h_ref.size() * 8, s));
  std::vector<uint32_t> h_maps[4];
  DeviceArray<uint32_t>* dm[4] = {&org, &country, &type, &family};
  for (int k = 0; k < 4; ++k) {
    h_maps[k].resize(M);
    CK(memcpy_d2h_async(h_maps[k].data(), dm[k]->data(), size_t(M) * 4, s));
  }
  CK(stream_synchronize(s));
  bool exact = tables.month_first == base && tables.n_months == 48;
  {
    std::vector<uint64_t> got(M), want(M, 0);
    CK(memcpy_d2h_async(got.data(), tables.unit_total.data(), size_t(M) * 8, s));
    CK(stream_synchronize(s));
    for (uint32_t m = 0; m < 48; ++m)
      for (uint32_t u = 0; u < M; ++u) want[u] += h_ref[size_t(m) * M + u];
    exact = exact && got == want;
  }
  std::vector<std::pair<std::string, std::string>> per_table;
  for (size_t k = 0; k < maps.size(); ++k) {
    const uint32_t G = tables.n_groups[k];
    std::vector<uint64_t> got(size_t(48) * G), want(size_t(48) * G, 0);
    CK(memcpy_d2h_async(got.data(), tables.group_month[k].data(), got.size() * 8, s));
    CK(stream_synchronize(s));
    if (k == 0) {
      want = h_ref;
    } else {
      const std::vector<uint32_t>& g = h_maps[k - 1];
      for (uint32_t m = 0; m < 48; ++m)
        for (uint32_t u = 0; u < M; ++u) want[size_t(m) * G + g[u]] += h_ref[size_t(m) * M + u];
    }
    const bool ok = got == want;
    exact = exact && ok;
    per_table.push_back({names[k], b2s(ok)});
  }
  const double ms = median(total);
  std::string tabs = "{";
  for (size_t i = 0; i < per_table.size(); ++i) tabs += (i ? "," : "") + jstr(per_table[i].first) + ":" + per_table[i].second;
  tabs += ",\"model\":" + b2s(exact) + "}";
  emit("share_tables_set", {{"events", std::to_string(n)},
                            {"tables", "6"},
                            {"ms", jnum(ms)},
                            {"Gev_s", jnum(n / ms / 1e6, 2)},
                            {"GBps", jnum(L.bytes / ms / 1e6, 1)},
                            {"accumulate_ms", jnum(median(accum))},
                            {"derive_ms", jnum(median(derive))},
                            {"device_bytes", std::to_string(dev_bytes)},
                            {"exact_tables", tabs},
                            {"note", jstr("one read of the events (7 B/event wire) into model x month slabs, then model, "
                                          "model x month, organisation, country, org type and family x month derived "
                                          "on the device; wall time incl. slab allocation")},
                            {"exact", b2s(exact)}});
}

// Streaming from host memory: pre-packed chunks in pinned memory (add_wire), and EventBatch
// vectors in pageable memory (add: host packing + pinned ring). The same source is streamed
// `passes` times; the unit totals are checked against passes x the reference.
void run_stream(Context& ctx, std::shared_ptr<Context> shared_ctx, const Options& o, uint32_t M, const Ceilings& ceil) {
  const stream_t s = ctx.stream();
  const size_t src_events = o.quick ? (size_t(1) << 22) : (size_t(1) << 27);
  const int passes = 8;
  const uint32_t chunk = std::min<uint32_t>(DeviceAccumulator::kChunkEvents, (uint32_t)src_events);
  const size_t n_chunks = src_events / chunk;
  const Month base = month_of(2021, 1);
  const size_t total_events = src_events * passes;

  // Source on the device, chunk by chunk, then the reference totals.
  const wire::Layout L = wire::layout(wire::Format::narrow, chunk);
  DeviceArray<uint8_t> dsrc(L.bytes * n_chunks);
  DeviceArray<uint64_t> ref(size_t(M) * 48);
  CK(memset_async(ref.data(), 0, size_t(M) * 48 * 8, s));
  for (size_t k = 0; k < n_chunks; ++k) {
    uint8_t* p = dsrc.data() + k * L.bytes;
    gen_wire_narrow<<<grid_for(chunk), 256, 0, s>>>(p, L.count_off, L.month_off, chunk,
                                                    (uint32_t)wire::pad_events(chunk), k * chunk, M, 4242);
    LAUNCH_CK("gen_wire_narrow");
    ref_unit_month<<<grid_for(chunk), 256, 0, s>>>(p, L.count_off, L.month_off, chunk, M,
                                                   reinterpret_cast<unsigned long long*>(ref.data()));
    LAUNCH_CK("ref_unit_month");
  }
  std::vector<uint64_t> h_ref(size_t(M) * 48), want(M, 0);
  CK(memcpy_d2h_async(h_ref.data(), ref.data(), h_ref.size() * 8, s));
  CK(stream_synchronize(s));
  for (uint32_t m = 0; m < 48; ++m)
    for (uint32_t u = 0; u < M; ++u) want[u] += h_ref[size_t(m) * M + u] * passes;
  ref.release();

  auto check = [&](DeviceAccumulator& acc) {
    DeviceTables t;
    acc.finish_device(M, {}, &t);
    std::vector<uint64_t> got(M);
    CK(memcpy_d2h_async(got.data(), t.unit_total.data(), size_t(M) * 8, s));
    CK(stream_synchronize(s));
    return got == want && t.n_months == 48 && t.month_first == base;
  };
  const int reps = std::max(1, std::min(o.reps, 3));

  // Pinned: the packed chunks copied to pinned host memory once.
  try {
    PinnedArray<uint8_t> hsrc;
    hsrc.reserve_discard(L.bytes * n_chunks);
    CK(memcpy_d2h_async(hsrc.data(), dsrc.data(), L.bytes * n_chunks, s));
    CK(stream_synchronize(s));
    std::vector<double> t;
    bool exact = true;
    size_t dev_bytes = 0;
    for (int r = 0; r < reps + 1; ++r) {
      DeviceAccumulator acc(shared_ctx);
      acc.prepare(M, base, base + 47);  // tables sized first: the timing is the stream
      acc.sync();
      const double ms = wall_ms([&] {
        for (int p = 0; p < passes; ++p)
          for (size_t k = 0; k < n_chunks; ++k) {
            wire::Chunk c;
            c.format = wire::Format::narrow;
            c.n = chunk;
            c.month_base = base;
            c.month_lo = base;
            c.month_hi = base + 47;
            c.unit_bound = M;
            c.data = hsrc.data() + k * L.bytes;
            acc.add_wire(c);
          }
        acc.sync();
      });
      dev_bytes = acc.device_bytes();
      if (r > 0) t.push_back(ms);
      if (r == reps) exact = check(acc);
    }
    const double ms = median(t), bytes = double(L.bytes) * n_chunks * passes;
    emit("stream_from_host_pinned",
         {{"events", std::to_string(total_events)},
          {"ms", jnum(ms)},
          {"Gev_s", jnum(total_events / ms / 1e6, 3)},
          {"GBps", jnum(bytes / ms / 1e6, 1)},
          {"bytes_per_event", jnum(bytes / total_events, 2)},
          {"of_h2d_pinned", jnum(bytes / ms / 1e6 / ceil.h2d_pinned_GBps, 3)},
          {"device_bytes", std::to_string(dev_bytes)},
          {"note", jstr("pre-packed narrow chunks in pinned memory -> copy stream -> accumulate (ring of 3); "
                        "device memory = ring + month slabs (sized before the timing)")},
          {"exact", b2s(exact)}});
  } catch (const std::exception& e) {
    emit_error("stream_from_host_pinned", e.what());
  }

  // Pageable: EventBatch vectors (unit, month, count), packed by host threads into the ring.
  try {
    const size_t per_batch = std::min<size_t>(src_events, size_t(1) << 22);
    const size_t n_batches = src_events / per_batch;
    std::vector<EventBatch> batches(n_batches);
    {
      std::vector<uint8_t> h(L.bytes * n_chunks);
      CK(memcpy_d2h_async(h.data(), dsrc.data(), h.size(), s));
      CK(stream_synchronize(s));
      for (size_t b = 0; b < n_batches; ++b) {
        EventBatch& e = batches[b];
        e.unit.resize(per_batch);
        e.month.resize(per_batch);
        e.count.resize(per_batch);
        for (size_t j = 0; j < per_batch; ++j) {
          const size_t i = b * per_batch + j, k = i / chunk, w = i % chunk;
          const uint8_t* p = h.data() + k * L.bytes;
          e.unit[j] = reinterpret_cast<const uint32_t*>(p)[w];
          e.count[j] = reinterpret_cast<const uint16_t*>(p + L.count_off)[w];
          e.month[j] = Month(base + p[L.month_off + w]);
        }
        e.unit_bound = M;
        e.month_min = base;
        e.month_max = base + 47;
      }
    }
    dsrc.release();
    std::vector<double> t;
    bool exact = true;
    size_t dev_bytes = 0;
    for (int r = 0; r < reps + 1; ++r) {
      DeviceAccumulator acc(shared_ctx);
      acc.prepare(M, base, base + 47);
      acc.sync();
      const double ms = wall_ms([&] {
        for (int p = 0; p < passes; ++p)
          for (const EventBatch& b : batches) acc.add(b);
        acc.sync();
      });
      dev_bytes = acc.device_bytes();
      if (r > 0) t.push_back(ms);
      if (r == reps) exact = check(acc);
    }
    const double ms = median(t);
    const double wire_bytes = double(wire::layout(wire::Format::narrow, per_batch).bytes) * n_batches * passes;
    const double host_bytes = double(total_events) * 10;
    emit("stream_from_host_pageable",
         {{"events", std::to_string(total_events)},
          {"ms", jnum(ms)},
          {"Gev_s", jnum(total_events / ms / 1e6, 3)},
          {"GBps", jnum(wire_bytes / ms / 1e6, 1)},
          {"host_GBps", jnum(host_bytes / ms / 1e6, 1)},
          {"of_h2d_pinned", jnum(wire_bytes / ms / 1e6 / ceil.h2d_pinned_GBps, 3)},
          {"host_threads", std::to_string(ctx.workers().size())},
          {"device_bytes", std::to_string(dev_bytes)},
          {"note", jstr("EventBatch std::vectors (10 B/event) packed by host threads to 7 B/event in a pinned ring "
                        "of 3, copy and kernels overlapped; GBps counts wire bytes")},
          {"exact", b2s(exact)}});
  } catch (const std::exception& e) {
    emit_error("stream_from_host_pageable", e.what());
  }
}

// Host expectation for values tiled T times from sorted y (see the 134M case).
ConcentrationRaw tiled_expectation(const std::vector<uint64_t>& y, uint64_t T, const ConcentrationSpec& spec) {
  const uint64_t m = y.size(), n = m * T;
  const ConcentrationPlan plan = ConcentrationPlan::make(n, spec);
  std::vector<u128> pre(m + 1, 0);
  for (uint64_t i = 0; i < m; ++i) pre[i + 1] = pre[i] + y[i];
  auto L = [&](uint64_t c) -> u128 {
    const uint64_t q = c / T, r = c % T;
    return u128(T) * pre[q] + (r ? u128(r) * y[q] : u128(0));
  };
  ConcentrationRaw e;
  e.n = n;
  e.total = u128(T) * pre[m];
  for (uint64_t i = 0; i < m; ++i) {
    e.rank_weighted += u128(y[i]) * (u128(T) * T * i + u128(T) * (T + 1) / 2);
    e.sum_squares += u128(T) * y[i] * y[i];
  }
  for (uint64_t k : plan.top_counts) e.top_sums.push_back(e.total - L(n - k));
  for (uint64_t r : plan.percentile_ranks) e.percentile_values.push_back(y[r / T]);
  for (uint64_t t : spec.below) e.below_counts.push_back(T * (std::lower_bound(y.begin(), y.end(), t) - y.begin()));
  for (uint64_t c : plan.lorenz_counts) e.lorenz_sums.push_back(L(c));
  return e;
}

void run_concentration(Context& ctx, const Options& o, const DeviceArray<uint64_t>& totals, uint32_t M,
                       Backend& cuda, Backend& cpu) {
  Timer T;
  const stream_t s = ctx.stream();
  const ConcentrationSpec spec;  // Gini, Lorenz (101 points), top-k, top-%, HHI, percentiles, below 200
  ConcentrationEngine eng(ctx);
  std::vector<uint64_t> h(M);
  CK(memcpy_d2h_async(h.data(), totals.data(), size_t(M) * 8, s));
  CK(stream_synchronize(s));
  // 2.1M values: device-resident (what the target measures), then through the Backend.
  try {
    std::vector<ConcentrationRaw> got;
    const float ms = T.median_ms(s, o.reps, [&] { got = eng.run(totals.data(), M, nullptr, 1, spec); });
    const auto want = cpu.concentration(h, {}, 1, spec);
    const bool exact = got.size() == 1 && got[0] == want[0];
    emit("concentration_2M", {{"values", std::to_string(M)}, {"ms", jnum(ms, 4)}, {"Gval_s", jnum(M / ms / 1e6, 3)},
                              {"gini", jnum(finalize(got.at(0), spec).gini, 6)},
                              {"note", jstr("device-resident values; Gini, Lorenz, top-k, top-%, HHI, percentiles, "
                                            "below; includes the two small device-to-host copies")},
                              {"exact", b2s(exact)}});
    std::vector<double> t;
    std::vector<ConcentrationRaw> got2;
    for (int r = 0; r < o.reps + 1; ++r) {
      const double w = wall_ms([&] { got2 = cuda.concentration(h, {}, 1, spec); });
      if (r) t.push_back(w);
    }
    emit("concentration_2M_backend", {{"values", std::to_string(M)}, {"ms", jnum(median(t), 4)},
                                      {"note", jstr("Backend::concentration from a host vector (upload included)")},
                                      {"exact", b2s(got2.size() == 1 && got2[0] == want[0])}});
  } catch (const std::exception& e) {
    emit_error("concentration_2M", e.what());
  }
  // Segmented: 200 segments (a country of each model).
  try {
    std::vector<uint32_t> seg(M);
    for (uint32_t u = 0; u < M; ++u) seg[u] = (u * 2654435761u >> 7) % 200;
    DeviceArray<uint32_t> dseg(M);
    CK(memcpy_h2d_async(dseg.data(), seg.data(), size_t(M) * 4, s));
    std::vector<ConcentrationRaw> got;
    const float ms = T.median_ms(s, o.reps, [&] { got = eng.run(totals.data(), M, dseg.data(), 200, spec); });
    const auto want = cpu.concentration(h, seg, 200, spec);
    emit("concentration_2M_200_segments", {{"values", std::to_string(M)}, {"segments", "200"}, {"ms", jnum(ms, 4)},
                                           {"exact", b2s(got == want)}});
  } catch (const std::exception& e) {
    emit_error("concentration_2M_200_segments", e.what());
  }
  // 134M values: the 2M totals tiled 64 times (as torch_peers.py does).
  try {
    const uint64_t tiles = o.quick ? 4 : 64, n = uint64_t(M) * tiles;
    DeviceArray<uint64_t> big(n);
    tile_values<<<grid_for(n), 256, 0, s>>>(totals.data(), M, big.data(), n);
    LAUNCH_CK("tile_values");
    std::vector<ConcentrationRaw> got;
    const float ms = T.median_ms(s, o.reps, [&] { got = eng.run(big.data(), n, nullptr, 1, spec); });
    std::vector<uint64_t> y = h;
    std::sort(y.begin(), y.end());
    const ConcentrationRaw want = tiled_expectation(y, tiles, spec);
    emit("concentration_134M", {{"values", std::to_string(n)}, {"ms", jnum(ms)}, {"Gval_s", jnum(n / ms / 1e6, 3)},
                                {"GBps", jnum(n * 8.0 / ms / 1e6, 1)},
                                {"note", jstr("device-resident; exact against the closed form of tiled values")},
                                {"exact", b2s(got.size() == 1 && got[0] == want)}});
  } catch (const std::exception& e) {
    emit_error("concentration_134M", e.what());
  }
}

void run_lineage(Context& ctx, const Options& o, uint32_t n, const std::string& what, Backend& cuda, Backend& cpu,
                 bool check) {
  Timer T;
  const stream_t s = ctx.stream();
  try {
    DeviceArray<uint32_t> deg(n), off(size_t(n) + 1);
    gen_degrees<<<grid_for(n), 256, 0, s>>>(n, deg.data());
    LAUNCH_CK("gen_degrees");
    LineageGraph g;
    g.n_nodes = n;
    std::vector<uint32_t> hdeg(n);
    CK(memcpy_d2h_async(hdeg.data(), deg.data(), size_t(n) * 4, s));
    CK(stream_synchronize(s));
    g.parent_offsets.assign(size_t(n) + 1, 0);
    for (uint32_t i = 0; i < n; ++i) g.parent_offsets[i + 1] = g.parent_offsets[i] + hdeg[i];
    const size_t E = g.parent_offsets[n];
    CK(memcpy_h2d_async(off.data(), g.parent_offsets.data(), (size_t(n) + 1) * 4, s));
    DeviceArray<uint32_t> par(std::max<size_t>(E, 1));
    DeviceArray<uint8_t> rel(std::max<size_t>(E, 1));
    gen_edges<<<grid_for(n), 256, 0, s>>>(n, off.data(), par.data(), rel.data());
    LAUNCH_CK("gen_edges");
    DeviceLineageGraph dg;
    dg.n_nodes = n;
    dg.n_edges = E;
    dg.parent_offsets = off.data();
    dg.parents = par.data();
    dg.relations = rel.data();
    LineageEngine eng(ctx);
    const float ms = T.median_ms(s, o.reps, [&] { eng.run(dg); });
    const auto st = eng.stats();
    LineageRaw got;
    eng.download(&got);
    std::string exact = "null", cpu_ms = "null", backend_ms = "null", families_ms = "null";
    if (check) {
      g.parents.resize(E);
      g.relations.resize(E);
      CK(memcpy_d2h_async(g.parents.data(), par.data(), E * 4, s));
      CK(memcpy_d2h_async(g.relations.data(), rel.data(), E, s));
      CK(stream_synchronize(s));
      LineageRaw want;
      cpu_ms = jnum(wall_ms([&] { want = cpu.lineage(g); }), 1);
      bool ok = got == want;
      LineageRaw via;
      std::vector<double> t;
      for (int r = 0; r < 3; ++r) t.push_back(wall_ms([&] { via = cuda.lineage(g); }));
      backend_ms = jnum(median(t), 2);
      ok = ok && via == want;
      // What the engine asks: the roots, the greatest depth and the families only.
      LineageRaw fam;
      t.clear();
      for (int r = 0; r < 3; ++r) t.push_back(wall_ms([&] { fam = cuda.lineage(g, LineageOutput::families); }));
      families_ms = jnum(median(t), 2);
      ok = ok && fam == cpu.lineage(g, LineageOutput::families);
      exact = b2s(ok);
    }
    emit(what, {{"nodes", std::to_string(n)},
                {"edges", std::to_string(E)},
                {"ms", jnum(ms, 4)},
                {"rounds", std::to_string(st.rounds)},
                {"max_single_parent_depth", std::to_string(st.max_depth_single)},
                {"multi_parent_nodes", std::to_string(st.multi)},
                {"walk_overflows", std::to_string(st.overflow)},
                {"levels_on_host", std::to_string(st.levels_on_host)},
                {"backend_ms", backend_ms},
                {"backend_families_ms", families_ms},
                {"cpu_backend_ms", cpu_ms},
                {"note", jstr("device-resident graph: roots, depth, children, exact descendants by relation, the "
                              "families compacted; backend_ms: Backend::lineage from host vectors incl. transfers, "
                              "every per-node array back; backend_families_ms: the same with LineageOutput::families "
                              "(roots, greatest depth, families: what the engine reads)")},
                {"exact", exact}});
  } catch (const std::exception& e) {
    emit_error(what, e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") o.quick = true;
    else if (a == "--check-large") o.check_large = true;
    else if (a == "--reps" && i + 1 < argc) o.reps = std::max(1, std::atoi(argv[++i]));
    else if (a == "--only" && i + 1 < argc) {
      std::string l = argv[++i];
      size_t p = 0;
      while (p <= l.size()) {
        size_t q = l.find(',', p);
        if (q == std::string::npos) q = l.size();
        if (q > p) o.only.push_back(l.substr(p, q - p));
        p = q + 1;
      }
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--reps R] [--only cases] [--check-large]\n", argv[0]);
      return 2;
    }
  }
  const BackendInfo info = probe_cuda_backend();
  if (!info.available) {
    std::printf("{\"what\":\"device\",\"error\":%s}\n", jstr(info.status).c_str());
    return 77;
  }
  try {
    auto ctx = std::make_shared<Context>(0);
    const DeviceProps& p = ctx->props();
    g_device = p.name;
    const size_t n = o.quick ? (size_t(1) << 24) : (size_t(1) << 30);
    const uint32_t M = o.quick ? (1u << 16) : (1u << 21);
    {
      size_t fr = 0, tot = 0;
      CK(mem_get_info(&fr, &tot));
      emit("device", {{"sms", std::to_string(p.sm_count)},
                      {"cc", jstr(std::to_string(p.cc_major) + "." + std::to_string(p.cc_minor))},
                      {"l2_mb", jnum(p.l2_bytes / 1048576.0, 1)},
                      {"smem_optin_kb", jnum(p.smem_per_block_optin / 1024.0, 1)},
                      {"mem_gb", jnum(tot / 1e9, 1)},
                      {"host_threads", std::to_string(ctx->workers().size())},
                      {"events", std::to_string(n)},
                      {"keys", std::to_string(M)},
                      {"quick", b2s(o.quick)}});
    }
    auto cuda = make_cuda_backend();
    auto cpu = make_cpu_backend();
    Ceilings ceil;
    if (o.want("ceilings") || o.want("stream")) ceil = run_ceilings(*ctx, o);
    DeviceArray<uint64_t> totals;
    if (o.want("groupby") || o.want("concentration")) run_groupby(*ctx, o, n, M, &totals);
    if (o.want("concentration")) run_concentration(*ctx, o, totals, M, *cuda, *cpu);
    totals.release();
    if (o.want("share")) {
      try {
        run_share(*ctx, ctx, o, n, M);
      } catch (const std::exception& e) {
        emit_error("share_tables_set", e.what());
      }
    }
    if (o.want("stream")) {
      try {
        run_stream(*ctx, ctx, o, M, ceil);
      } catch (const std::exception& e) {
        emit_error("stream_from_host", e.what());
      }
    }
    if (o.want("lineage")) {
      run_lineage(*ctx, o, o.quick ? (1u << 16) : (1u << 21), "lineage_2M", *cuda, *cpu, true);
      run_lineage(*ctx, o, o.quick ? (1u << 18) : (1u << 25), "lineage_33M", *cuda, *cpu, o.check_large || o.quick);
    }
  } catch (const std::exception& e) {
    std::printf("{\"what\":\"fatal\",\"error\":%s}\n", jstr(e.what()).c_str());
    return 1;
  }
  return 0;
}
