// The shared device backend compiled for the CPU emulator (device_config.hpp beside this file;
// launches rewritten by transform.py). It stands in for the CUDA backend in the emulator's test
// build: make_cuda_backend() returns it, so the conformance suite runs the shared kernels.
#include "device_config.hpp"
#include "common/device_backend.inc"

namespace ecostat {
std::unique_ptr<Backend> make_cuda_backend(int device) { return emudev::make_backend(device); }
BackendInfo probe_cuda_backend(int device) { return emudev::probe_backend(device); }
}  // namespace ecostat
