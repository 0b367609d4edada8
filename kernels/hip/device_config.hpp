// The HIP side of the device portability layer: the twin of kernels/cuda/device_config.hpp,
// the same names over the HIP runtime and rocPRIM (kernels/common/README.md lists them).
// Nothing else in the shared code names a HIP API.
//
// Differences from CUDA that this header absorbs:
//   - the wavefront ("warp") is 64 lanes on CDNA (gfx90a, gfx942) and 32 on RDNA (gfx1030):
//     kWarpSize is the compile-time value of the architecture being compiled, lane_mask_t is
//     64 bits wide for both (the upper half is zero in wave32);
//   - there are no *_sync warp intrinsics in HIP 5.2: a wavefront runs in lockstep, so the
//     plain __ballot/__shfl forms with a wavefront barrier are the equivalents;
//   - rocPRIM's device algorithms replace CUB's, with the same two-phase temporary storage.
#pragma once
#include <hip/hip_runtime.h>

#include <rocprim/device/device_radix_sort.hpp>
#include <rocprim/device/device_scan.hpp>
#include <rocprim/functional.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "ecostat/errors.hpp"

// The namespace the shared code is compiled into, the backend's name in messages and
// BackendInfo, and the runtime's prefix for the names of calls in error messages.
#define ECOSTAT_DEV_NS hipdev
#define ECOSTAT_DEV_BACKEND "hip"
#define ECOSTAT_DEV_RUNTIME "HIP"
#define ECOSTAT_DEV_API_PREFIX "hip"  // hipGetDeviceCount, ... (in messages)

// Device function qualifiers (the same spellings as CUDA).
#define ECOSTAT_DEVICE __device__ __forceinline__
#define ECOSTAT_HOST_DEVICE __host__ __device__ __forceinline__

