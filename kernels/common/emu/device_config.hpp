// A CPU emulator of the device portability layer, for testing kernels/common without a GPU.
//
// Kernels run on the host: blocks one after another, the threads of a block as fibers
// (ucontext) that switch only at __syncthreads and at warp collectives, which are real
// barriers here (every thread of the block / every lane of the warp must arrive; a thread
// that exits while others wait, or lanes waiting at different barriers, is reported as an
// error). Device memory is host memory (run under AddressSanitizer to catch out-of-bounds
// accesses), copies are synchronous, streams and events are no-ops, sorts are std::stable_sort.
// Not emulated: races between threads of a block (fibers only interleave at barriers) and
// concurrency between blocks; timing. Launches `k<<<g, b, smem, s>>>(args)` are rewritten
// into `::ecostat::emudev::launch(k, g, b, smem, s)(args)` by transform.py.
#pragma once
#include <setjmp.h>
#include <ucontext.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ecostat/errors.hpp"

#define ECOSTAT_DEV_NS emudev
#define ECOSTAT_DEV_BACKEND "cuda"  // stands in for the CUDA backend in the tests
#define ECOSTAT_DEV_RUNTIME "EMU"
#define ECOSTAT_DEV_API_PREFIX "emu"
#define ECOSTAT_DEVICE_CODE 1
#define ECOSTAT_DEVICE inline
#define ECOSTAT_HOST_DEVICE inline
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

struct alignas(16) uint4 {
  uint32_t x, y, z, w;
};
struct alignas(8) uint2 {
  uint32_t x, y;
};
struct dim3 {
  unsigned x, y, z;
  dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};

