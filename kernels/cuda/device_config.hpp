// The CUDA side of the device portability layer: everything in kernels/common is written
// against the names defined here (kernels/common/README.md lists them). kernels/hip has the
// same header for HIP + rocPRIM. Nothing else in the shared code names a CUDA API.
#pragma once
#include <cuda_runtime.h>

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "ecostat/errors.hpp"

// The namespace the shared code is compiled into (ecostat::cudadev here, ecostat::hipdev for
// HIP), the backend's name in messages and BackendInfo, and the runtime's prefix for the
// names of calls in error messages.
#define ECOSTAT_DEV_NS cudadev
#define ECOSTAT_DEV_BACKEND "cuda"
#define ECOSTAT_DEV_RUNTIME "CUDA"
#define ECOSTAT_DEV_API_PREFIX "cuda"  // cudaGetDeviceCount, ... (in messages)

// Device function qualifiers (identical spellings in HIP).
#define ECOSTAT_DEVICE __device__ __forceinline__
#define ECOSTAT_HOST_DEVICE __host__ __device__ __forceinline__

namespace ecostat {
namespace cudadev {

// ---- warp -----------------------------------------------------------------------------------
// Never assume 32 in shared code: use kWarpSize, lane_mask_t and the helpers below.
constexpr int kWarpSize = 32;
using lane_mask_t = uint32_t;  // one bit per lane of a warp
constexpr lane_mask_t kFullMask = 0xffffffffu;

// ---- runtime types and calls ----------------------------------------------------------------
using dev_error_t = cudaError_t;
using stream_t = cudaStream_t;
using event_t = cudaEvent_t;
constexpr dev_error_t kSuccess = cudaSuccess;

inline const char* error_name(dev_error_t e) { return cudaGetErrorName(e); }
inline const char* error_string(dev_error_t e) { return cudaGetErrorString(e); }
inline dev_error_t get_last_error() { return cudaGetLastError(); }  // and clears a non-sticky error
inline dev_error_t peek_last_error() { return cudaPeekAtLastError(); }

[[noreturn]] inline void throw_error(const char* call, const char* file, int line, dev_error_t e) {
  (void)cudaGetLastError();  // clear a non-sticky error so the next call starts clean
  throw DeviceError(ECOSTAT_DEV_BACKEND, call, file, line, std::string(error_name(e)) + ": " + error_string(e));
}

inline dev_error_t get_device_count(int* n) { return cudaGetDeviceCount(n); }
inline dev_error_t set_device(int d) { return cudaSetDevice(d); }
inline dev_error_t device_synchronize() { return cudaDeviceSynchronize(); }
inline dev_error_t mem_get_info(size_t* free_bytes, size_t* total_bytes) { return cudaMemGetInfo(free_bytes, total_bytes); }

struct DeviceProps {
  std::string name;
  int sm_count = 0;            // multiprocessors (CUs on AMD)
  int cc_major = 0, cc_minor = 0;
  size_t smem_per_block = 0;   // default static + dynamic limit per block
  size_t smem_per_block_optin = 0;  // the most a kernel may opt in to (set_max_dynamic_smem)
  size_t smem_per_sm = 0;
  size_t l2_bytes = 0;
  size_t global_bytes = 0;
  int warp_size = 0;
  int max_threads_per_sm = 0;
};
inline dev_error_t get_device_props(int d, DeviceProps* out) {
  cudaDeviceProp p;
  dev_error_t e = cudaGetDeviceProperties(&p, d);
  if (e != cudaSuccess) return e;
  out->name = p.name;
  out->sm_count = p.multiProcessorCount;
  out->cc_major = p.major;
  out->cc_minor = p.minor;
  out->smem_per_block = p.sharedMemPerBlock;
  out->smem_per_block_optin = p.sharedMemPerBlockOptin;
  out->smem_per_sm = p.sharedMemPerMultiprocessor;
  out->l2_bytes = static_cast<size_t>(p.l2CacheSize);
  out->global_bytes = p.totalGlobalMem;
  out->warp_size = p.warpSize;
  out->max_threads_per_sm = p.maxThreadsPerMultiProcessor;
  return cudaSuccess;
}

inline dev_error_t dev_malloc(void** p, size_t bytes) { return cudaMalloc(p, bytes); }
inline dev_error_t dev_free(void* p) { return cudaFree(p); }
// Stream-ordered allocation from the device's default memory pool: the allocation and the free
// are operations on stream s (work queued on s before the free may still use the block; work
// on other streams must be ordered by events). Whether a device has pools is decided once per
// device by stream_ordered_memory() (kernels/common/memory.hpp) through enable_memory_pool(d):
// cudaDevAttrMemoryPoolsSupported, and then the default pool's release threshold raised to
// "never", so freed blocks stay in the pool for reuse instead of going back to the driver at
// every synchronisation. Errors are cleared: a device without pools keeps the synchronous path.
// trim_memory_pool() gives the pool's unused blocks back (before retrying a failed allocation).
inline dev_error_t get_device(int* d) { return cudaGetDevice(d); }
inline bool enable_memory_pool(int d) {
  int supported = 0;
  cudaMemPool_t pool = nullptr;
  bool ok = cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, d) == cudaSuccess && supported &&
            cudaDeviceGetDefaultMemPool(&pool, d) == cudaSuccess;
  if (ok) {
    uint64_t keep = UINT64_MAX;
    ok = cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep) == cudaSuccess;
  }
  if (!ok) (void)cudaGetLastError();
  return ok;
}
inline dev_error_t dev_malloc_async(void** p, size_t bytes, stream_t s) { return cudaMallocAsync(p, bytes, s); }
inline dev_error_t dev_free_async(void* p, stream_t s) { return cudaFreeAsync(p, s); }
inline dev_error_t trim_memory_pool() {
  int d = 0;
  cudaMemPool_t pool = nullptr;
  dev_error_t e = cudaGetDevice(&d);
  if (e == cudaSuccess) e = cudaDeviceGetDefaultMemPool(&pool, d);
  if (e == cudaSuccess) e = cudaMemPoolTrimTo(pool, 0);
  return e;
}
inline dev_error_t host_alloc_pinned(void** p, size_t bytes) { return cudaMallocHost(p, bytes); }
inline dev_error_t host_free_pinned(void* p) { return cudaFreeHost(p); }

