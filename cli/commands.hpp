// The ecostat command's subcommands, each registered on the CLI11 app by its own file.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

#include "ecostat/engine.hpp"  // JobSpec, for the shared job options

namespace ecostat::cli {

// Each returns the action to run when its subcommand was chosen; the action returns the exit code.
std::function<int()> add_run_command(CLI::App& app);
std::function<int()> add_backends_command(CLI::App& app);
std::function<int()> add_report_command(CLI::App& app);  // report_command.cpp
// The job's options (inputs, backend, metrics, study), shared by run and report (run_command.cpp).
// `measure` receives --measure, `tag_categories` --tag-category; finish_job_options applies them.
// finish_job_options also lets ECOSTAT_BACKEND choose when --backend was not given, and
// refuses more than max_threads() threads (UsageError).
struct JobOptionStrings {
  std::string measure = "auto";
  std::vector<std::string> tag_categories;
  CLI::Option* backend_option = nullptr;
  // --downloads, repeated or comma-separated; the first is also JobSpec::downloads_path. Several
  // are taken by `run` only (several_downloads = true; cli/scale_out.hpp), else a UsageError.
  std::vector<std::string> downloads;
  bool several_downloads = false;
};
void add_job_options(CLI::App* cmd, JobSpec& job, JobOptionStrings& extra);
void finish_job_options(JobSpec& job, const JobOptionStrings& extra);
unsigned max_threads();  // the cap on --threads: 4 x the hardware threads, at least 256
// --max-reject-fraction (run, and report when it computes).
void add_reject_limit_option(CLI::App* cmd, double& max_fraction);
std::function<int()> add_gen_command(CLI::App& app);    // gen_command.cpp
std::function<int()> add_bench_command(CLI::App& app);  // bench_command.cpp

}  // namespace ecostat::cli
