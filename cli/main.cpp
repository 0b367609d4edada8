// ecostat: recompute the numbers that describe the Hugging Face Hub from raw records.
// Exit codes (docs/cli.md): 0 ok, 1 error, 2 usage, 3 input rejected beyond the limits.
#include <cstdio>
#include <functional>
#include <new>
#include <string>

#include "commands.hpp"
#include "ecostat/backend.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/version.hpp"

namespace {

// `ecostat --version`: the version, the commit it was built from, the backends compiled in.
std::string version_text() {
  std::string backends;
  for (const auto& b : {ecostat::probe_cpu_backend(), ecostat::probe_cuda_backend(), ecostat::probe_hip_backend()})
    if (b.compiled) backends += (backends.empty() ? "" : ", ") + b.name;
  return std::string("ecostat ") + ecostat::version() + " (commit " + ecostat::commit() + ")\nbackends compiled: " + backends;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ecostat: download share, concentration and lineage of the open-model ecosystem,\n"
               "recomputed from raw repository and download records on the CPU or a GPU.",
               "ecostat"};
  app.set_version_flag("--version", std::function<std::string()>(version_text),
                       "Print the version, the git commit and the backends compiled in");
  app.require_subcommand(1);
  auto run = ecostat::cli::add_run_command(app);
  auto backends = ecostat::cli::add_backends_command(app);
  auto report = ecostat::cli::add_report_command(app);
  auto gen = ecostat::cli::add_gen_command(app);
  auto bench = ecostat::cli::add_bench_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help, or the error with a hint
    return rc == 0 ? 0 : 2;     // usage errors exit 2, like the ones found after parsing
  }
  try {
    if (app.got_subcommand("run")) return run();
    if (app.got_subcommand("backends")) return backends();
    if (app.got_subcommand("report")) return report();
    if (app.got_subcommand("gen")) return gen();
    if (app.got_subcommand("bench")) return bench();
  } catch (const ecostat::UsageError& e) {
    std::fprintf(stderr, "ecostat: %s\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "ecostat: error: out of memory (fewer --threads or a smaller --batch may fit)\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ecostat: error: %s\n", e.what());
    return 1;
  }
  return 2;
}
