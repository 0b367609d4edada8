// `ecostat report`: the self-contained HTML report, from a results document (--results) or
// from the same inputs as `ecostat run` (computed first).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "commands.hpp"
#include "ecostat/detail/output_file.hpp"
#include "ecostat/engine.hpp"
#include "ecostat/job.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/study.hpp"
#include "job_io.hpp"
#include "progress.hpp"

namespace ecostat::cli {

namespace {
struct ReportOptions {
  JobSpec job;
  JobOptionStrings extra;
  std::string results_path, out_path, json_path, title;
  double max_reject_fraction = kDefaultMaxRejectFraction;
};

std::string slurp(const std::string& path) {
  std::ostringstream s;
  if (path == "-") {
    s << std::cin.rdbuf();
    return s.str();
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path, 0, "", "cannot open the results document");
  s << f.rdbuf();
  return s.str();
}
}  // namespace

std::function<int()> add_report_command(CLI::App& app) {
  auto o = std::make_shared<ReportOptions>();
  auto* cmd = app.add_subcommand(
      "report",
      "Write a self-contained HTML report (charts, no network needed to view it) from a results document "
      "(--results), or from the same inputs as `run` (with none, the embedded sample).");
  cmd->add_option("--results", o->results_path, "A results document written by `ecostat run --json` (- for stdin)");
  cmd->add_option("--out,-o", o->out_path, "The HTML file to write")->required();
  cmd->add_option("--title", o->title, "Title of the page");
  cmd->add_option("--json", o->json_path, "When computing from inputs: also write the results document here");
  // The report draws one Lorenz curve per concentration unit: more than run's default.
  o->job.concentration_units = {"model", "author", "family"};
  add_job_options(cmd, o->job, o->extra);
  add_reject_limit_option(cmd, o->max_reject_fraction);

  return [o]() {
    std::string doc;
    int code = kExitOk;
    if (!o->results_path.empty()) {
      const JobSpec& j = o->job;
      if (!j.repos_path.empty() || !j.downloads_path.empty() || !j.orgs_path.empty() || !j.params_path.empty())
        throw UsageError("report: give either --results or input options (--repos, --downloads, --orgs, --params), not both");
      if (same_file(o->out_path, o->results_path))
        throw UsageError("--out " + o->out_path + " is the input file of --results: refusing to overwrite an input");
      check_job_files(o->job, {{"--out", o->out_path}});
      doc = slurp(o->results_path);
    } else {
      finish_job_options(o->job, o->extra);
      check_job_files(o->job, {{"--out", o->out_path}, {"--json", o->json_path}, {"--rejects", o->job.rejects_path}});
      Progress progress;
      if (progress.enabled())
        o->job.progress = [&progress](const std::string& stage, uint64_t done, uint64_t total) {
          progress.update(stage, done, total);
        };
      Results r = run_job(o->job);
      progress.finish();
      doc = results_to_json(r);
      if (!o->json_path.empty()) write_file_atomically(o->json_path, doc);
      note_device_memory(r);
      code = check_rejects(r, o->job, o->max_reject_fraction);
    }
    const std::string html = results_report_html(doc, o->title);
    write_file_atomically(o->out_path, html);
    std::fprintf(stderr, "ecostat: wrote %s (%zu bytes)\n", o->out_path.c_str(), html.size());
    return code;
  };
}

}  // namespace ecostat::cli
