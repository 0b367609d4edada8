// Links when the CUDA backend is not compiled: asking for it by name is a clear error.
#include "ecostat/backend.hpp"
#include "ecostat/errors.hpp"

namespace ecostat {
std::unique_ptr<Backend> make_cuda_backend(int) { throw NotCompiledError("cuda"); }
BackendInfo probe_cuda_backend(int) { return {"cuda", "", false, false, "not compiled"}; }
}  // namespace ecostat