namespace ecostat {
namespace emudev {

// The warp width and the shared-memory limit are compile-time parameters, so that one source
// emulates both targets: 32 lanes and 227 KiB (an NVIDIA H100/H200, the default) or
// -DECOSTAT_EMU_WARP=64 -DECOSTAT_EMU_SMEM=65536 (an AMD CDNA GPU: 64-lane wavefronts, 64-bit
// lane masks, 64 KiB of LDS per workgroup, as kernels/hip/device_config.hpp has them).
#ifndef ECOSTAT_EMU_WARP
#define ECOSTAT_EMU_WARP 32
#endif
#ifndef ECOSTAT_EMU_SMEM
#define ECOSTAT_EMU_SMEM (227 << 10)
#endif
static_assert(ECOSTAT_EMU_WARP == 32 || ECOSTAT_EMU_WARP == 64, "the emulator runs 32- or 64-lane warps");
constexpr int kWarpSize = ECOSTAT_EMU_WARP;
using lane_mask_t = std::conditional_t<kWarpSize == 64, uint64_t, uint32_t>;
constexpr lane_mask_t kFullMask = ~lane_mask_t(0);
constexpr size_t kSmemOptin = ECOSTAT_EMU_SMEM;                        // per block, after opting in
// Without opting in: 48 KiB on NVIDIA; AMD has nothing to opt in to (all of the LDS).
constexpr size_t kSmemDefault = kWarpSize == 64 || kSmemOptin < (48u << 10) ? kSmemOptin : size_t(48) << 10;
// The emulated target's tuning table (kernels/common/policy.hpp): HIP's for 64 lanes.
#define ECOSTAT_DEV_POLICY_TARGET (::ecostat::emudev::kWarpSize == 64 ? ::ecostat::PolicyTarget::hip : ::ecostat::PolicyTarget::cuda)

using dev_error_t = int;
using stream_t = void*;
using event_t = void*;
constexpr dev_error_t kSuccess = 0;
enum : int { kErrInvalidConfig = 1, kErrOutOfMemory = 2, kErrBarrier = 3, kErrInvalidValue = 4 };

inline int& last_error() {
  static int e = 0;
  return e;
}
inline std::string& last_message() {
  static std::string m;
  return m;
}
inline const char* error_name(dev_error_t e) {
  switch (e) {
    case kErrInvalidConfig: return "emuErrorInvalidConfiguration";
    case kErrOutOfMemory: return "emuErrorMemoryAllocation";
    case kErrBarrier: return "emuErrorBarrier";
    case kErrInvalidValue: return "emuErrorInvalidValue";
    default: return e ? "emuErrorUnknown" : "emuSuccess";
  }
}
inline const char* error_string(dev_error_t) { return last_message().c_str(); }
inline dev_error_t get_last_error() {
  const int e = last_error();
  last_error() = 0;
  return e;
}
inline dev_error_t peek_last_error() { return last_error(); }
inline dev_error_t fail(int e, const std::string& m) {
  last_error() = e;
  last_message() = m;
  return e;
}
[[noreturn]] inline void throw_error(const char* call, const char* file, int line, dev_error_t e) {
  const std::string m = std::string(error_name(e)) + ": " + last_message();
  last_error() = 0;
  throw DeviceError(ECOSTAT_DEV_BACKEND, call, file, line, m);
}

struct DeviceProps {
  std::string name;
  int sm_count = 0;
  int cc_major = 0, cc_minor = 0;
  size_t smem_per_block = 0, smem_per_block_optin = 0, smem_per_sm = 0, l2_bytes = 0, global_bytes = 0;
  int warp_size = 0, max_threads_per_sm = 0;
};
// Devices: ECOSTAT_EMU_DEVICES of them (default 1), all alike, so that tests can check which
// index a backend opens (EngineOptions::device, taken mod the count). The current device is
// per host thread, as in CUDA and HIP.
inline int emulated_device_count() {
  const char* v = std::getenv("ECOSTAT_EMU_DEVICES");
  const int n = v && *v ? std::atoi(v) : 1;
  return n < 0 ? 0 : n;
}
inline int& current_device() {
  static thread_local int d = 0;
  return d;
}
inline dev_error_t get_device_count(int* n) {
  *n = emulated_device_count();
  return kSuccess;
}
inline dev_error_t check_device_index(int d) {
  if (d >= 0 && d < emulated_device_count()) return kSuccess;
  return fail(kErrInvalidValue, "invalid device ordinal " + std::to_string(d));
}
inline dev_error_t set_device(int d) {
  if (const dev_error_t e = check_device_index(d)) return e;
  current_device() = d;
  return kSuccess;
}
// Device-wide synchronisations made, counted so that tests can check the code does not stall
// every stream of the device (a free on a real GPU used to cost one each).
inline std::atomic<uint64_t>& emu_device_syncs() {
  static std::atomic<uint64_t> n{0};
  return n;
}
inline dev_error_t device_synchronize() {
  ++emu_device_syncs();
  return kSuccess;
}
// Device memory: host memory, 16 GiB nominal; every block's size is kept so that the bytes in
// use are known (mem_get_info reports the rest as free, as a device does).
constexpr size_t kEmuDeviceBytes = size_t(16) << 30;
inline std::map<void*, size_t>& live_blocks() {
  static std::map<void*, size_t> m;
  return m;
}
inline size_t& live_bytes() {
  static size_t b = 0;
  return b;
}
inline std::mutex& alloc_mutex() {  // backend calls may come from several host threads
  static std::mutex m;
  return m;
}
inline dev_error_t mem_get_info(size_t* f, size_t* t) {
  std::lock_guard<std::mutex> lk(alloc_mutex());
  *t = kEmuDeviceBytes;
  *f = kEmuDeviceBytes - std::min(live_bytes(), kEmuDeviceBytes);
  return kSuccess;
}
inline dev_error_t get_device_props(int d, DeviceProps* p) {
  if (const dev_error_t e = check_device_index(d)) return e;
  p->name = "ecostat device emulator";
  p->sm_count = 2;
  p->cc_major = 9;
  p->cc_minor = 0;
  p->smem_per_block = kSmemDefault;
  p->smem_per_block_optin = kSmemOptin;
  p->smem_per_sm = kSmemOptin + (1 << 10);
  p->l2_bytes = 50 << 20;
  p->global_bytes = kEmuDeviceBytes;
  p->warp_size = kWarpSize;
  p->max_threads_per_sm = 2048;
  return kSuccess;
}

inline dev_error_t dev_malloc(void** p, size_t bytes) {
  std::lock_guard<std::mutex> lk(alloc_mutex());
  *p = nullptr;
  if (bytes > kEmuDeviceBytes - std::min(live_bytes(), kEmuDeviceBytes))
    return fail(kErrOutOfMemory, "out of memory (" + std::to_string(bytes) + " bytes asked)");
  *p = std::malloc(bytes ? bytes : 1);
  if (!*p) return fail(kErrOutOfMemory, "malloc failed");
  live_blocks()[*p] = bytes;
  live_bytes() += bytes;
  return kSuccess;
}
inline dev_error_t dev_free(void* p) {
  if (!p) return kSuccess;
  std::lock_guard<std::mutex> lk(alloc_mutex());
  const auto it = live_blocks().find(p);
  if (it != live_blocks().end()) live_bytes() -= it->second, live_blocks().erase(it);
  std::free(p);
  return kSuccess;
}
// Stream-ordered allocation: the emulated device has memory pools unless ECOSTAT_EMU_NO_POOLS
// is set (read at every call, so a test can run the synchronous fallback: hence its own
// stream_ordered_memory, not memory.hpp's decided-once one). Work runs at its launch here, so a
// stream-ordered free can free at once.
#define ECOSTAT_DEV_OWN_STREAM_ORDERED_MEMORY 1
inline bool stream_ordered_memory() {
  const char* v = std::getenv("ECOSTAT_EMU_NO_POOLS");
  return !(v && *v && *v != '0');
}
inline std::atomic<uint64_t>& emu_async_frees() {  // frees queued on a stream (tests)
  static std::atomic<uint64_t> n{0};
  return n;
}
inline dev_error_t dev_malloc_async(void** p, size_t bytes, stream_t s) {
  if (!s) return fail(kErrInvalidValue, "stream-ordered allocation without a stream");
  return dev_malloc(p, bytes);
}
inline dev_error_t dev_free_async(void* p, stream_t s) {
  if (!s) return fail(kErrInvalidValue, "stream-ordered free without a stream");
  ++emu_async_frees();
  return dev_free(p);
}
inline dev_error_t trim_memory_pool() { return kSuccess; }
inline dev_error_t host_alloc_pinned(void** p, size_t bytes) {
  *p = std::malloc(bytes ? bytes : 1);
  return *p ? kSuccess : fail(kErrOutOfMemory, "malloc failed");
}
inline dev_error_t host_free_pinned(void* p) {
  std::free(p);
  return kSuccess;
}
inline dev_error_t memcpy_h2d_async(void* d, const void* s, size_t b, stream_t) {
  if (b) std::memmove(d, s, b);
  return kSuccess;
}
inline dev_error_t memcpy_d2h_async(void* d, const void* s, size_t b, stream_t) {
  if (b) std::memmove(d, s, b);
  return kSuccess;
}
inline dev_error_t memcpy_d2d_async(void* d, const void* s, size_t b, stream_t) {
  if (b) std::memmove(d, s, b);
  return kSuccess;
}
inline dev_error_t memset_async(void* p, int v, size_t b, stream_t) {
  if (b) std::memset(p, v, b);
  return kSuccess;
}
inline dev_error_t stream_create(stream_t* s) {
  static char dummy;
  *s = &dummy;
  return kSuccess;
}
inline dev_error_t stream_destroy(stream_t) { return kSuccess; }
inline dev_error_t stream_synchronize(stream_t) { return kSuccess; }
inline dev_error_t stream_wait_event(stream_t, event_t) { return kSuccess; }
inline dev_error_t event_create(event_t* e) {
  static char dummy;
  *e = &dummy;
  return kSuccess;
}
inline dev_error_t event_create_timed(event_t* e) { return event_create(e); }
inline dev_error_t event_destroy(event_t) { return kSuccess; }
inline dev_error_t event_record(event_t, stream_t) { return kSuccess; }
inline dev_error_t event_synchronize(event_t) { return kSuccess; }
inline dev_error_t event_elapsed_ms(float* ms, event_t, event_t) {
  *ms = 0;
  return kSuccess;
}

// Dynamic shared memory above 48 KB must be allowed per kernel, as on the device.
inline std::map<const void*, int>& smem_allowed() {
  static std::map<const void*, int> m;
  return m;
}
template <class Kernel>
inline dev_error_t set_max_dynamic_smem(Kernel* kernel, int bytes) {
  if (size_t(bytes) > kSmemOptin)
    return fail(kErrInvalidValue, std::to_string(bytes) + " bytes of dynamic shared memory, more than the device's " +
                                      std::to_string(kSmemOptin));
  smem_allowed()[reinterpret_cast<const void*>(kernel)] = bytes;
  return kSuccess;
}
template <class Kernel>
inline dev_error_t occupancy_blocks_per_sm(int* blocks, Kernel*, int block_threads, size_t smem) {
  int b = 2048 / std::max(1, block_threads);
  if (smem) b = std::min<int>(b, int((kSmemOptin + (1 << 10)) / smem));
  *blocks = std::max(0, b);
  return kSuccess;
}
template <class Kernel>
inline dev_error_t check_kernel_image(Kernel*) {
  return kSuccess;
}

// ---- the fiber scheduler ----------------------------------------------------------------------
enum class FState { run, block_bar, warp_bar, done };
// A fiber is entered the first time through its ucontext and switched afterwards with
// _setjmp/_longjmp (no signal-mask system call per switch, unlike swapcontext).
struct Fiber {
  ucontext_t ctx;
  jmp_buf jb;
  bool started = false;
  FState state = FState::run;
  dim3 tid;
};
struct BlockRun {
  dim3 bid, bdim, gdim;
  std::vector<Fiber> fibers;
  jmp_buf main_jb;
  Fiber* cur = nullptr;
  std::vector<uint64_t> exch;  // per lane of the block: warp collective exchange slots
  uint4* smem = nullptr;
  const std::function<void()>* body = nullptr;
  std::string error;
};
inline BlockRun*& current() {
  static BlockRun* b = nullptr;
  return b;
}
inline std::vector<std::vector<char>>& stacks() {
  static std::vector<std::vector<char>> s;
  return s;
}
constexpr size_t kStack = 256 << 10;

inline void yield_to_main() {
  BlockRun* b = current();
  if (!_setjmp(b->cur->jb)) _longjmp(b->main_jb, 1);
}
inline void fiber_entry() {
  BlockRun* b = current();
  (*b->body)();
  b->cur->state = FState::done;
  _longjmp(b->main_jb, 1);
}
inline void resume(BlockRun& b, Fiber& f) {
  b.cur = &f;
  if (!_setjmp(b.main_jb)) {
    if (f.started) _longjmp(f.jb, 1);
    f.started = true;
    setcontext(&f.ctx);
  }
}

inline size_t thread_linear(const dim3& t, const dim3& d) { return t.x + size_t(d.x) * (t.y + size_t(d.y) * t.z); }

// Runs one block to the end. Returns an error message ("" when fine).
inline std::string run_block(BlockRun& b) {
  const size_t nt = size_t(b.bdim.x) * b.bdim.y * b.bdim.z;
  if (stacks().size() < nt) stacks().resize(nt);
  b.fibers.assign(nt, Fiber{});
  b.exch.assign((nt + kWarpSize - 1) / kWarpSize * kWarpSize, 0);
  for (size_t i = 0; i < nt; ++i) {
    Fiber& f = b.fibers[i];
    f.tid = dim3(unsigned(i % b.bdim.x), unsigned((i / b.bdim.x) % b.bdim.y), unsigned(i / (size_t(b.bdim.x) * b.bdim.y)));
    if (stacks()[i].size() < kStack) stacks()[i].resize(kStack);
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = stacks()[i].data();
    f.ctx.uc_stack.ss_size = kStack;
    f.ctx.uc_link = nullptr;
    makecontext(&f.ctx, fiber_entry, 0);
  }
  for (;;) {
    bool ran = false;
    for (size_t i = 0; i < nt; ++i) {
      Fiber& f = b.fibers[i];
      if (f.state != FState::run) continue;
      resume(b, f);
      ran = true;
      if (!b.error.empty()) return b.error;
    }
    size_t done = 0, at_block = 0;
    for (const Fiber& f : b.fibers) done += f.state == FState::done, at_block += f.state == FState::block_bar;
    if (done == nt) return "";
    bool released = false;
    if (at_block > 0 && at_block + done == nt) {
      if (done) return "__syncthreads reached by some threads while others have exited";
      for (Fiber& f : b.fibers) f.state = FState::run;
      released = true;
    }
    for (size_t w = 0; w * kWarpSize < nt; ++w) {
      size_t at_warp = 0, wdone = 0, lanes = std::min<size_t>(kWarpSize, nt - w * kWarpSize);
      for (size_t l = 0; l < lanes; ++l) {
        const FState s = b.fibers[w * kWarpSize + l].state;
        at_warp += s == FState::warp_bar, wdone += s == FState::done;
      }
      if (at_warp == 0) continue;
      if (at_warp == lanes) {
        for (size_t l = 0; l < lanes; ++l) b.fibers[w * kWarpSize + l].state = FState::run;
        released = true;
      } else if (at_warp + wdone == lanes) {
        return "warp collective reached by some lanes while others have exited";
      }
    }
    if (!released && !ran) return "deadlock: threads wait at different barriers (divergent __syncthreads or warp op)";
  }
}

inline void block_barrier() {
  current()->cur->state = FState::block_bar;
  yield_to_main();
}
inline void warp_barrier() {
  current()->cur->state = FState::warp_bar;
  yield_to_main();
}

inline const dim3& cur_tid() { return current()->cur->tid; }
inline const dim3& cur_bid() { return current()->bid; }
inline const dim3& cur_bdim() { return current()->bdim; }
inline const dim3& cur_gdim() { return current()->gdim; }

template <class... P>
struct Launch {
  void (*k)(P...);
  dim3 g, b;
  size_t smem;
  template <class... A>
  void operator()(A&&... a) const {
    static_assert(sizeof...(A) == sizeof...(P), "kernel argument count");
    const size_t threads = size_t(b.x) * b.y * b.z;
    if (g.x == 0 || g.y == 0 || g.z == 0 || threads == 0 || threads > 1024) {
      fail(kErrInvalidConfig, "invalid launch configuration (grid " + std::to_string(g.x) + "x" + std::to_string(g.y) +
                                  ", block " + std::to_string(threads) + ")");
      return;
    }
    const auto it = smem_allowed().find(reinterpret_cast<const void*>(k));
    const size_t allowed = it == smem_allowed().end() ? kSmemDefault : size_t(it->second);
    if (smem > allowed) {
      fail(kErrInvalidConfig, "dynamic shared memory " + std::to_string(smem) + " over the kernel's limit " +
                                  std::to_string(allowed));
      return;
    }
    std::tuple<P...> args(std::forward<A>(a)...);
    std::vector<uint4> smem_buf((smem + 15) / 16 + 1);
    const std::function<void()> body = [&] { std::apply(k, args); };
    for (unsigned z = 0; z < g.z; ++z)
      for (unsigned y = 0; y < g.y; ++y)
        for (unsigned x = 0; x < g.x; ++x) {
          BlockRun br;
          br.bid = dim3(x, y, z);
          br.bdim = b;
          br.gdim = g;
          br.body = &body;
          std::memset(smem_buf.data(), 0xcd, smem_buf.size() * sizeof(uint4));  // not zero: kernels must clear it
          br.smem = smem_buf.data();
          current() = &br;
          const std::string e = run_block(br);
          current() = nullptr;
          if (!e.empty()) throw std::logic_error("emulator: " + e);
        }
  }
};
template <class... P>
Launch<P...> launch(void (*k)(P...), dim3 g, dim3 b, size_t smem = 0, stream_t = nullptr) {
  return Launch<P...>{k, g, b, smem};
}

// ---- device-side helpers (as device_config.hpp of CUDA) ---------------------------------------
inline uint4* dynamic_smem() { return current()->smem; }
inline int lane_id() { return int(thread_linear(cur_tid(), cur_bdim()) % kWarpSize); }
inline size_t warp_base() { return thread_linear(cur_tid(), cur_bdim()) / kWarpSize * kWarpSize; }
inline void warp_sync() { warp_barrier(); }
inline uint64_t warp_exchange_get(uint64_t mine, int src_lane) {
  BlockRun* b = current();
  const size_t me = thread_linear(cur_tid(), cur_bdim()), base = warp_base();
  b->exch[me] = mine;
  warp_barrier();
  const uint64_t r = b->exch[base + size_t(src_lane)];
  warp_barrier();  // nobody overwrites a slot before every lane has read
  return r;
}
inline lane_mask_t warp_ballot(bool p) {
  BlockRun* b = current();
  const size_t me = thread_linear(cur_tid(), cur_bdim()), base = warp_base();
  b->exch[me] = p ? 1 : 0;
  warp_barrier();
  lane_mask_t m = 0;
  for (int l = 0; l < kWarpSize; ++l)
    if (b->exch[base + l]) m |= lane_mask_t(1) << l;
  warp_barrier();
  return m;
}
inline int mask_popc(lane_mask_t m) { return __builtin_popcountll(m); }
inline lane_mask_t lanes_below() { return (lane_mask_t(1) << lane_id()) - 1; }
inline int mask_first_lane(lane_mask_t m) { return __builtin_ctzll(m); }
inline uint32_t warp_shfl(uint32_t v, int src) { return uint32_t(warp_exchange_get(v, src)); }
inline uint64_t warp_shfl(uint64_t v, int src) { return warp_exchange_get(v, src); }
inline uint32_t warp_shfl_down(uint32_t v, int d) {
  const int src = lane_id() + d;
  const uint32_t r = uint32_t(warp_exchange_get(v, src < kWarpSize ? src : lane_id()));
  return r;
}
inline uint64_t warp_shfl_down(uint64_t v, int d) {
  const int src = lane_id() + d;
  return warp_exchange_get(v, src < kWarpSize ? src : lane_id());
}
inline uint4 load_stream(const uint4* p) { return *p; }
inline uint2 load_stream(const uint2* p) { return *p; }
inline uint32_t load_stream(const uint32_t* p) { return *p; }
inline uint16_t load_stream(const uint16_t* p) { return *p; }
inline uint8_t load_stream(const uint8_t* p) { return *p; }
inline uint32_t load_coherent(const uint32_t* p) { return *p; }
inline uint64_t load_coherent(const uint64_t* p) { return *p; }

template <class A, class B>
inline std::common_type_t<A, B> min(A a, B b) {
  return a < b ? a : b;
}
template <class A, class B>
inline std::common_type_t<A, B> max(A a, B b) {
  return a < b ? b : a;
}

// ---- primitives ------------------------------------------------------------------------------
template <class K>
inline dev_error_t sort_keys(void* temp, size_t& temp_bytes, const K* in, K* out, size_t n, stream_t) {
  if (!temp) {
    temp_bytes = 16;
    return kSuccess;
  }
  std::vector<K> t(in, in + n);
  std::stable_sort(t.begin(), t.end());
  std::copy(t.begin(), t.end(), out);
  return kSuccess;
}
template <class K, class V>
inline dev_error_t sort_pairs(void* temp, size_t& temp_bytes, const K* kin, K* kout, const V* vin, V* vout, size_t n,
                              stream_t) {
  if (!temp) {
    temp_bytes = 16;
    return kSuccess;
  }
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), size_t(0));
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return kin[a] < kin[b]; });
  std::vector<K> k(n);
  std::vector<V> v(n);
  for (size_t i = 0; i < n; ++i) k[i] = kin[idx[i]], v[i] = vin[idx[i]];
  std::copy(k.begin(), k.end(), kout);
  std::copy(v.begin(), v.end(), vout);
  return kSuccess;
}
template <class T>
inline dev_error_t exclusive_sum(void* temp, size_t& temp_bytes, const T* in, T* out, size_t n, stream_t) {
  if (!temp) {
    temp_bytes = 16;
    return kSuccess;
  }
  T run = 0;
  for (size_t i = 0; i < n; ++i) {
    const T v = in[i];
    out[i] = run;
    run += v;
  }
  return kSuccess;
}
template <class T>
inline dev_error_t inclusive_sum(void* temp, size_t& temp_bytes, const T* in, T* out, size_t n, stream_t) {
  if (!temp) {
    temp_bytes = 16;
    return kSuccess;
  }
  T run = 0;
  for (size_t i = 0; i < n; ++i) out[i] = run += in[i];
  return kSuccess;
}

}  // namespace emudev
}  // namespace ecostat

