// Run-time backend choice. `auto` prefers a GPU backend that was compiled in and finds a
// device; a missing driver or device is not an error for auto, only when asked by name.
#include <cstdlib>

#include "ecostat/backend.hpp"
#include "ecostat/device_choice.hpp"
#include "ecostat/errors.hpp"

namespace ecostat {

std::unique_ptr<Backend> select_backend(const std::string& requested, unsigned cpu_threads, int device_option) {
  std::string name = requested, from = "backend";
  if (name.empty()) {
    const char* env = std::getenv("ECOSTAT_BACKEND");
    name = (env && *env) ? env : "auto";
    if (env && *env) from = "ECOSTAT_BACKEND";
  }
  if (name == "cpu") return make_cpu_backend(cpu_threads);
  // Read before trying a GPU: a bad ECOSTAT_DEVICE is a usage error even where auto ends on the CPU.
  const int device = requested_device(device_option);
  if (name == "cuda") return make_cuda_backend(device);
  if (name == "hip") return make_hip_backend(device);
  if (name == "auto") {
    if (probe_cuda_backend(device).available) {
      try { return make_cuda_backend(device); } catch (const Error&) {}
    }
    if (probe_hip_backend(device).available) {
      try { return make_hip_backend(device); } catch (const Error&) {}
    }
    return make_cpu_backend(cpu_threads);
  }
  throw UsageError(from + ": unknown backend '" + name + "' (expected auto, cpu, cuda or hip)");
}

}  // namespace ecostat
