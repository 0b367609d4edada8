// `ecostat backends`: which backends this build has and which can run here.
#include <cstdio>
#include <limits>
#include <memory>
#include <string>

#include "commands.hpp"
#include "ecostat/backend.hpp"
#include "ecostat/device_choice.hpp"

namespace ecostat::cli {

std::function<int()> add_backends_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("backends", "List the compute backends: compiled in, device found, status");
  auto probe = std::make_shared<std::string>();
  cmd->add_option("--probe", *probe, "Exit 0 when this backend (cpu, cuda, hip) can run here, else print why and exit 1")
      ->check(CLI::IsMember({"cpu", "cuda", "hip"}));
  auto device = std::make_shared<int>(-1);
  cmd->add_option("--device", *device,
                  "GPU backends: probe this device, taken mod the devices here (default: ECOSTAT_DEVICE, else 0)")
      ->check(CLI::Range(0, std::numeric_limits<int>::max()));
  return [probe, device]() {
    const int d = requested_device(*device);  // as `ecostat run --device` would open
    const BackendInfo all[] = {probe_cpu_backend(), probe_cuda_backend(d), probe_hip_backend(d)};
    if (!probe->empty()) {
      for (const auto& b : all)
        if (b.name == *probe) {
          if (b.available) {
            std::printf("%s: %s\n", b.name.c_str(), b.device.c_str());
            return 0;
          }
          std::printf("%s\n", b.status.c_str());
          return 1;
        }
    }
    std::printf("%-6s %-10s %-10s %s\n", "name", "compiled", "available", "device / status");
    for (const auto& b : all)
      std::printf("%-6s %-10s %-10s %s\n", b.name.c_str(), b.compiled ? "yes" : "no", b.available ? "yes" : "no",
                  b.available ? b.device.c_str() : b.status.c_str());
    return 0;
  };
}

}  // namespace ecostat::cli