// CUDA's built-in names, as the shared kernels spell them.
#define threadIdx (::ecostat::emudev::cur_tid())
#define blockIdx (::ecostat::emudev::cur_bid())
#define blockDim (::ecostat::emudev::cur_bdim())
#define gridDim (::ecostat::emudev::cur_gdim())
inline void __syncthreads() { ::ecostat::emudev::block_barrier(); }
inline uint32_t atomicAdd(uint32_t* p, uint32_t v) {
  const uint32_t o = *p;
  *p = o + v;
  return o;
}
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
  const unsigned long long o = *p;
  *p = o + v;
  return o;
}
inline uint32_t atomicOr(uint32_t* p, uint32_t v) {
  const uint32_t o = *p;
  *p = o | v;
  return o;
}
inline uint32_t atomicMax(uint32_t* p, uint32_t v) {
  const uint32_t o = *p;
  *p = o > v ? o : v;
  return o;
}
inline unsigned long long atomicMax(unsigned long long* p, unsigned long long v) {
  const unsigned long long o = *p;
  *p = o > v ? o : v;
  return o;
}
inline uint32_t atomicCAS(uint32_t* p, uint32_t cmp, uint32_t v) {
  const uint32_t o = *p;
  if (o == cmp) *p = v;
  return o;
}
inline uint32_t atomicExch(uint32_t* p, uint32_t v) {
  const uint32_t o = *p;
  *p = v;
  return o;
}
