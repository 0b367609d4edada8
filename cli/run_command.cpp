// `ecostat run`: one job from inputs to JSON, CSV and the terminal.
#include <algorithm>
#include <cstdio>
#include <limits>
#include <memory>
#include <thread>

#include "commands.hpp"
#include "ecostat/detail/output_file.hpp"
#include "ecostat/engine.hpp"
#include "ecostat/job.hpp"
#include "ecostat/errors.hpp"
#include "job_io.hpp"
#include "progress.hpp"
#include "scale_out.hpp"

namespace ecostat::cli {

namespace {
struct RunOptions {
  JobSpec job;
  JobOptionStrings extra;
  std::string json_path, csv_dir;
  bool quiet = false;
  size_t table_rows = 10;
  double max_reject_fraction = kDefaultMaxRejectFraction;
};

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}
}  // namespace

void add_reject_limit_option(CLI::App* cmd, double& max_fraction) {
  cmd->add_option("--max-reject-fraction", max_fraction,
                  "Exit 3 when an input file has more than this fraction of its records rejected (0-1)")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
}

void add_job_options(CLI::App* cmd, JobSpec& j, JobOptionStrings& extra) {
  cmd->add_option("--repos", j.repos_path, "Repository records: Hub JSON Lines (or CSV with a `metadata` JSON column); - for stdin");
  // The first file is also JobSpec::downloads_path at once (report checks it before finish_job_options).
  cmd->add_option_function<std::vector<std::string>>(
         "--downloads",
         [&j, &extra](const std::vector<std::string>& files) {
           extra.downloads = files;
           j.downloads_path = files.empty() ? std::string() : files[0];
         },
         "Download records CSV: repo,date,downloads or repo,date,downloads_all_time; several files (run only): "
         "repeat the option or separate them with commas (docs/scale-out.md)")
      ->delimiter(',');
  cmd->add_option("--downloads-format", j.downloads_format, "detect | per_period | cumulative")
      ->check(CLI::IsMember({"detect", "per_period", "cumulative"}))->capture_default_str();
  cmd->add_option("--orgs", j.orgs_path, "Attribution CSV: handle -> organisation, country, region, org_type");
  cmd->add_option("--params", j.params_path,
                  "Parameters table CSV (model_id,total_params_b,... as tracked-models' model_parameters.csv, or "
                  "model_id,parameters): parameter counts for models without safetensors.total");
  cmd->add_option("--params-prefer", j.params_prefer, "Which count wins when a model has both: table | safetensors")
      ->check(CLI::IsMember({"table", "safetensors"}))->capture_default_str();
  cmd->add_option("--measure", extra.measure,
                  "What makes a unit's total: records (download records), all_time (downloads_all_time), 30d, or auto")
      ->check(CLI::IsMember({"auto", "records", "all_time", "30d"}))->capture_default_str();
  extra.backend_option = cmd->add_option("--backend", j.backend, "auto | cpu | cuda | hip (default: ECOSTAT_BACKEND, else auto)")
                             ->capture_default_str();
  cmd->add_option("--device", j.device,
                  "GPU backends: the device to use, taken mod the devices on this node (default: ECOSTAT_DEVICE, else "
                  "0; under mpirun: the rank's local rank)")
      ->check(CLI::Range(0, std::numeric_limits<int>::max()));
  cmd->add_option("--threads", j.threads,
                  "Threads of the CPU backend and the downloads CSV reader (0 = all cores; at most " + std::to_string(max_threads()) + ")")
      ->capture_default_str();
  cmd->add_option("--rejects", j.rejects_path, "Write every rejected record (file,line,field,reason) to this CSV");
  cmd->add_flag("--strict", j.strict, "Stop with an error at the first rejected record");
  cmd->add_option("--min-date", j.min_date, "Plausible-date window start: earlier download and creation dates are rejected")
      ->capture_default_str();
  cmd->add_option("--max-date", j.max_date, "Plausible-date window end (YYYY-MM-DD, at most 7431-03-31)")
      ->capture_default_str();
  cmd->add_option("--duplicates", j.duplicates,
                  "Download rows repeating a repo and date: count (each counted, the number reported) | reject")
      ->check(CLI::IsMember({"count", "reject"}))->capture_default_str();
  auto* c = &j.concentration;
  cmd->add_option("--top-k", c->top_k, "Top-k shares to report")->delimiter(',')->capture_default_str();
  cmd->add_option("--top-pct", c->top_pct, "Top-p% shares to report (percent of units)")->delimiter(',')->capture_default_str();
  cmd->add_option("--percentiles", c->percentiles, "Percentiles (0-100, linear interpolation)")->delimiter(',')->capture_default_str();
  cmd->add_option("--below", c->below, "Count units with a total below these thresholds")->delimiter(',')->capture_default_str();
  cmd->add_option("--lorenz-points", c->lorenz_points, "Points on each Lorenz curve")->capture_default_str();
  const std::string groups = join(all_group_names());
  cmd->add_option("--share-groups", j.share_groups, "Share tables to compute, among: " + groups + " (none = no share table)")
      ->delimiter(',');
  cmd->add_option("--month-groups", j.month_groups,
                  "<group>_x_month tables to compute (needs --downloads; none = no month table: with --study none, "
                  "only one total per model is kept while reading)")
      ->delimiter(',');
  cmd->add_option("--units", j.concentration_units, "Concentration over totals of these units (model or a group)")
      ->delimiter(',')->capture_default_str();
  cmd->add_option("--within", j.concentration_within,
                  "Concentration of model totals within each group of these (none = not within any)")
      ->delimiter(',');
  cmd->add_option("--share-limit", j.share_limit, "Rows per share list (per month for x_month); 0 = all")->capture_default_str();
  cmd->add_option("--family-limit", j.family_limit, "Families listed; 0 = all")->capture_default_str();
  cmd->add_option("--size-buckets", j.size_bucket_edges, "Parameter-count bucket edges")->delimiter(',')->capture_default_str();
  cmd->add_option("--family-tags", j.family_tags, "Tags that name a family, for derivatives per tag")->delimiter(',');
  cmd->add_option("--batch", j.batch_capacity, "Events per batch streamed to the backend")->capture_default_str();
  // The study (docs/study-*.md).
  StudySpec& s = j.study;
  cmd->add_option("--study", s.parts, "Study parts: size,adoption,lifetime,growth,attribution (none = no study)")
      ->delimiter(',')->capture_default_str();
  cmd->add_flag("--inherit-attribution", j.inherit_attribution,
                "A model whose own organisation/country/region/org type is unknown takes its base model's (first attributed "
                "ancestor along primary parents)");
  cmd->add_option("--adoption-ages", s.adoption_ages, "Relative adoption: ages in days since creation")
      ->delimiter(',')->capture_default_str();
  cmd->add_option("--adoption-top", s.adoption_top, "Relative adoption: size of the top group of each size class (k)")
      ->capture_default_str();
  cmd->add_option("--adoption-ratio", s.adoption_ratio, "Relative adoption: size classes whose top-k medians are compared, A/B")
      ->capture_default_str();
  cmd->add_option("--adoption-models", s.adoption_models, "Relative adoption: models listed with their ratios (default: the top by downloads)")
      ->delimiter(',');
  cmd->add_option("--adoption-limit", s.adoption_limit, "Relative adoption: models listed when --adoption-models is not given (0 = all)")
      ->capture_default_str();
  cmd->add_option("--lifetime-fraction", s.lifetime_fraction, "Engagement lifetime: f, the fraction of the peak")->capture_default_str();
  cmd->add_option("--lifetime-window", s.lifetime_window,
                  "Engagement lifetime: release window FROM:TO (YYYY, YYYY-MM or YYYY-MM-DD; a side may be empty)");
  cmd->add_option("--lifetime-min-months", s.lifetime_min_months, "Engagement lifetime: fewest months with downloads in a series")
      ->capture_default_str();
  cmd->add_flag("--lifetime-left-censored", s.lifetime_left_censored,
                "Engagement lifetime: include models released before the first month of download records");
  cmd->add_option("--lifetime-kinds", s.lifetime_kinds, "Engagement lifetime: repository kinds (model, dataset, space)")
      ->delimiter(',')->capture_default_str();
  cmd->add_option("--lifetime-limit", s.lifetime_limit, "Engagement lifetime: models listed (by peak; 0 = all)")->capture_default_str();
  cmd->add_option("--growth-groups", s.growth_groups, "Growth: repositories created per group of these")
      ->delimiter(',')->capture_default_str();
  cmd->add_option("--tag-category", extra.tag_categories,
                  "Growth: a tag category NAME=PATTERN|PATTERN (a trailing * matches a prefix); repeat for more; replaces "
                  "the defaults (robotics, speech, text-generation)");
  cmd->add_option("--growth-limit", s.growth_limit, "Growth: groups listed per table (0 = all)")->capture_default_str();
  cmd->add_option("--year-groups", s.year_groups, "Attribution over time: share.<group>_x_year tables (needs --downloads)")
      ->delimiter(',')->capture_default_str();
}

