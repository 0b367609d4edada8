// Which GPU a device backend opens (docs/scale-out.md "Devices"): the pure rules, shared by the
// CUDA and HIP backends (kernels/common/backend.inc), the engine (select_backend) and the tests.
// Header-only, so that the device code and the emulator compile it without the library.
#pragma once
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <string>

#include "ecostat/errors.hpp"

namespace ecostat {

// The index of the device a backend opens when `requested` was asked for and the node has
// device_count devices: requested mod device_count, so that any index (a rank's local rank,
// say) lands on a device; a negative request means "not chosen": device 0. Throws Error when
// there is no device at all (the probe reports that case before asking).
inline int device_for(int requested, int device_count) {
  if (device_count <= 0)
    throw Error("no device to choose from: the runtime reports " + std::to_string(device_count) + " devices");
  if (requested < 0) return 0;
  return requested % device_count;
}

// The device a job asks for (EngineOptions::device): `option` when it is >= 0, else the
// ECOSTAT_DEVICE environment variable when set, else -1 (not chosen: device 0). A variable that
// is not a non-negative integer is a UsageError, as an unknown ECOSTAT_BACKEND is.
inline int requested_device(int option) {
  if (option >= 0) return option;
  const char* env = std::getenv("ECOSTAT_DEVICE");
  if (!env || !*env) return -1;
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(env, &end, 10);
  if (end == env || *end != '\0' || errno == ERANGE || v < 0 || v > INT_MAX)
    throw UsageError("ECOSTAT_DEVICE: '" + std::string(env) + "' is not a device index (expected an integer >= 0)");
  return static_cast<int>(v);
}

}  // namespace ecostat
