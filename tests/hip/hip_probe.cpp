// CTest hip_probe (labels hip-build, cpu): runs where the HIP backend is compiled, with or
// without an AMD GPU. It checks what a user sees: the probe never throws nor crashes, reports
// {hip, compiled, available?, status}; without a device, asking for hip by name is a clear
// BackendUnavailableError and `auto` quietly picks another backend; with a device, the backend
// is made and answers a small group sum exactly.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "ecostat/backend.hpp"
#include "ecostat/errors.hpp"

using namespace ecostat;

static int failures = 0;
#define EXPECT(cond, ...)                                        \
  do {                                                           \
    if (!(cond)) {                                               \
      std::printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      std::printf(__VA_ARGS__);                                  \
      std::printf("\n");                                         \
      ++failures;                                                \
    }                                                            \
  } while (0)

int main() {
  BackendInfo info;
  try {
    info = probe_hip_backend();
  } catch (const std::exception& e) {
    std::printf("FAIL probe_hip_backend() threw: %s\n", e.what());
    return 1;
  }
  std::printf("probe: name=%s compiled=%d available=%d device='%s' status='%s'\n", info.name.c_str(),
              int(info.compiled), int(info.available), info.device.c_str(), info.status.c_str());
  EXPECT(info.name == "hip", "name '%s'", info.name.c_str());
  EXPECT(info.compiled, "the HIP backend was built, so compiled must be true");
  // A second probe gives the same answer (the runtime is initialised once).
  BackendInfo again = probe_hip_backend();
  EXPECT(again.available == info.available && again.status == info.status, "probe not stable");

  if (!info.available) {
    EXPECT(info.status.rfind("no ", 0) == 0, "status should say why ('no device ...'): '%s'",
           info.status.c_str());
    bool threw = false;
    try {
      (void)make_hip_backend();
    } catch (const BackendUnavailableError& e) {
      threw = true;
      std::printf("make_hip_backend(): %s\n", e.what());
    } catch (const std::exception& e) {
      std::printf("FAIL make_hip_backend() threw the wrong type: %s\n", e.what());
      ++failures;
      threw = true;
    }
    EXPECT(threw, "make_hip_backend() without a device must throw BackendUnavailableError");
    try {
      auto b = select_backend("auto", 1);
      EXPECT(b && b->info().name != "hip", "auto picked hip without a device");
      if (b) std::printf("auto -> %s\n", b->info().name.c_str());
    } catch (const std::exception& e) {
      std::printf("FAIL select_backend(\"auto\") threw: %s\n", e.what());
      ++failures;
    }
  } else {
    EXPECT(info.status == "ok", "status '%s'", info.status.c_str());
    EXPECT(!info.device.empty(), "an available device has a name");
    try {
      auto b = make_hip_backend();
      GroupMap map{"parity", {0, 1, 0, 1, 0}, 2};
      std::vector<uint64_t> sums = b->group_sum({1, 2, 3, 4, 5}, map);
      EXPECT(sums == (std::vector<uint64_t>{9, 6}), "group_sum gave a wrong answer");
    } catch (const std::exception& e) {
      std::printf("FAIL the HIP backend failed on its device: %s\n", e.what());
      ++failures;
    }
  }
  std::printf("%s\n", failures ? "hip_probe: FAILED" : "hip_probe: ok");
  return failures ? 1 : 0;
}