inline dev_error_t memcpy_h2d_async(void* dst, const void* src, size_t bytes, stream_t s) {
  return cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s);
}
inline dev_error_t memcpy_d2h_async(void* dst, const void* src, size_t bytes, stream_t s) {
  return cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s);
}
inline dev_error_t memcpy_d2d_async(void* dst, const void* src, size_t bytes, stream_t s) {
  return cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s);
}
inline dev_error_t memset_async(void* p, int byte_value, size_t bytes, stream_t s) {
  return cudaMemsetAsync(p, byte_value, bytes, s);
}

// Streams never synchronise with the legacy default stream.
inline dev_error_t stream_create(stream_t* s) { return cudaStreamCreateWithFlags(s, cudaStreamNonBlocking); }
inline dev_error_t stream_destroy(stream_t s) { return cudaStreamDestroy(s); }
inline dev_error_t stream_synchronize(stream_t s) { return cudaStreamSynchronize(s); }
inline dev_error_t stream_wait_event(stream_t s, event_t e) { return cudaStreamWaitEvent(s, e, 0); }

// Ordering events carry no timing (cheaper); timing events are for the benchmark.
inline dev_error_t event_create(event_t* e) { return cudaEventCreateWithFlags(e, cudaEventDisableTiming); }
inline dev_error_t event_create_timed(event_t* e) { return cudaEventCreate(e); }
inline dev_error_t event_destroy(event_t e) { return cudaEventDestroy(e); }
inline dev_error_t event_record(event_t e, stream_t s) { return cudaEventRecord(e, s); }
inline dev_error_t event_synchronize(event_t e) { return cudaEventSynchronize(e); }
inline dev_error_t event_elapsed_ms(float* ms, event_t a, event_t b) { return cudaEventElapsedTime(ms, a, b); }

// Lets `kernel` use more than the default dynamic shared memory per block (Hopper: up to
// 227 KB; the default limit is 48 KB).
template <class Kernel>
inline dev_error_t set_max_dynamic_smem(Kernel* kernel, int bytes) {
  return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
}
// Resident blocks per multiprocessor for `kernel` at this block size and dynamic shared memory.
template <class Kernel>
inline dev_error_t occupancy_blocks_per_sm(int* blocks, Kernel* kernel, int block_threads, size_t dyn_smem) {
  return cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks, kernel, block_threads, dyn_smem);
}
// Fails (no kernel image for this device, ...) when `kernel` cannot run on the current device.
template <class Kernel>
inline dev_error_t check_kernel_image(Kernel* kernel) {
  cudaFuncAttributes a;
  return cudaFuncGetAttributes(&a, kernel);
}

