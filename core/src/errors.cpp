#include "ecostat/errors.hpp"

namespace ecostat {

static std::string input_message(const std::string& file, uint64_t line, const std::string& field,
                                 const std::string& reason) {
  std::string m = file;
  if (line) m += ":" + std::to_string(line);
  if (!field.empty()) m += ": field '" + field + "'";
  return m + ": " + reason;
}

InputError::InputError(std::string file, uint64_t line, std::string field, std::string reason)
    : Error(input_message(file, line, field, reason)),
      file_(std::move(file)), field_(std::move(field)), reason_(std::move(reason)), line_(line) {}

NotCompiledError::NotCompiledError(const std::string& backend)
    : Error("backend '" + backend + "' is not compiled into this build of ecostat "
            "(rebuild with -DECOSTAT_" + (backend == "cuda" ? std::string("CUDA") : std::string("HIP")) + "=ON)") {}

BackendUnavailableError::BackendUnavailableError(const std::string& backend, const std::string& why)
    : Error("backend '" + backend + "' is unavailable: " + why) {}

DeviceError::DeviceError(const std::string& backend, const std::string& call, const char* file, int line,
                         const std::string& message)
    : Error(backend + " error: " + call + " failed at " + file + ":" + std::to_string(line) + ": " + message) {}

}  // namespace ecostat
