// `ecostat run`: one job from inputs to JSON, CSV and the terminal.
#include <cstdio>
#include <fstream>
#include <memory>

#include "commands.hpp"
#include "ecostat/engine.hpp"
#include "ecostat/errors.hpp"
#include "progress.hpp"

namespace ecostat::cli {

namespace {
struct RunOptions {
  JobSpec job;
  std::string measure = "auto";
  std::string json_path, csv_dir;
  bool quiet = false;
  size_t table_rows = 10;
};

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}
}  // namespace

std::function<int()> add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  JobSpec& j = o->job;
  auto* cmd = app.add_subcommand(
      "run",
      "Compute download share, concentration and lineage. With no input option it runs on the embedded sample data.");
  cmd->add_option("--repos", j.repos_path, "Repository records: Hub JSON Lines (or CSV with a `metadata` JSON column); - for stdin");
  cmd->add_option("--downloads", j.downloads_path, "Download records CSV: repo,date,downloads or repo,date,downloads_all_time");
  cmd->add_option("--downloads-format", j.downloads_format, "detect | per_period | cumulative")
      ->check(CLI::IsMember({"detect", "per_period", "cumulative"}))->capture_default_str();
  cmd->add_option("--orgs", j.orgs_path, "Attribution CSV: handle -> organisation, country, region, org_type");
  cmd->add_option("--measure", o->measure,
                  "What makes a unit's total: records (download records), all_time (downloads_all_time), 30d, or auto")
      ->check(CLI::IsMember({"auto", "records", "all_time", "30d"}))->capture_default_str();
  cmd->add_option("--backend", j.backend, "auto | cpu | cuda | hip (also ECOSTAT_BACKEND)")->capture_default_str();
  cmd->add_option("--threads", j.threads, "CPU backend threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--json", o->json_path, "Write the results document (ecostat.results/1) here; - for stdout");
  cmd->add_option("--csv", o->csv_dir, "Write CSV tables into this directory");
  cmd->add_option("--rejects", j.rejects_path, "Write every rejected record (file,line,field,reason) to this CSV");
  cmd->add_flag("--strict", j.strict, "Stop with an error at the first rejected record");
  cmd->add_flag("--quiet,-q", o->quiet, "Do not print the tables");
  cmd->add_option("--rows", o->table_rows, "Rows per table on the terminal")->capture_default_str();
  auto* c = &j.concentration;
  cmd->add_option("--top-k", c->top_k, "Top-k shares to report")->delimiter(',')->capture_default_str();
  cmd->add_option("--top-pct", c->top_pct, "Top-p% shares to report (percent of units)")->delimiter(',')->capture_default_str();
  cmd->add_option("--percentiles", c->percentiles, "Percentiles (0-100, linear interpolation)")->delimiter(',')->capture_default_str();
  cmd->add_option("--below", c->below, "Count units with a total below these thresholds")->delimiter(',')->capture_default_str();
  cmd->add_option("--lorenz-points", c->lorenz_points, "Points on each Lorenz curve")->capture_default_str();
  const std::string groups = join(all_group_names());
  cmd->add_option("--share-groups", j.share_groups, "Share tables to compute, among: " + groups)->delimiter(',');
  cmd->add_option("--month-groups", j.month_groups, "<group>_x_month tables to compute (needs --downloads)")->delimiter(',');
  cmd->add_option("--units", j.concentration_units, "Concentration over totals of these units (model or a group)")
      ->delimiter(',')->capture_default_str();
  cmd->add_option("--within", j.concentration_within, "Concentration of model totals within each group of these")->delimiter(',');
  cmd->add_option("--share-limit", j.share_limit, "Rows per share list (per month for x_month); 0 = all")->capture_default_str();
  cmd->add_option("--family-limit", j.family_limit, "Families listed; 0 = all")->capture_default_str();
  cmd->add_option("--size-buckets", j.size_bucket_edges, "Parameter-count bucket edges")->delimiter(',')->capture_default_str();
  cmd->add_option("--family-tags", j.family_tags, "Tags that name a family, for derivatives per tag")->delimiter(',');
  cmd->add_option("--batch", j.batch_capacity, "Events per batch streamed to the backend")->capture_default_str();

  return [o]() {
    o->job.measure = parse_measure(o->measure);
    Progress progress;
    if (progress.enabled())
      o->job.progress = [&progress](const std::string& stage, uint64_t done, uint64_t total) {
        progress.update(stage, done, total);
      };
    Results r = run_job(o->job);
    progress.finish();
    if (!o->json_path.empty()) {
      const std::string doc = results_to_json(r);
      if (o->json_path == "-") {
        std::fwrite(doc.data(), 1, doc.size(), stdout);
      } else {
        std::ofstream f(o->json_path);
        if (!(f << doc)) throw Error("cannot write " + o->json_path);
      }
    }
    if (!o->csv_dir.empty()) write_results_csv(r, o->csv_dir);
    if (!o->quiet && o->json_path != "-") std::fputs(results_to_text(r, o->table_rows).c_str(), stdout);
    return 0;
  };
}

}  // namespace ecostat::cli
