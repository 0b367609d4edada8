// Shared device code: per-architecture tuning, one table per target (as CUB's policies).
// A GPU backend names its table in device_config.hpp (ECOSTAT_DEV_POLICY_TARGET: cuda when
// not defined); the host picks the first row whose shared-memory requirement the device meets,
// from DeviceProps (the host pass of HIP cannot know the architecture at compile time).
// Rows are what the code defaults to; explicit options (GroupByOptions, the
// ECOSTAT_DEVICE_CHUNK_EVENTS variable) still override them. docs/cuda-backend.md and
// docs/hip-backend.md list the tables and which rows were measured.
#pragma once
#include <cstddef>
#include <cstdint>

#include "dev_common.hpp"

namespace ecostat {

enum class PolicyTarget { cuda, hip };

namespace ECOSTAT_DEV_NS {

struct TuningPolicy {
  const char* name;
  size_t min_smem_optin;  // the row applies to devices allowing at least this per block (bytes)
  int groupby_block;      // DenseGroupBy threads per block (a multiple of 64: either warp width)
  uint32_t hot_keys;      // DenseGroupBy hot keys in shared memory (hot_hash: 2H slots of 8 bytes)
  uint32_t chunk_events;  // DeviceAccumulator events per chunk (a pinned ring slot holds one)
};

// The hot_hash table of H hot keys: the next power of two >= 2H slots, 8 bytes each.
constexpr size_t hot_hash_smem_bytes(uint32_t hot_keys) {
  size_t slots = 8;
  while (slots < 2 * size_t(hot_keys)) slots <<= 1;
  return slots * 8;
}

// CUDA. 227 KiB per block (sm_90, H100/H200): H = 8192 (128 KiB), measured best on the H200
// (docs/gpu-runs/2026-11-26-h200). The smaller rows keep the table inside the opt-in limit of
// sm_80/86/89 (99-163 KiB) and the 48 KiB every device allows; they are not measured.
constexpr TuningPolicy kCudaPolicies[] = {
    {"cuda sm_90 (227 KiB shared)", size_t(227) << 10, 1024, 8192, 1u << 23},
    {"cuda sm_80-89 (99 KiB shared)", size_t(99) << 10, 1024, 4096, 1u << 23},
    {"cuda any (48 KiB shared)", 0, 512, 2048, 1u << 22},
};

// HIP. CDNA (gfx90a MI200, gfx942 MI300) has 64 KiB of LDS per compute unit and per workgroup:
// CUDA's H = 8192 (128 KiB) cannot launch there. H = 2048 takes 32 KiB, so two workgroups share
// a compute unit. Not measured on an AMD GPU yet (docs/hip-backend.md).
constexpr TuningPolicy kHipPolicies[] = {
    {"hip CDNA gfx90a/gfx942 (64 KiB LDS)", size_t(64) << 10, 1024, 2048, 1u << 23},
    {"hip any (32 KiB LDS)", 0, 512, 1024, 1u << 22},
};

#ifndef ECOSTAT_DEV_POLICY_TARGET
#define ECOSTAT_DEV_POLICY_TARGET ::ecostat::PolicyTarget::cuda
#endif

// The row for a device of this backend's target.
inline const TuningPolicy& select_policy(const DeviceProps& p, PolicyTarget target = ECOSTAT_DEV_POLICY_TARGET) {
  const TuningPolicy* rows = target == PolicyTarget::hip ? kHipPolicies : kCudaPolicies;
  const size_t n = target == PolicyTarget::hip ? sizeof(kHipPolicies) / sizeof(kHipPolicies[0])
                                               : sizeof(kCudaPolicies) / sizeof(kCudaPolicies[0]);
  for (size_t i = 0; i < n; ++i)
    if (p.smem_per_block_optin >= rows[i].min_smem_optin) return rows[i];
  return rows[n - 1];
}

}  // namespace ECOSTAT_DEV_NS
}  // namespace ecostat
