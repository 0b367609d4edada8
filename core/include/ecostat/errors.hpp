// Error types. Input problems carry file, line and field so a user can find them.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace ecostat {

// Base of every ecostat error.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Malformed input under --strict, or input that cannot be read at all.
class InputError : public Error {
 public:
  InputError(std::string file, uint64_t line, std::string field, std::string reason);
  const std::string& file() const { return file_; }
  uint64_t line() const { return line_; }
  const std::string& field() const { return field_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string file_, field_, reason_;
  uint64_t line_;
};

// A backend asked for by name that was not compiled into this build.
class NotCompiledError : public Error {
 public:
  explicit NotCompiledError(const std::string& backend);
};

// A backend that was compiled but cannot run here (no driver, no device).
class BackendUnavailableError : public Error {
 public:
  BackendUnavailableError(const std::string& backend, const std::string& why);
};

// A failed device runtime call: names the call, the file and line, and the runtime's message.
class DeviceError : public Error {
 public:
  DeviceError(const std::string& backend, const std::string& call, const char* file, int line,
              const std::string& message);
};

// The device memory asked for is not there (the device is full, or ECOSTAT_DEVICE_MEMORY_LIMIT
// would be passed); the message says what was asked and what was free. Callers that can do with
// less (smaller chunks, passes over unit ranges) catch this one and no other.
class DeviceOutOfMemoryError : public DeviceError {
 public:
  using DeviceError::DeviceError;
};

// Bad job options (unknown group name, invalid percentile, ...).
class UsageError : public Error {
 public:
  using Error::Error;
};

}  // namespace ecostat
