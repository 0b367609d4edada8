// The CUDA backend: the shared device code (kernels/common) compiled with CUDA + CUB through
// device_config.hpp. The only translation unit with device code in the library.
#include "device_config.hpp"
#include "common/device_backend.inc"

namespace ecostat {
std::unique_ptr<Backend> make_cuda_backend(int device) { return cudadev::make_backend(device); }
BackendInfo probe_cuda_backend(int device) { return cudadev::probe_backend(device); }
}  // namespace ecostat
