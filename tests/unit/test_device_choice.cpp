// Which GPU a device backend opens (ecostat/device_choice.hpp, docs/scale-out.md "Devices"):
// device_for (requested mod the device count), requested_device (the option, else
// ECOSTAT_DEVICE), device_for_rank (an explicit device, else the local rank: cli/cluster.hpp),
// and what reaches select_backend and the engine's options in a CPU-only build.
#include <catch2/catch.hpp>

#include <climits>
#include <cstdlib>
#include <optional>
#include <string>

#include "../../cli/cluster.hpp"
#include "ecostat/backend.hpp"
#include "ecostat/device_choice.hpp"
#include "ecostat/engine.hpp"
#include "ecostat/errors.hpp"

using namespace ecostat;

namespace {

// One environment variable set (or unset) for a scope; the previous value comes back after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("device_for: the requested index mod the device count", "[device]") {
  CHECK(device_for(0, 1) == 0);
  CHECK(device_for(1, 2) == 1);
  CHECK(device_for(2, 2) == 0);
  CHECK(device_for(5, 2) == 1);
  CHECK(device_for(7, 8) == 7);
  CHECK(device_for(8, 8) == 0);
  CHECK(device_for(13, 4) == 1);
  CHECK(device_for(INT_MAX, 3) == INT_MAX % 3);
  // Every local rank of an 8-rank node on a 4-GPU node: two ranks per device, in turn.
  for (int rank = 0; rank < 8; ++rank) CHECK(device_for(rank, 4) == rank % 4);
}

TEST_CASE("device_for: a negative request (not chosen) is device 0", "[device]") {
  CHECK(device_for(-1, 1) == 0);
  CHECK(device_for(-1, 4) == 0);
  CHECK(device_for(-7, 3) == 0);
  CHECK(device_for(INT_MIN, 2) == 0);
}

TEST_CASE("device_for: no device is an error that says so", "[device]") {
  CHECK_THROWS_AS(device_for(0, 0), Error);
  CHECK_THROWS_WITH(device_for(0, 0), Catch::Contains("no device") && Catch::Contains("0 devices"));
  CHECK_THROWS_WITH(device_for(-1, 0), Catch::Contains("no device"));
  CHECK_THROWS_WITH(device_for(3, -2), Catch::Contains("-2 devices"));
}

TEST_CASE("requested_device: the option, else ECOSTAT_DEVICE, else not chosen", "[device]") {
  {
    ScopedEnv env("ECOSTAT_DEVICE", nullptr);
    CHECK(requested_device(-1) == -1);
    CHECK(requested_device(0) == 0);
    CHECK(requested_device(3) == 3);
  }
  {
    ScopedEnv env("ECOSTAT_DEVICE", "");
    CHECK(requested_device(-1) == -1);  // empty: not set
  }
  {
    ScopedEnv env("ECOSTAT_DEVICE", "2");
    CHECK(requested_device(-1) == 2);
    CHECK(requested_device(5) == 5);  // the option wins
    CHECK(requested_device(0) == 0);
  }
}

TEST_CASE("requested_device: an ECOSTAT_DEVICE that is not an index is a usage error", "[device]") {
  for (const char* bad : {"abc", "-1", "1x", "1.5", "99999999999", " "}) {
    INFO("ECOSTAT_DEVICE=" << bad);
    ScopedEnv env("ECOSTAT_DEVICE", bad);
    CHECK_THROWS_AS(requested_device(-1), UsageError);
    CHECK_THROWS_WITH(requested_device(-1), Catch::Contains("ECOSTAT_DEVICE") && Catch::Contains(bad));
    CHECK(requested_device(1) == 1);  // not read when the option chose
  }
}

TEST_CASE("device_for_rank: an explicit device, else the local rank", "[device][cluster]") {
  CHECK(cli::device_for_rank(-1, 0) == 0);
  CHECK(cli::device_for_rank(-1, 3) == 3);
  CHECK(cli::device_for_rank(2, 3) == 2);
  CHECK(cli::device_for_rank(0, 5) == 0);
  // Then the backend's rule: rank i of a node with 2 devices uses device i mod 2.
  CHECK(device_for(cli::device_for_rank(-1, 3), 2) == 1);
  CHECK(device_for(cli::device_for_rank(-1, 4), 2) == 0);
  CHECK(device_for(cli::device_for_rank(6, 4), 2) == 0);
}

TEST_CASE("EngineOptions::device: -1 or an index, anything below is a usage error", "[device]") {
  EngineOptions o;
  CHECK(o.device == -1);  // not chosen by default
  CHECK_NOTHROW(o.validate());
  o.device = 0;
  CHECK_NOTHROW(o.validate());
  o.device = 7;
  CHECK_NOTHROW(o.validate());
  o.device = -2;
  CHECK_THROWS_AS(o.validate(), UsageError);
  CHECK_THROWS_WITH(o.validate(), Catch::Contains("device -2"));
}

TEST_CASE("select_backend: the device does not change the CPU backend", "[device]") {
  ScopedEnv env("ECOSTAT_DEVICE", nullptr);
  const BackendInfo plain = select_backend("cpu", 2)->info();
  const BackendInfo with_device = select_backend("cpu", 2, 3)->info();
  CHECK(with_device.name == "cpu");
  CHECK(with_device.device == plain.device);
  CHECK(with_device.status == plain.status);
}

TEST_CASE("select_backend: a bad ECOSTAT_DEVICE stops auto, not a named cpu", "[device]") {
  ScopedEnv env("ECOSTAT_DEVICE", "gpu1");
  CHECK_THROWS_AS(select_backend("auto", 1), UsageError);
  CHECK_THROWS_WITH(select_backend("auto", 1), Catch::Contains("ECOSTAT_DEVICE"));
  CHECK(select_backend("cpu", 1)->info().name == "cpu");
  CHECK(select_backend("auto", 1, 0)->info().name != "");  // an explicit device: the variable is not read
}

TEST_CASE("select_backend: cuda and hip without their backend fail as before, whatever the device", "[device]") {
  ScopedEnv env("ECOSTAT_DEVICE", nullptr);
  for (const std::string name : {"cuda", "hip"}) {
    const BackendInfo p = name == "cuda" ? probe_cuda_backend() : probe_hip_backend();
    if (p.compiled) continue;  // a GPU build: the emulator and GPU tests cover it
    INFO(name);
    std::string plain, with_device;
    try { select_backend(name, 1); } catch (const NotCompiledError& e) { plain = e.what(); }
    try { select_backend(name, 1, 3); } catch (const NotCompiledError& e) { with_device = e.what(); }
    CHECK(!plain.empty());
    CHECK(with_device == plain);
    CHECK((name == "cuda" ? probe_cuda_backend(5) : probe_hip_backend(5)).status == "not compiled");
  }
}