unsigned max_threads() {
  return std::max(256u, 4 * std::thread::hardware_concurrency());
}

void finish_job_options(JobSpec& job, const JobOptionStrings& extra) {
  // Without --backend the engine reads ECOSTAT_BACKEND (select_backend with an empty name).
  if (extra.backend_option && extra.backend_option->count() == 0) job.backend.clear();
  if (job.threads > max_threads())
    throw UsageError("--threads " + std::to_string(job.threads) + ": at most " + std::to_string(max_threads()) +
                     " (4 x the hardware threads, at least 256)");
  if (extra.downloads.size() > 1 && !extra.several_downloads)
    throw UsageError("--downloads: several download files are taken by `ecostat run` only");
  job.measure = parse_measure(extra.measure);
  // "none" lists nothing (an empty option value cannot be told from a missing one).
  for (auto* list : {&job.study.parts, &job.share_groups, &job.month_groups, &job.concentration_within})
    if (list->size() == 1 && (*list)[0] == "none") list->clear();
  if (!extra.tag_categories.empty()) {
    job.study.tag_categories.clear();
    for (const auto& c : extra.tag_categories) job.study.tag_categories.push_back(parse_tag_category(c));
  }
}

std::function<int()> add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  auto* cmd = app.add_subcommand(
      "run",
      "Compute download share, concentration, lineage and the ecosystem study (size, adoption, lifetime, growth, "
      "attribution over time). With no input option it runs on the embedded sample data.");
  add_job_options(cmd, o->job, o->extra);
  o->extra.several_downloads = true;
  cmd->add_option("--json", o->json_path, "Write the results document (ecostat.results/1) here; - for stdout");
  cmd->add_option("--csv", o->csv_dir, "Write CSV tables into this directory (created with its parents)");
  cmd->add_flag("--quiet,-q", o->quiet, "Do not print the tables (the one-line reject summary is still printed)");
  cmd->add_option("--rows", o->table_rows, "Rows per table on the terminal")->capture_default_str();
  add_reject_limit_option(cmd, o->max_reject_fraction);

  return [o]() {
    finish_job_options(o->job, o->extra);
    // Several download files or an MPI launch: sharded over ranks (docs/scale-out.md).
    if (scale_out_wanted(o->extra.downloads))
      return run_scaled(o->job, o->extra.downloads,
                        {o->json_path, o->csv_dir, o->quiet, o->table_rows, o->max_reject_fraction});
    check_job_files(o->job, {{"--json", o->json_path}, {"--rejects", o->job.rejects_path}}, o->csv_dir);
    Progress progress;
    if (progress.enabled())
      o->job.progress = [&progress](const std::string& stage, uint64_t done, uint64_t total) {
        progress.update(stage, done, total);
      };
    Results r = run_job(o->job);
    progress.finish();
    if (!o->json_path.empty()) write_results_json_file(r, o->json_path, 2, o->job.threads);
    if (!o->csv_dir.empty()) write_results_csv(r, o->csv_dir);
    if (!o->quiet && o->json_path != "-") write_stdout(results_to_text(r, o->table_rows));
    note_device_memory(r);
    return check_rejects(r, o->job, o->max_reject_fraction);
  };
}

}  // namespace ecostat::cli
