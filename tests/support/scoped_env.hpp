// One environment variable set for a scope and unset after it (tests of the ECOSTAT_* knobs).
#pragma once
#include <cstdlib>
#include <string>
#include <utility>

namespace ecostat::test {

class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) { setenv(name_.c_str(), value.c_str(), 1); }
  ~ScopedEnv() { unsetenv(name_.c_str()); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
};

}  // namespace ecostat::test
