// The HIP backend: the shared device code (kernels/common) compiled with HIP + rocPRIM through
// this directory's device_config.hpp. The only translation unit with device code for AMD GPUs;
// hipcc builds it for every architecture in ECOSTAT_HIP_ARCHITECTURES (cmake/EcostatHip.cmake)
// and the object joins ecostat_lib like the CPU code.
#include "device_config.hpp"
#include "common/device_backend.inc"

#include <string>

// The gfx targets this object holds code for, comma-separated (set by kernels/hip/CMakeLists.txt).
#ifndef ECOSTAT_HIP_ARCHITECTURES
#define ECOSTAT_HIP_ARCHITECTURES ""
#endif

namespace ecostat {
namespace {

// "gfx90a:sramecc+:xnack-" -> "gfx90a"
std::string base_arch(const std::string& target_id) { return target_id.substr(0, target_id.find(':')); }

bool compiled_for(const std::string& arch) {
  const std::string list = std::string(",") + ECOSTAT_HIP_ARCHITECTURES + ",";
  for (size_t b = 1, e; b < list.size(); b = e + 1) {
    e = list.find(',', b);
    if (base_arch(list.substr(b, e - b)) == arch) return true;
  }
  return false;
}

// The shared probe, plus what only HIP can say plainly: the device's gfx target, and whether
// this build holds a code object for it (otherwise every launch would fail with
// hipErrorNoBinaryForGpu). requested: as hipdev::probe_backend (mod the device count).
BackendInfo probe(int requested) {
  hipdev::ChosenDevice chosen;
  BackendInfo info = hipdev::probe_backend(requested, &chosen);
  if (!info.available) return info;
  hipdev::DeviceProps p;
  if (hipdev::get_device_props(chosen.index, &p) != hipSuccess) return info;
  const std::string arch = base_arch(p.arch);
  if (!arch.empty() && !compiled_for(arch)) {
    info.available = false;
    info.status = "device " + std::to_string(chosen.index) + " of " + std::to_string(chosen.count) + " (" + p.name +
                  ", " + arch + ") cannot run this build: compiled for " + ECOSTAT_HIP_ARCHITECTURES +
                  " (rebuild with -DECOSTAT_HIP_ARCHITECTURES=" + arch + ")";
    return info;
  }
  if (!arch.empty()) info.device += ", " + arch + ", wavefront " + std::to_string(p.warp_size);
  return info;
}

}  // namespace

BackendInfo probe_hip_backend(int device) {
  try {
    return probe(device);
  } catch (const std::exception& e) {  // never throws
    return {"hip", "", true, false, std::string("no device (") + e.what() + ")"};
  }
}

std::unique_ptr<Backend> make_hip_backend(int device) {
  const BackendInfo i = probe_hip_backend(device);
  if (!i.available) throw BackendUnavailableError("hip", i.status);
  return hipdev::make_backend(device);
}

}  // namespace ecostat