namespace ecostat {
namespace hipdev {

// ---- warp (wavefront) ------------------------------------------------------------------------
// Never assume 32 (or 64) in shared code: use kWarpSize, lane_mask_t and the helpers below.
// hipcc compiles each source once for the host and once per --offload-arch. In a device pass
// kWarpSize is that architecture's wavefront (64 on gfx90a/gfx942, 32 on gfx1030). In the host
// pass no architecture is known: kWarpSize is 64, the largest, and host code that sizes
// anything by warps (warps per block, scratch per warp) must use DeviceProps::warp_size, the
// device's real value, instead.
#if defined(__HIP_DEVICE_COMPILE__) && defined(__AMDGCN_WAVEFRONT_SIZE__)  // clang >= 19
constexpr int kWarpSize = __AMDGCN_WAVEFRONT_SIZE__;
#elif defined(__HIP_DEVICE_COMPILE__)
constexpr int kWarpSize = __AMDGCN_WAVEFRONT_SIZE;
#else
constexpr int kWarpSize = 64;
#endif
static_assert(kWarpSize == 32 || kWarpSize == 64, "AMD wavefronts have 32 or 64 lanes");
// Each architecture's code object carries its own wavefront size, so a device of either kind
// runs this build (kernels/common/backend.inc asks this instead of comparing with kWarpSize).
#define ECOSTAT_DEV_WARP_SIZE_PER_ARCH 1
inline bool warp_size_supported(int w) { return w == 32 || w == 64; }
// Tuning: HIP's own table in kernels/common/policy.hpp (64 KiB of LDS: fewer hot keys than CUDA).
#define ECOSTAT_DEV_POLICY_TARGET ::ecostat::PolicyTarget::hip
using lane_mask_t = uint64_t;  // one bit per lane; wave32 uses the low 32 bits
constexpr lane_mask_t kFullMask = kWarpSize == 64 ? ~lane_mask_t(0) : lane_mask_t(0xffffffffu);

// ---- runtime types and calls ----------------------------------------------------------------
using dev_error_t = hipError_t;
using stream_t = hipStream_t;
using event_t = hipEvent_t;
constexpr dev_error_t kSuccess = hipSuccess;

inline const char* error_name(dev_error_t e) { return hipGetErrorName(e); }
inline const char* error_string(dev_error_t e) { return hipGetErrorString(e); }
inline dev_error_t get_last_error() { return hipGetLastError(); }  // and clears it
inline dev_error_t peek_last_error() { return hipPeekAtLastError(); }

[[noreturn]] inline void throw_error(const char* call, const char* file, int line, dev_error_t e) {
  (void)hipGetLastError();  // clear the error so the next call starts clean
  throw DeviceError(ECOSTAT_DEV_BACKEND, call, file, line, std::string(error_name(e)) + ": " + error_string(e));
}

inline dev_error_t get_device_count(int* n) { return hipGetDeviceCount(n); }
inline dev_error_t set_device(int d) { return hipSetDevice(d); }
inline dev_error_t device_synchronize() { return hipDeviceSynchronize(); }
inline dev_error_t mem_get_info(size_t* free_bytes, size_t* total_bytes) { return hipMemGetInfo(free_bytes, total_bytes); }

struct DeviceProps {
  std::string name;
  int sm_count = 0;            // compute units
  int cc_major = 0, cc_minor = 0;  // gfx90a: 9.0, gfx1030: 10.3
  size_t smem_per_block = 0;   // LDS per work-group (64 KiB on CDNA2 and RDNA2)
  size_t smem_per_block_optin = 0;  // AMD has no opt-in beyond the default: same as above
  size_t smem_per_sm = 0;
  size_t l2_bytes = 0;
  size_t global_bytes = 0;
  int warp_size = 0;           // the device's wavefront: 64 (CDNA) or 32 (RDNA)
  int max_threads_per_sm = 0;
  std::string arch;            // HIP only: gcnArchName, e.g. "gfx90a:sramecc+:xnack-"
};
inline dev_error_t get_device_props(int d, DeviceProps* out) {
  hipDeviceProp_t p;
  dev_error_t e = hipGetDeviceProperties(&p, d);
  if (e != hipSuccess) return e;
  out->name = p.name;
  out->sm_count = p.multiProcessorCount;
  out->cc_major = p.major;
  out->cc_minor = p.minor;
  out->smem_per_block = p.sharedMemPerBlock;
  out->smem_per_block_optin = p.sharedMemPerBlock;
  out->smem_per_sm = p.maxSharedMemoryPerMultiProcessor;
  out->l2_bytes = p.l2CacheSize > 0 ? static_cast<size_t>(p.l2CacheSize) : 0;
  out->global_bytes = p.totalGlobalMem;
  out->warp_size = p.warpSize;
  out->max_threads_per_sm = p.maxThreadsPerMultiProcessor;
  out->arch = p.gcnArchName;
  return hipSuccess;
}

inline dev_error_t dev_malloc(void** p, size_t bytes) { return hipMalloc(p, bytes); }
inline dev_error_t dev_free(void* p) { return hipFree(p); }
// Stream-ordered allocation from the device's default memory pool (the twin of CUDA's, see
// kernels/cuda/device_config.hpp): enable_memory_pool(d) checks
// hipDeviceAttributeMemoryPoolsSupported and raises the default pool's release threshold so
// freed blocks are reused; stream_ordered_memory() (kernels/common/memory.hpp) asks it once per device.
inline dev_error_t get_device(int* d) { return hipGetDevice(d); }
inline bool enable_memory_pool(int d) {
  int supported = 0;
  hipMemPool_t pool = nullptr;
  bool ok = hipDeviceGetAttribute(&supported, hipDeviceAttributeMemoryPoolsSupported, d) == hipSuccess && supported &&
            hipDeviceGetDefaultMemPool(&pool, d) == hipSuccess;
  if (ok) {
    uint64_t keep = UINT64_MAX;
    ok = hipMemPoolSetAttribute(pool, hipMemPoolAttrReleaseThreshold, &keep) == hipSuccess;
  }
  if (!ok) (void)hipGetLastError();
  return ok;
}
inline dev_error_t dev_malloc_async(void** p, size_t bytes, stream_t s) { return hipMallocAsync(p, bytes, s); }
inline dev_error_t dev_free_async(void* p, stream_t s) { return hipFreeAsync(p, s); }
inline dev_error_t trim_memory_pool() {
  int d = 0;
  hipMemPool_t pool = nullptr;
  dev_error_t e = hipGetDevice(&d);
  if (e == hipSuccess) e = hipDeviceGetDefaultMemPool(&pool, d);
  if (e == hipSuccess) e = hipMemPoolTrimTo(pool, 0);
  return e;
}
inline dev_error_t host_alloc_pinned(void** p, size_t bytes) { return hipHostMalloc(p, bytes, hipHostMallocDefault); }
inline dev_error_t host_free_pinned(void* p) { return hipHostFree(p); }

inline dev_error_t memcpy_h2d_async(void* dst, const void* src, size_t bytes, stream_t s) {
  return hipMemcpyAsync(dst, src, bytes, hipMemcpyHostToDevice, s);
}
inline dev_error_t memcpy_d2h_async(void* dst, const void* src, size_t bytes, stream_t s) {
  return hipMemcpyAsync(dst, src, bytes, hipMemcpyDeviceToHost, s);
}
inline dev_error_t memcpy_d2d_async(void* dst, const void* src, size_t bytes, stream_t s) {
  return hipMemcpyAsync(dst, src, bytes, hipMemcpyDeviceToDevice, s);
}
inline dev_error_t memset_async(void* p, int byte_value, size_t bytes, stream_t s) {
  return hipMemsetAsync(p, byte_value, bytes, s);
}

// Streams never synchronise with the null stream.
inline dev_error_t stream_create(stream_t* s) { return hipStreamCreateWithFlags(s, hipStreamNonBlocking); }
inline dev_error_t stream_destroy(stream_t s) { return hipStreamDestroy(s); }
inline dev_error_t stream_synchronize(stream_t s) { return hipStreamSynchronize(s); }
inline dev_error_t stream_wait_event(stream_t s, event_t e) { return hipStreamWaitEvent(s, e, 0); }

// Ordering events carry no timing (cheaper); timing events are for the benchmark.
inline dev_error_t event_create(event_t* e) { return hipEventCreateWithFlags(e, hipEventDisableTiming); }
inline dev_error_t event_create_timed(event_t* e) { return hipEventCreate(e); }
inline dev_error_t event_destroy(event_t e) { return hipEventDestroy(e); }
inline dev_error_t event_record(event_t e, stream_t s) { return hipEventRecord(e, s); }
inline dev_error_t event_synchronize(event_t e) { return hipEventSynchronize(e); }
inline dev_error_t event_elapsed_ms(float* ms, event_t a, event_t b) { return hipEventElapsedTime(ms, a, b); }

// AMD has no opt-in shared memory: every work-group may use up to smem_per_block (64 KiB).
// Asking for more cannot work, so it fails here rather than at the launch.
template <class Kernel>
inline dev_error_t set_max_dynamic_smem(Kernel* kernel, int bytes) {
  int device = 0;
  hipDeviceProp_t p;
  dev_error_t e = hipGetDevice(&device);
  if (e == hipSuccess) e = hipGetDeviceProperties(&p, device);
  if (e != hipSuccess) return e;
  if (bytes < 0 || static_cast<size_t>(bytes) > p.sharedMemPerBlock) return hipErrorInvalidValue;
  (void)kernel;
  return hipSuccess;
}
// Resident blocks per compute unit for `kernel` at this block size and dynamic shared memory.
template <class Kernel>
inline dev_error_t occupancy_blocks_per_sm(int* blocks, Kernel* kernel, int block_threads, size_t dyn_smem) {
  return hipOccupancyMaxActiveBlocksPerMultiprocessor(blocks, reinterpret_cast<const void*>(kernel), block_threads,
                                                      dyn_smem);
}
// Fails (no code object for this device's architecture, ...) when `kernel` cannot run on the
// current device.
template <class Kernel>
inline dev_error_t check_kernel_image(Kernel* kernel) {
  hipFuncAttributes a;
  return hipFuncGetAttributes(&a, reinterpret_cast<const void*>(kernel));
}

// ---- device-side helpers --------------------------------------------------------------------
#if defined(__HIPCC__)
#define ECOSTAT_DEVICE_CODE 1
// The block's dynamic shared memory (one declaration for every kernel of the backend).
ECOSTAT_DEVICE uint4* dynamic_smem() {
  extern __shared__ uint4 ecostat_dynamic_smem[];
  return ecostat_dynamic_smem;
}
ECOSTAT_DEVICE int lane_id() { return static_cast<int>(__lane_id()); }
ECOSTAT_DEVICE lane_mask_t warp_ballot(bool p) { return static_cast<lane_mask_t>(__ballot(p)); }
ECOSTAT_DEVICE int mask_popc(lane_mask_t m) { return __popcll(static_cast<unsigned long long>(m)); }
// Lanes below the calling lane, as a mask.
ECOSTAT_DEVICE lane_mask_t lanes_below() { return (lane_mask_t(1) << lane_id()) - 1; }
ECOSTAT_DEVICE int mask_first_lane(lane_mask_t m) {  // m != 0
  return static_cast<int>(__ffsll(static_cast<unsigned long long>(m))) - 1;
}
ECOSTAT_DEVICE uint32_t warp_shfl(uint32_t v, int src_lane) { return __shfl(static_cast<unsigned int>(v), src_lane); }
ECOSTAT_DEVICE uint64_t warp_shfl(uint64_t v, int src_lane) {
  return __shfl(static_cast<unsigned long long>(v), src_lane);
}
ECOSTAT_DEVICE uint32_t warp_shfl_down(uint32_t v, int d) {
  return __shfl_down(static_cast<unsigned int>(v), static_cast<unsigned int>(d));
}
ECOSTAT_DEVICE uint64_t warp_shfl_down(uint64_t v, int d) {
  return __shfl_down(static_cast<unsigned long long>(v), static_cast<unsigned int>(d));
}
// A wavefront runs in lockstep; what __syncwarp adds on CUDA is the memory ordering between
// its lanes (shared memory written by one lane, read by another), which these fences give.
ECOSTAT_DEVICE void warp_sync() {
  __builtin_amdgcn_fence(__ATOMIC_RELEASE, "wavefront");
  __builtin_amdgcn_wave_barrier();
  __builtin_amdgcn_fence(__ATOMIC_ACQUIRE, "wavefront");
}

// Streaming loads for data read once (events): non-temporal, so that they do not push the
// tables out of the caches.
ECOSTAT_DEVICE uint4 load_stream(const uint4* p) {
  uint4 r;
  r.data = __builtin_nontemporal_load(&p->data);
  return r;
}
ECOSTAT_DEVICE uint2 load_stream(const uint2* p) {
  uint2 r;
  r.data = __builtin_nontemporal_load(&p->data);
  return r;
}
ECOSTAT_DEVICE uint32_t load_stream(const uint32_t* p) { return __builtin_nontemporal_load(p); }
ECOSTAT_DEVICE uint16_t load_stream(const uint16_t* p) { return __builtin_nontemporal_load(p); }
ECOSTAT_DEVICE uint8_t load_stream(const uint8_t* p) { return __builtin_nontemporal_load(p); }
// A load that bypasses the non-coherent per-CU cache: sees every earlier atomic of the grid
// (device-scope relaxed atomic load, as __ldcg on CUDA).
ECOSTAT_DEVICE uint32_t load_coherent(const uint32_t* p) {
  return __hip_atomic_load(p, __ATOMIC_RELAXED, __HIP_MEMORY_SCOPE_AGENT);
}
ECOSTAT_DEVICE uint64_t load_coherent(const uint64_t* p) {
  return __hip_atomic_load(p, __ATOMIC_RELAXED, __HIP_MEMORY_SCOPE_AGENT);
}
#endif  // __HIPCC__

// ---- device-wide primitives (rocPRIM) -------------------------------------------------------
// Two-phase form, as CUB has it: with temp == nullptr only temp_bytes is set. Radix sorts are
// always full key width (begin_bit 0, end_bit = key bits): rocPRIM on MI250X (gfx90a) loses
// keys with begin_bit > 0 and end_bit = key width, so no partial bit range is ever passed.
// Sorts are stable.
namespace detail {
constexpr size_t kMinTempBytes = 16;  // never 0: a 0-byte allocation would be a null pointer,
                                      // which rocPRIM reads as "only compute the size"
inline dev_error_t nonzero(dev_error_t e, void* temp, size_t& temp_bytes) {
  if (temp == nullptr && e == hipSuccess && temp_bytes < kMinTempBytes) temp_bytes = kMinTempBytes;
  return e;
}
}  // namespace detail

template <class K>
inline dev_error_t sort_keys(void* temp, size_t& temp_bytes, const K* in, K* out, size_t n, stream_t s) {
  return detail::nonzero(
      rocprim::radix_sort_keys(temp, temp_bytes, in, out, n, 0u, unsigned(sizeof(K) * 8), s), temp, temp_bytes);
}
template <class K, class V>
inline dev_error_t sort_pairs(void* temp, size_t& temp_bytes, const K* keys_in, K* keys_out, const V* values_in,
                              V* values_out, size_t n, stream_t s) {
  return detail::nonzero(rocprim::radix_sort_pairs(temp, temp_bytes, keys_in, keys_out, values_in, values_out, n, 0u,
                                                   unsigned(sizeof(K) * 8), s),
                         temp, temp_bytes);
}
// out[i] = sum of in[0 .. i) (exclusive) / in[0 .. i] (inclusive); in and out may alias
// (rocPRIM's scans read each tile before they write it).
template <class T>
inline dev_error_t exclusive_sum(void* temp, size_t& temp_bytes, const T* in, T* out, size_t n, stream_t s) {
  return detail::nonzero(rocprim::exclusive_scan(temp, temp_bytes, in, out, T(0), n, rocprim::plus<T>(), s), temp,
                         temp_bytes);
}
template <class T>
inline dev_error_t inclusive_sum(void* temp, size_t& temp_bytes, const T* in, T* out, size_t n, stream_t s) {
  return detail::nonzero(rocprim::inclusive_scan(temp, temp_bytes, in, out, n, rocprim::plus<T>(), s), temp,
                         temp_bytes);
}

}  // namespace hipdev
}  // namespace ecostat
