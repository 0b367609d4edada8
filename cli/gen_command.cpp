// `ecostat gen`: Hub-shaped synthetic data at any scale (docs/generator.md).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <memory>
#include <string>

#include "commands.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/host/generator.hpp"

namespace ecostat::cli {

namespace {
struct GenOptions {
  host::GenSpec spec;
  std::string records = "1M", models = "2.2M", authors = "0", attributed = "0";
  std::string out_dir, to_stdout;
  std::vector<std::string> formats{"repos", "downloads", "orgs"};
  std::vector<double> relation_mix{0.36, 0.43, 0.19, 0.02};
  bool quiet = false;
};

uint64_t file_size(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 ? uint64_t(st.st_size) : 0;
}
}  // namespace

std::function<int()> add_gen_command(CLI::App& app) {
  auto o = std::make_shared<GenOptions>();
  host::GenSpec& s = o->spec;
  auto* cmd = app.add_subcommand(
      "gen",
      "Generate Hub-shaped synthetic data (repos.jsonl, downloads.csv, orgs.csv, binary columns), deterministic "
      "from a seed, at any scale (docs/generator.md)");
  cmd->add_option("--out", o->out_dir, "Directory to write into (created if missing)");
  cmd->add_option("--records", o->records, "Download records (1000, 1e8, 2.5M, 10G ...)")->capture_default_str();
  cmd->add_option("--models", o->models, "Repository records (models)")->capture_default_str();
  cmd->add_option("--seed", s.seed, "Seed: the same seed and options give the same bytes")->capture_default_str();
  cmd->add_option("--formats", o->formats,
                  "What to write: repos (repos.jsonl), downloads (downloads.csv), orgs (orgs.csv), bin (events/*.u32|u16 "
                  "and units/*.u32 for the peers)")
      ->delimiter(',')
      ->check(CLI::IsMember({"repos", "downloads", "orgs", "bin"}))
      ->capture_default_str();
  cmd->add_option("--stdout", o->to_stdout, "Write only this file to standard output (repos, downloads or orgs)")
      ->check(CLI::IsMember({"repos", "downloads", "orgs"}));
  cmd->add_option("--threads", s.threads, "Threads formatting records (0 = all cores)")->capture_default_str();
  cmd->add_option("--authors", o->authors, "Author handles (0 = models / 6)")->capture_default_str();
  cmd->add_option("--attributed", o->attributed, "Handles in orgs.csv, the most prolific first (0 = min(authors, 5000))")
      ->capture_default_str();
  cmd->add_option("--derivative-fraction", s.derivative_fraction, "Fraction of models with a base model")->capture_default_str();
  cmd->add_option("--relation-mix", o->relation_mix, "Weights of finetune,adapter,quantized,merge")
      ->delimiter(',')
      ->expected(4)
      ->capture_default_str();
  cmd->add_option("--nested", s.nested, "Derivatives at depth L in proportion to nested^(L-1), L = 1..4")->capture_default_str();
  cmd->add_option("--family-exponent", s.family_exponent, "Parent popularity ~ rank^-s (sets the largest family)")
      ->capture_default_str();
  cmd->add_option("--author-exponent", s.author_exponent, "Models per author ~ rank^-s")->capture_default_str();
  cmd->add_option("--record-skew", s.record_skew, "Records per model: P(popularity rank < x) = (x/models)^skew")
      ->capture_default_str();
  cmd->add_option("--download-exponent", s.download_exponent, "Expected model total ~ rank^-exponent")->capture_default_str();
  cmd->add_option("--median-downloads", s.median_downloads, "Expected total of the median model")->capture_default_str();
  cmd->add_option("--first-day", s.first_day, "First date of download records")->capture_default_str();
  cmd->add_option("--last-day", s.last_day, "Last date of download records")->capture_default_str();
  cmd->add_option("--hub-start", s.hub_start, "Earliest creation date")->capture_default_str();
  cmd->add_flag("--quiet,-q", o->quiet, "Print nothing but errors");

  return [o]() {
    host::GenSpec& s = o->spec;
    s.records = host::parse_scaled_count(o->records);
    const uint64_t models = host::parse_scaled_count(o->models);
    if (models == 0 || models > 0xfffffff0ull) throw UsageError("--models must be between 1 and 2^32 - 16");
    s.models = uint32_t(models);
    const uint64_t authors = host::parse_scaled_count(o->authors), attributed = host::parse_scaled_count(o->attributed);
    if (authors > 0xffffffffull || attributed > 0xffffffffull) throw UsageError("--authors/--attributed too large");
    s.authors = uint32_t(authors);
    s.attributed = uint32_t(attributed);
    for (int i = 0; i < 4; ++i) s.relation_mix[i] = o->relation_mix[i];
    if (o->out_dir.empty() && o->to_stdout.empty()) throw UsageError("gen: give --out DIR or --stdout FILE");
    const bool verbose = !o->quiet && o->to_stdout.empty();
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    auto secs = [](Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); };
    host::Generator g(s);
    if (!o->to_stdout.empty()) {
      if (o->to_stdout == "repos") g.write_repos_jsonl("-");
      else if (o->to_stdout == "orgs") g.write_orgs_csv("-");
      else g.write_downloads_csv("-");
      return 0;
    }
    if (::mkdir(o->out_dir.c_str(), 0755) != 0 && errno != EEXIST)
      throw Error("cannot create " + o->out_dir + ": " + std::strerror(errno));
    if (verbose)
      std::fprintf(stderr, "gen: %llu models, %u authors, %llu records, seed %llu, %u threads (model tables %.2f s)\n",
                   (unsigned long long)s.models, g.n_authors(), (unsigned long long)s.records,
                   (unsigned long long)s.seed, g.threads(), secs(t0));
    std::vector<std::string> files;
    auto has = [&](const char* f) { return std::find(o->formats.begin(), o->formats.end(), f) != o->formats.end(); };
    auto report = [&](const std::string& name, Clock::time_point t, uint64_t n, const char* what) {
      const std::string path = o->out_dir + "/" + name;
      const double dt = secs(t);
      const uint64_t bytes = file_size(path);
      if (verbose)
        std::fprintf(stderr, "gen: %-22s %12llu %s %9.1f MB  %6.2f s  %7.1f MB/s  %6.2f M/s\n", name.c_str(),
                     (unsigned long long)n, what, bytes / 1e6, dt, dt > 0 ? bytes / 1e6 / dt : 0.0,
                     dt > 0 ? n / 1e6 / dt : 0.0);
    };
    if (has("orgs")) {
      const auto t = Clock::now();
      g.write_orgs_csv(o->out_dir + "/orgs.csv");
      files.push_back("orgs.csv");
      report("orgs.csv", t, g.group_keys("organisation").size() - 1, "orgs");
    }
    if (has("repos")) {
      const auto t = Clock::now();
      g.write_repos_jsonl(o->out_dir + "/repos.jsonl");
      files.push_back("repos.jsonl");
      report("repos.jsonl", t, s.models, "repos");
    }
    if (has("downloads")) {
      const auto t = Clock::now();
      const bool tty = verbose && isatty(2);
      g.write_downloads_csv(o->out_dir + "/downloads.csv", [&](uint64_t done) {
        if (tty) std::fprintf(stderr, "\rgen: downloads.csv %5.1f%%", 100.0 * double(done) / double(s.records));
      });
      if (tty) std::fprintf(stderr, "\r");
      files.push_back("downloads.csv");
      report("downloads.csv", t, s.records, "records");
    }
    if (has("bin")) {
      const auto t = Clock::now();
      g.write_events_bin(o->out_dir);
      g.write_units_bin(o->out_dir);
      for (const char* f : {"events/unit.u32", "events/month.u16", "events/count.u32"}) files.push_back(f);
      for (const char* f : {"author", "organisation", "country", "region", "org_type", "family"})
        files.push_back(std::string("units/") + f + ".u32");
      files.push_back("units/ids.txt");
      report("events/unit.u32", t, s.records, "events");
    }
    g.write_manifest(o->out_dir, files);
    if (verbose) std::fprintf(stderr, "gen: wrote %s/manifest.json (%.2f s in all)\n", o->out_dir.c_str(), secs(t0));
    return 0;
  };
}

}  // namespace ecostat::cli
