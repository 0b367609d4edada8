// Shared device code, part 1: checked calls, sizes, atomics and block reductions.
// Included after the backend's device_config.hpp (kernels/cuda or kernels/hip), which defines
// ECOSTAT_DEV_NS and the portability names this file and the rest of kernels/common use.
#pragma once
#include <cstddef>
#include <cstdint>

#include "device_config.hpp"
#include "ecostat/types.hpp"

#ifndef ECOSTAT_DEV_NS
#error "include the backend's device_config.hpp first (kernels/cuda or kernels/hip)"
#endif

// A checked runtime call: throws ecostat::DeviceError naming the call, file and line.
// (Variadic, so that template argument lists with commas need no extra parentheses.)
#define ECOSTAT_CHECK(...)                                                                    \
  do {                                                                                        \
    ::ecostat::ECOSTAT_DEV_NS::dev_error_t ecostat_e_ = (__VA_ARGS__);                        \
    if (ecostat_e_ != ::ecostat::ECOSTAT_DEV_NS::kSuccess)                                    \
      ::ecostat::ECOSTAT_DEV_NS::throw_error(#__VA_ARGS__, __FILE__, __LINE__, ecostat_e_);   \
  } while (0)

// After every kernel launch: a launch error (bad configuration, no kernel image) throws here.
#define ECOSTAT_CHECK_LAUNCH(what)                                                            \
  do {                                                                                        \
    ::ecostat::ECOSTAT_DEV_NS::dev_error_t ecostat_e_ = ::ecostat::ECOSTAT_DEV_NS::get_last_error(); \
    if (ecostat_e_ != ::ecostat::ECOSTAT_DEV_NS::kSuccess)                                    \
      ::ecostat::ECOSTAT_DEV_NS::throw_error("launch " what, __FILE__, __LINE__, ecostat_e_); \
  } while (0)

namespace ecostat {
namespace ECOSTAT_DEV_NS {

constexpr size_t div_up(size_t a, size_t b) { return (a + b - 1) / b; }
constexpr size_t align_up(size_t a, size_t b) { return div_up(a, b) * b; }

// Host side: whether this build's kernels run on a device whose warp size is w. CUDA has one
// kWarpSize for every architecture. HIP compiles each architecture with its own wavefront
// (64 on CDNA, 32 on RDNA) and its host pass cannot know the device's: its device_config.hpp
// defines ECOSTAT_DEV_WARP_SIZE_PER_ARCH and its own warp_size_supported().
#ifndef ECOSTAT_DEV_WARP_SIZE_PER_ARCH
inline bool warp_size_supported(int w) { return w == kWarpSize; }
#endif

// Error bits a kernel raises in a device word (the host throws once it reads them).
enum ErrorBits : uint32_t {
  kErrUnitRange = 1u << 0,      // an event's unit outside the table
  kErrMonthRange = 1u << 1,     // an event's month outside the table
  kErrKeyRange = 1u << 2,       // group-by key >= n_keys
  kErrGroupRange = 1u << 3,     // a group map sends a unit to a group >= n_groups
  kErrUnitPastEnd = 1u << 4,    // finish(n_units) but a unit >= n_units has downloads
  kErrSegmentRange = 1u << 5,   // segment_of[i] >= n_segments
  kErrGraphOffsets = 1u << 6,   // lineage offsets decrease or pass the edge count
  kErrGraphParent = 1u << 7,    // lineage parent >= n_nodes
  kErrGraphRelation = 1u << 8,  // lineage relation >= kRelationCount
  kErrGraphCycle = 1u << 9,     // a multi-parent node reaches itself
};

#if defined(ECOSTAT_DEVICE_CODE)  // set by device_config.hpp when compiling device code

// ---- atomics on the fixed-width types (the runtimes spell them on unsigned long long) -------
ECOSTAT_DEVICE void atomic_add_u64(uint64_t* p, uint64_t v) {
  atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
}
ECOSTAT_DEVICE void atomic_max_u64(uint64_t* p, uint64_t v) {
  atomicMax(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
}
ECOSTAT_DEVICE uint32_t atomic_add_u32(uint32_t* p, uint32_t v) { return atomicAdd(p, v); }
ECOSTAT_DEVICE void raise_error(uint32_t* flags, uint32_t bits) { atomicOr(flags, bits); }

// Grid-stride loop bounds in size_t (10^9 events: never index in 32 bits).
ECOSTAT_DEVICE size_t global_thread() { return size_t(blockIdx.x) * blockDim.x + threadIdx.x; }
ECOSTAT_DEVICE size_t grid_threads() { return size_t(gridDim.x) * blockDim.x; }

// Appends `item` to out[*count] for the lanes where `take` holds; one atomic per warp.
// Every lane of the warp must call it (no divergence around the call).
ECOSTAT_DEVICE void warp_append(bool take, uint32_t item, uint32_t* out, uint32_t* count, uint32_t capacity) {
  const lane_mask_t m = warp_ballot(take);
  if (m == 0) return;
  const int leader = mask_first_lane(m);
  uint32_t base = 0;
  if (lane_id() == leader) base = atomicAdd(count, static_cast<uint32_t>(mask_popc(m)));
  base = warp_shfl(base, leader);
  if (take) {
    const uint32_t pos = base + static_cast<uint32_t>(mask_popc(m & lanes_below()));
    if (pos < capacity) out[pos] = item;
  }
}

// ---- block reductions ----------------------------------------------------------------------
// Shared scratch for block_reduce_*: one slot per warp of the largest block (1024 threads).
constexpr int kMaxWarps = 1024 / kWarpSize;

// (declared before warp_reduce: u128 has no associated namespace for ADL.)
// u128 through shuffles of its two halves.
ECOSTAT_DEVICE u128 warp_shfl_down(u128 v, int d) {
  const uint64_t lo = warp_shfl_down(static_cast<uint64_t>(v), d);
  const uint64_t hi = warp_shfl_down(static_cast<uint64_t>(v >> 64), d);
  return (static_cast<u128>(hi) << 64) | lo;
}

template <class T, class Op>
ECOSTAT_DEVICE T warp_reduce(T v, Op op) {
  for (int d = kWarpSize / 2; d > 0; d /= 2) v = op(v, warp_shfl_down(v, d));
  return v;
}

// Reduces v over the block with op; the result is valid in thread 0. `scratch` holds
// kMaxWarps values. Every thread of the block must call it.
template <class T, class Op>
ECOSTAT_DEVICE T block_reduce(T v, Op op, T* scratch) {
  const int warp = static_cast<int>(threadIdx.x) / kWarpSize, lane = lane_id();
  const int warps = static_cast<int>((blockDim.x + kWarpSize - 1) / kWarpSize);
  v = warp_reduce(v, op);
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < warps ? scratch[lane] : T(0);
    v = warp_reduce(v, op);
  }
  return v;
}

struct AddOp {
  template <class T>
  ECOSTAT_DEVICE T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
  template <class T>
  ECOSTAT_DEVICE T operator()(T a, T b) const { return a > b ? a : b; }
};
struct OrOp {
  template <class T>
  ECOSTAT_DEVICE T operator()(T a, T b) const { return a | b; }
};

#endif  // ECOSTAT_DEVICE_CODE

}  // namespace ECOSTAT_DEV_NS
}  // namespace ecostat