// ---- device-side helpers --------------------------------------------------------------------
#if defined(__CUDACC__)
#define ECOSTAT_DEVICE_CODE 1
// The block's dynamic shared memory (one declaration for every kernel of the backend).
ECOSTAT_DEVICE uint4* dynamic_smem() {
  extern __shared__ uint4 ecostat_dynamic_smem[];
  return ecostat_dynamic_smem;
}
ECOSTAT_DEVICE int lane_id() { return static_cast<int>(threadIdx.x) & (kWarpSize - 1); }
ECOSTAT_DEVICE lane_mask_t warp_ballot(bool p) { return __ballot_sync(kFullMask, p); }
ECOSTAT_DEVICE int mask_popc(lane_mask_t m) { return __popc(m); }
// Lanes below the calling lane, as a mask.
ECOSTAT_DEVICE lane_mask_t lanes_below() { return (lane_mask_t(1) << lane_id()) - 1; }
ECOSTAT_DEVICE int mask_first_lane(lane_mask_t m) { return __ffs(m) - 1; }  // m != 0
ECOSTAT_DEVICE uint32_t warp_shfl(uint32_t v, int src_lane) { return __shfl_sync(kFullMask, v, src_lane); }
ECOSTAT_DEVICE uint64_t warp_shfl(uint64_t v, int src_lane) { return __shfl_sync(kFullMask, v, src_lane); }
ECOSTAT_DEVICE uint32_t warp_shfl_down(uint32_t v, int d) { return __shfl_down_sync(kFullMask, v, d); }
ECOSTAT_DEVICE uint64_t warp_shfl_down(uint64_t v, int d) { return __shfl_down_sync(kFullMask, v, d); }
ECOSTAT_DEVICE void warp_sync() { __syncwarp(); }

// Streaming loads for data read once (events): evict-first, so that they do not push the
// tables out of L2.
ECOSTAT_DEVICE uint4 load_stream(const uint4* p) { return __ldcs(p); }
ECOSTAT_DEVICE uint2 load_stream(const uint2* p) { return __ldcs(p); }
ECOSTAT_DEVICE uint32_t load_stream(const uint32_t* p) { return __ldcs(p); }
ECOSTAT_DEVICE uint16_t load_stream(const uint16_t* p) { return __ldcs(reinterpret_cast<const unsigned short*>(p)); }
ECOSTAT_DEVICE uint8_t load_stream(const uint8_t* p) { return __ldcs(reinterpret_cast<const unsigned char*>(p)); }
// A load that bypasses the (non-coherent) L1: sees every earlier atomic of the grid.
ECOSTAT_DEVICE uint32_t load_coherent(const uint32_t* p) { return __ldcg(p); }
ECOSTAT_DEVICE uint64_t load_coherent(const uint64_t* p) {
  return __ldcg(reinterpret_cast<const unsigned long long*>(p));
}
#endif  // __CUDACC__

// ---- device-wide primitives (CUB) -----------------------------------------------------------
// Two-phase form, as CUB and rocPRIM both have it: with temp == nullptr only temp_bytes is
// set. Radix sorts are always full key width (begin_bit 0, end_bit = key bits): partial bit
// ranges are not used anywhere (rocPRIM on MI250X mis-sorts begin_bit > 0). Sorts are stable.
template <class K>
inline dev_error_t sort_keys(void* temp, size_t& temp_bytes, const K* in, K* out, size_t n, stream_t s) {
  return cub::DeviceRadixSort::SortKeys(temp, temp_bytes, in, out, n, 0, int(sizeof(K) * 8), s);
}
template <class K, class V>
inline dev_error_t sort_pairs(void* temp, size_t& temp_bytes, const K* keys_in, K* keys_out, const V* values_in,
                              V* values_out, size_t n, stream_t s) {
  return cub::DeviceRadixSort::SortPairs(temp, temp_bytes, keys_in, keys_out, values_in, values_out, n, 0,
                                         int(sizeof(K) * 8), s);
}
// out[i] = sum of in[0 .. i) (exclusive) / in[0 .. i] (inclusive); in and out may alias.
template <class T>
inline dev_error_t exclusive_sum(void* temp, size_t& temp_bytes, const T* in, T* out, size_t n, stream_t s) {
  return cub::DeviceScan::ExclusiveSum(temp, temp_bytes, in, out, n, s);
}
template <class T>
inline dev_error_t inclusive_sum(void* temp, size_t& temp_bytes, const T* in, T* out, size_t n, stream_t s) {
  return cub::DeviceScan::InclusiveSum(temp, temp_bytes, in, out, n, s);
}

}  // namespace cudadev
}  // namespace ecostat
