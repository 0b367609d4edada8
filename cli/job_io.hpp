// What `run` and `report` check around a job: before it (inputs and outputs, so that no work
// is lost to an output that cannot be written) and after it (the reject summary and limits).
#pragma once
#include <string>
#include <vector>

#include "ecostat/engine.hpp"

namespace ecostat::cli {

// Exit codes (docs/cli.md).
constexpr int kExitOk = 0;
constexpr int kExitError = 1;     // I/O or runtime error, --strict reject, backend failure
constexpr int kExitUsage = 2;     // bad options
constexpr int kExitRejects = 3;   // results written, but an input file was (mostly) rejected

constexpr double kDefaultMaxRejectFraction = 0.01;

// An output file and the option that names it, e.g. {"--json", "out/results.json"}.
struct OutputPath {
  std::string option, path;
};

// Before any work: at most one input on standard input; no output is one of the inputs
// (UsageError); every output's directory exists and is writable, `csv_dir` (when given) is
// created with its parents (Error).
void check_job_files(const JobSpec& job, const std::vector<OutputPath>& outputs, const std::string& csv_dir = "");

// After the job: one line on stderr when records were rejected (even with -q), and the
// exit code: kExitRejects when a file with records accepted none, or rejected more than
// `max_fraction` of them (the reason on stderr); else kExitOk.
int check_rejects(const Results& r, const JobSpec& job, double max_fraction);

// After the job: one line on stderr (even with -q) when the device accumulator had to adapt to
// the device's memory (Results::accumulator: finish in passes, a smaller ring chunk).
void note_device_memory(const Results& r);

// Standard output, checked: a write error (a full disk, a closed pipe) throws Error.
void write_stdout(const std::string& text);

// 1234567 -> "1,234,567".
std::string with_thousands(uint64_t n);

}  // namespace ecostat::cli
