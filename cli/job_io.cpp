// Checks around a job (job_io.hpp).
#include "job_io.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "ecostat/detail/output_file.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/study.hpp"

namespace ecostat::cli {

namespace {

struct InputPath {
  const char* option;
  const std::string* path;
};

std::vector<InputPath> inputs_of(const JobSpec& job) {
  std::vector<InputPath> in;
  for (InputPath p : {InputPath{"--repos", &job.repos_path}, InputPath{"--downloads", &job.downloads_path},
                      InputPath{"--orgs", &job.orgs_path}, InputPath{"--params", &job.params_path}})
    if (!p.path->empty()) in.push_back(p);
  return in;
}

// Standard input can be read once: two inputs given as `-` would see one stream.
void check_one_stdin(const std::vector<InputPath>& inputs) {
  const char* first = nullptr;
  for (const auto& in : inputs) {
    if (*in.path != "-") continue;
    if (first) throw UsageError(std::string(first) + " and " + in.option + " both read standard input (-): only one input can");
    first = in.option;
  }
}

}  // namespace

void check_job_files(const JobSpec& job, const std::vector<OutputPath>& outputs, const std::string& csv_dir) {
  const auto inputs = inputs_of(job);
  check_one_stdin(inputs);
  for (const auto& out : outputs) {
    if (out.path.empty()) continue;
    for (const auto& in : inputs)
      if (same_file(out.path, *in.path))
        throw UsageError(out.option + " " + out.path + " is the input file of " + in.option +
                         ": refusing to overwrite an input");
  }
  for (const auto& out : outputs)
    if (!out.path.empty()) check_output_file(out.path);
  if (!csv_dir.empty()) ensure_output_directory(csv_dir);
}

std::string with_thousands(uint64_t n) { return report::group_thousands(std::to_string(n)); }

void note_device_memory(const Results& r) {
  for (const std::string& note : memory_notes(r)) std::fprintf(stderr, "ecostat: note: %s\n", note.c_str());
}

int check_rejects(const Results& r, const JobSpec& job, double max_fraction) {
  uint64_t read = 0;
  for (const auto& f : r.input.files) read += f.read;
  if (r.input.rejected > 0) {
    const std::string where = job.rejects_path.empty() ? "--rejects FILE lists them" : "see " + job.rejects_path;
    std::fprintf(stderr, "ecostat: %s of %s records rejected (%s)\n", with_thousands(r.input.rejected).c_str(),
                 with_thousands(read).c_str(), where.c_str());
  }
  int code = kExitOk;
  for (const auto& f : r.input.files) {
    if (f.read == 0) continue;
    const double fraction = double(f.rejected) / double(f.read);
    if (f.accepted == 0) {
      std::fprintf(stderr, "ecostat: error: %s: none of its %s records was accepted\n", f.file.c_str(),
                   with_thousands(f.read).c_str());
      code = kExitRejects;
    } else if (fraction > max_fraction) {
      std::fprintf(stderr, "ecostat: error: %s: %s of %s records rejected (%.3g%%), above --max-reject-fraction %g\n",
                   f.file.c_str(), with_thousands(f.rejected).c_str(), with_thousands(f.read).c_str(), 100 * fraction,
                   max_fraction);
      code = kExitRejects;
    }
  }
  return code;
}

void write_stdout(const std::string& text) {
  errno = 0;
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    throw Error(std::string("cannot write standard output: ") + std::strerror(errno ? errno : EIO));
}

}  // namespace ecostat::cli
