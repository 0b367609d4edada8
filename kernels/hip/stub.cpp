// Links when the HIP backend is not compiled: asking for it by name is a clear error.
#include "ecostat/backend.hpp"
#include "ecostat/errors.hpp"

namespace ecostat {
std::unique_ptr<Backend> make_hip_backend(int) { throw NotCompiledError("hip"); }
BackendInfo probe_hip_backend(int) { return {"hip", "", false, false, "not compiled"}; }
}  // namespace ecostat
