// `ecostat bench`: times each stage per backend on generated data (docs/benchmarks.md).
//
// Events are generated in memory by the generator (the same records `ecostat gen` writes), so
// the group-by stages time the backend alone, as the peers are timed on arrays in memory.
// With --data DIR (an `ecostat gen` directory) the parse stages and the end-to-end job run on
// its files too. Every backend's results are checked against a plain reference computed here
// (and against each other); a mismatch makes the command fail. The machine's ceilings (memory
// copy and read bandwidth) are measured in the same run; each stage reports the fraction of
// the relevant ceiling it reached. Output: a table on stdout, JSON (schema ecostat.bench/1).
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_lookup.hpp"
#include "commands.hpp"
#include "ecostat/backend.hpp"
#include "ecostat/detail/output_file.hpp"
#include "ecostat/engine.hpp"
#include "ecostat/job.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/host/generator.hpp"
#include "ecostat/host/readers.hpp"
#include "ecostat/lineage.hpp"
#include "ecostat/study.hpp"  // last_day_of_month

namespace ecostat::cli {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::ordered_json;
constexpr double kEventBytes = 10;  // u32 unit + u16 month + u32 count, as in EventBatch

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

struct BenchOptions {
  std::string data_dir;
  std::string records = "10M", models = "2.2M";
  uint64_t seed = 1;
  std::vector<std::string> backends{"cpu"};
  unsigned threads = 0;
  unsigned repeats = 5, warmup = 1, parse_repeats = 0;
  std::string batch = "1M";
  std::vector<std::string> stages;  // empty = all
  std::string json_path, dump_dir, ceilings_path, label;
  bool no_verify = false, quiet = false;
  std::vector<std::string> argv;
};

const std::vector<std::string> kMonthGroups{"model", "organisation", "country", "org_type", "family"};

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      const auto c = line.find(':');
      if (c != std::string::npos) {
        std::string s = line.substr(c + 1);
        s.erase(0, s.find_first_not_of(" \t"));
        return s;
      }
    }
  return "unknown CPU";
}

uint64_t memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : 0;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

uint64_t file_size(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 ? uint64_t(st.st_size) : 0;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// ---- machine ceilings ------------------------------------------------------------------------
struct Ceilings {
  double memcpy_bps = 0, read_bps = 0, memcpy_1t_bps = 0, read_1t_bps = 0;
  size_t buffer_bytes = 0;
  unsigned threads = 1;
};

template <class F>
void run_threads(unsigned T, F&& f) {
  std::vector<std::thread> ts;
  for (unsigned t = 1; t < T; ++t) ts.emplace_back([&, t] { f(t); });
  f(0);
  for (auto& t : ts) t.join();
}

Ceilings measure_ceilings(unsigned T, size_t bytes, unsigned reps) {
  Ceilings c;
  c.threads = T;
  c.buffer_bytes = bytes;
  const size_t n = bytes / 8;
  std::unique_ptr<uint64_t[]> a(new uint64_t[n]), b(new uint64_t[n]);
  run_threads(T, [&](unsigned t) {  // first touch by the threads that use the pages
    const size_t lo = n * t / T, hi = n * (t + 1) / T;
    for (size_t i = lo; i < hi; ++i) a[i] = i, b[i] = 0;
  });
  volatile uint64_t sink = 0;
  auto copy_bps = [&](unsigned threads) {
    double best = 0;
    for (unsigned r = 0; r < reps; ++r) {
      const auto t0 = Clock::now();
      run_threads(threads, [&](unsigned t) {
        const size_t lo = n * t / threads, hi = n * (t + 1) / threads;
        std::memcpy(b.get() + lo, a.get() + lo, (hi - lo) * 8);
      });
      const double s = ms_since(t0) / 1e3;
      best = std::max(best, 2.0 * double(bytes) / s);  // bytes read + written
    }
    return best;
  };
  auto read_bps = [&](unsigned threads) {
    double best = 0;
    for (unsigned r = 0; r < reps; ++r) {
      std::vector<uint64_t> part(threads, 0);
      const auto t0 = Clock::now();
      run_threads(threads, [&](unsigned t) {
        const size_t lo = n * t / threads, hi = n * (t + 1) / threads;
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        size_t i = lo;
        for (; i + 4 <= hi; i += 4) s0 += a[i], s1 += a[i + 1], s2 += a[i + 2], s3 += a[i + 3];
        for (; i < hi; ++i) s0 += a[i];
        part[t] = s0 + s1 + s2 + s3;
      });
      const double s = ms_since(t0) / 1e3;
      sink = sink + std::accumulate(part.begin(), part.end(), uint64_t(0));
      best = std::max(best, double(bytes) / s);
    }
    return best;
  };
  c.memcpy_bps = copy_bps(T);
  c.read_bps = read_bps(T);
  c.memcpy_1t_bps = copy_bps(1);
  c.read_1t_bps = read_bps(1);
  return c;
}

// ---- the plain reference -----------------------------------------------------------------------
// Dense unit x month table from a plain loop, and everything derived from it.
struct Reference {
  uint32_t n_units = 0;
  Month month_first = 0;
  uint32_t n_months = 0;
  std::vector<uint64_t> cells;  // [u * n_months + (m - month_first)]
  std::vector<uint64_t> unit_total;
  uint64_t events = 0;
};

Reference build_reference(const std::vector<EventBatch>& batches, uint32_t n_units) {
  Reference r;
  r.n_units = n_units;
  Month lo = 0xffff, hi = 0;
  for (const auto& b : batches)
    if (b.size()) lo = std::min(lo, b.month_min), hi = std::max(hi, b.month_max);
  if (lo > hi) lo = hi = 0;
  r.month_first = lo;
  r.n_months = uint32_t(hi) - lo + 1;
  r.cells.assign(size_t(n_units) * r.n_months, 0);
  r.unit_total.assign(n_units, 0);
  for (const auto& b : batches) {
    for (size_t i = 0; i < b.size(); ++i) {
      r.cells[size_t(b.unit[i]) * r.n_months + (b.month[i] - lo)] += b.count[i];
      r.unit_total[b.unit[i]] += b.count[i];
    }
    r.events += b.size();
  }
  return r;
}

// The reference group x month table, in GroupMonthTable's layout.
std::vector<uint64_t> reference_month_table(const Reference& r, const GroupMap& m) {
  const uint32_t G = m.group_of_unit.empty() ? r.n_units : m.n_groups;
  std::vector<uint64_t> out(size_t(G) * r.n_months, 0);
  for (uint32_t u = 0; u < r.n_units; ++u) {
    const uint32_t g = m.group_of_unit.empty() ? u : m.group_of_unit[u];
    const uint64_t* c = &r.cells[size_t(u) * r.n_months];
    for (uint32_t k = 0; k < r.n_months; ++k) out[size_t(k) * G + g] += c[k];
  }
  return out;
}

std::vector<uint64_t> reference_group_sum(const std::vector<uint64_t>& v, const GroupMap& m) {
  if (m.group_of_unit.empty()) return v;
  std::vector<uint64_t> out(m.n_groups, 0);
  for (size_t u = 0; u < v.size(); ++u) out[m.group_of_unit[u]] += v[u];
  return out;
}

ConcentrationRaw reference_concentration(std::vector<uint64_t> x, const ConcentrationSpec& spec) {
  std::sort(x.begin(), x.end());
  const ConcentrationPlan plan = ConcentrationPlan::make(x.size(), spec);
  ConcentrationRaw r;
  r.n = x.size();
  std::vector<u128> prefix(x.size() + 1, 0);
  for (size_t i = 0; i < x.size(); ++i) {
    prefix[i + 1] = prefix[i] + x[i];
    r.rank_weighted += u128(i + 1) * x[i];
    r.sum_squares += u128(x[i]) * x[i];
  }
  r.total = prefix[x.size()];
  for (uint64_t k : plan.top_counts) r.top_sums.push_back(r.total - prefix[x.size() - k]);
  for (uint64_t rank : plan.percentile_ranks) r.percentile_values.push_back(x[rank]);
  for (uint64_t t : spec.below) r.below_counts.push_back(uint64_t(std::lower_bound(x.begin(), x.end(), t) - x.begin()));
  for (uint64_t c : plan.lorenz_counts) r.lorenz_sums.push_back(prefix[c]);
  return r;
}

// Compares a backend's month table with the reference; empty string when equal.
std::string compare_month_table(const GroupMonthTable& t, const std::vector<uint64_t>& ref, const Reference& r,
                                uint32_t G) {
  if (t.n_groups != G) return "n_groups " + std::to_string(t.n_groups) + " != " + std::to_string(G);
  if (r.events == 0) return "";
  if (t.month_first != r.month_first || t.n_months != r.n_months) return "month range differs";
  if (t.sums.size() != ref.size()) return "table size differs";
  for (size_t i = 0; i < ref.size(); ++i)
    if (t.sums[i] != ref[i])
      return "cell (group " + std::to_string(i % G) + ", month " + month_label(Month(r.month_first + i / G)) +
             ") = " + std::to_string(t.sums[i]) + ", reference " + std::to_string(ref[i]);
  return "";
}

// ---- stage records ----------------------------------------------------------------------------
struct StageResult {
  std::string backend, device, stage, item = "events";
  uint64_t items = 0;
  double bytes = 0;  // bytes the stage reads (for bytes/s)
  std::vector<double> samples_ms;
  std::map<std::string, double> parts_ms;  // medians of sub-steps
  std::string ceiling;                      // key into ceilings, empty = none
  std::string verified = "not checked";
  std::string note;
};

template <class Table>  // std::vector<uint64_t> or Cells
void write_u64(const std::string& path, const Table& v) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * 8));
  if (!f) throw Error("cannot write " + path);
}

ordered_json stats_json(const ConcentrationStats& s) {
  ordered_json j;
  j["n"] = s.n;
  j["total"] = to_string(s.total);
  j["gini"] = s.gini;
  j["hhi"] = s.hhi;
  ordered_json tk = ordered_json::object(), tp = ordered_json::object(), pc = ordered_json::object(),
               bl = ordered_json::object();
  for (auto& [k, v] : s.top_k) tk[std::to_string(k)] = v;
  for (auto& [p, v] : s.top_pct) {
    std::ostringstream o;
    o << p;
    tp[o.str()] = v;
  }
  for (auto& [q, v] : s.percentiles) {
    std::ostringstream o;
    o << q;
    pc[o.str()] = v;
  }
  for (auto& b : s.below) bl[std::to_string(b.threshold)] = {{"count", b.count}, {"fraction", b.fraction}};
  j["top_k"] = tk;
  j["top_pct"] = tp;
  j["percentiles"] = pc;
  j["below"] = bl;
  return j;
}

}  // namespace

std::function<int()> add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  auto* cmd = app.add_subcommand(
      "bench",
      "Time each stage (group-bys, concentration, lineage, parse, end to end) per backend on generated data, "
      "check the results, report events/s, bytes/s and the fraction of the machine's measured ceiling "
      "(docs/benchmarks.md)");
  cmd->add_option("--data", o->data_dir, "An `ecostat gen` directory: its spec is used, and its files are parsed");
  cmd->add_option("--records", o->records, "Download records to generate in memory (without --data)")->capture_default_str();
  cmd->add_option("--models", o->models, "Models (without --data)")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Generator seed (without --data)")->capture_default_str();
  cmd->add_option("--backend", o->backends, "Backends to time, in order (cpu, cuda, hip, or all = every one available)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "CPU threads for the CPU backend, the generator and the ceilings (0 = all)")
      ->capture_default_str();
  cmd->add_option("--repeats", o->repeats, "Timed repetitions per stage (the median is reported)")->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "Untimed repetitions first")->capture_default_str();
  cmd->add_option("--parse-repeats", o->parse_repeats, "Repetitions of the parse and end-to-end stages (0 = --repeats)")
      ->capture_default_str();
  cmd->add_option("--batch", o->batch, "Events per batch handed to the backend")->capture_default_str();
  cmd->add_option("--stages", o->stages,
                  "Stages to run (default all): groupby_model, groupby_model_month, groupby_organisation_month, "
                  "groupby_country_month, groupby_org_type_month, groupby_family_month, all_tables, group_sum, "
                  "concentration, lineage, dictionary_lookup, duplicate_marks, parse_repos, parse_downloads, csv_groupby_model, end_to_end")
      ->delimiter(',');
  cmd->add_option("--json", o->json_path, "Write the results (schema ecostat.bench/1) here; - for stdout");
  cmd->add_option("--dump", o->dump_dir, "Write the checked results (unit totals, month tables, concentration) here, "
                                         "for bench/peers_*.py");
  cmd->add_option("--ceilings", o->ceilings_path,
                  "JSON object of extra ceilings in bytes/s measured elsewhere (e.g. gpu_h2d_pinned_bytes_per_s from the "
                  "CUDA bench), merged into `ceilings`");
  cmd->add_option("--label", o->label, "Free text stored in the JSON (e.g. the machine's name)");
  cmd->add_flag("--no-verify", o->no_verify, "Skip the reference check (saves memory and time at large sizes)");
  cmd->add_flag("--quiet,-q", o->quiet, "Print no table");

  return [o, cmd]() {
    o->argv.clear();
    std::string command = "ecostat bench";
    for (const auto& r : cmd->get_options())
      if (r->count() > 0 && !r->get_lnames().empty()) {
        command += " --" + r->get_lnames()[0];
        if (r->get_expected_min() > 0) {
          std::string v;
          for (const auto& x : r->results()) v += (v.empty() ? "" : ",") + x;
          command += " " + v;
        }
      }
    auto log = [&](const char* fmt, auto... args) {
      if (!o->quiet) {
        std::fprintf(stderr, fmt, args...);
        std::fflush(stderr);
      }
    };
    auto want = [&](const std::string& s) {
      return o->stages.empty() || std::find(o->stages.begin(), o->stages.end(), s) != o->stages.end();
    };
    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    const unsigned T = o->threads ? o->threads : hw;
    const unsigned parse_reps = o->parse_repeats ? o->parse_repeats : o->repeats;
    if (o->repeats == 0) throw UsageError("bench: --repeats must be at least 1");
    for (const auto& b : o->backends)
      if (b != "cpu" && b != "cuda" && b != "hip" && b != "auto" && b != "all")
        throw UsageError("bench: unknown backend '" + b + "' (expected cpu, cuda, hip, auto or all)");

    // 1. Data.
    host::GenSpec spec;
    if (!o->data_dir.empty()) {
      spec = host::Generator::spec_from_manifest(o->data_dir + "/manifest.json");
    } else {
      spec.records = host::parse_scaled_count(o->records);
      const uint64_t m = host::parse_scaled_count(o->models);
      if (m == 0 || m > 0xfffffff0ull) throw UsageError("bench: --models must be between 1 and 2^32 - 16");
      spec.models = uint32_t(m);
      spec.seed = o->seed;
    }
    spec.threads = T;
    const size_t batch_cap = size_t(std::max<uint64_t>(1, host::parse_scaled_count(o->batch)));
    auto t0 = Clock::now();
    host::Generator gen(spec);
    const double model_ms = ms_since(t0);
    t0 = Clock::now();
    std::vector<EventBatch> batches;
    gen.for_each_batch(batch_cap, [&](const EventBatch& b) { batches.push_back(b); });
    const double gen_ms = ms_since(t0);
    uint64_t events = 0;
    for (const auto& b : batches) events += b.size();
    const uint32_t M = gen.models();
    log("bench: %llu events over %u models generated in memory in %.0f ms (+%.0f ms model tables)\n",
        (unsigned long long)events, M, gen_ms, model_ms);

    // 2. Ceilings, in the same run.
    const size_t ceil_bytes = size_t(std::min<double>(1 << 30, std::max<double>(256 << 20, events * kEventBytes)));
    const Ceilings ceil = measure_ceilings(T, ceil_bytes, 5);
    log("bench: ceilings (%u threads, %zu MiB): memcpy %.2f GB/s (read+write), read %.2f GB/s; 1 thread: %.2f / %.2f\n",
        T, ceil_bytes >> 20, ceil.memcpy_bps / 1e9, ceil.read_bps / 1e9, ceil.memcpy_1t_bps / 1e9, ceil.read_1t_bps / 1e9);
    std::map<std::string, double> ceilings{{"cpu_memcpy_bytes_per_s", ceil.memcpy_bps},
                                           {"cpu_read_bytes_per_s", ceil.read_bps},
                                           {"cpu_memcpy_1thread_bytes_per_s", ceil.memcpy_1t_bps},
                                           {"cpu_read_1thread_bytes_per_s", ceil.read_1t_bps}};
    if (!o->ceilings_path.empty()) {
      // Either one JSON object {name: bytes/s}, or JSON lines as bench/gpu_bench.cu prints them
      // ({"what": "h2d_pinned", "GBps": ...} becomes gpu_h2d_pinned_bytes_per_s).
      std::ifstream f(o->ceilings_path);
      if (!f) throw InputError(o->ceilings_path, 0, "", "cannot open the ceilings file");
      std::stringstream text;
      text << f.rdbuf();
      const std::string all = text.str();
      nlohmann::json cj = nlohmann::json::parse(all, nullptr, false);
      if (cj.is_object() && !cj.contains("what")) {
        for (auto it = cj.begin(); it != cj.end(); ++it)
          if (it.value().is_number()) ceilings[it.key()] = it.value().get<double>();
      } else {
        std::istringstream lines(all);
        std::string line;
        while (std::getline(lines, line)) {
          const nlohmann::json lj = nlohmann::json::parse(line, nullptr, false);
          if (lj.is_object() && lj.contains("what") && lj["what"].is_string() && lj.contains("GBps") &&
              lj["GBps"].is_number())
            ceilings["gpu_" + lj["what"].get<std::string>() + "_bytes_per_s"] = lj["GBps"].get<double>() * 1e9;
        }
      }
    }

    // 3. Reference.
    const bool verify = !o->no_verify;
    Reference ref;
    std::vector<GroupMap> maps;
    for (const auto& g : kMonthGroups) maps.push_back(gen.group_map(g));
    std::vector<std::vector<uint64_t>> ref_tables(maps.size());
    ConcentrationSpec cspec;
    ConcentrationRaw ref_conc;
    if (verify) {
      t0 = Clock::now();
      ref = build_reference(batches, M);
      for (size_t i = 0; i < maps.size(); ++i) ref_tables[i] = reference_month_table(ref, maps[i]);
      ref_conc = reference_concentration(ref.unit_total, cspec);
      log("bench: reference computed in %.0f ms\n", ms_since(t0));
    }

    // 4. Backends.
    std::vector<std::string> names;
    for (const auto& b : o->backends) {
      if (b == "all") {
        for (const auto& p : {probe_cpu_backend(), probe_cuda_backend(), probe_hip_backend()})
          if (p.available) names.push_back(p.name);
      } else {
        names.push_back(b);
      }
    }
    std::vector<StageResult> results;
    bool all_ok = true;
    std::vector<std::string> failures;
    auto check = [&](StageResult& r, const std::string& err) {
      if (!verify) return;
      if (err.empty()) {
        if (r.verified == "not checked") r.verified = "ok";
      } else {
        r.verified = "MISMATCH: " + err;
        all_ok = false;
        failures.push_back(r.backend + " " + r.stage + ": " + err);
      }
    };
    auto timed = [&](unsigned reps, unsigned warm, const std::function<void(bool last)>& fn) {
      std::vector<double> s;
      for (unsigned i = 0; i < warm; ++i) fn(false);
      for (unsigned i = 0; i < reps; ++i) {
        const auto t = Clock::now();
        fn(i + 1 == reps);
        s.push_back(ms_since(t));
      }
      return s;
    };
    const std::string event_ceiling_cpu = "cpu_read_bytes_per_s";
    ordered_json dump_results;
    std::vector<uint64_t> first_totals;  // the first backend's model totals, for the cross-backend check

    for (const auto& bname : names) {
      std::unique_ptr<Backend> backend = select_backend(bname, T);
      const BackendInfo info = backend->info();
      log("bench: backend %s (%s)\n", info.name.c_str(), info.device.c_str());
      const std::string event_ceiling =
          info.name == "cpu" ? event_ceiling_cpu
                             : (ceilings.count("gpu_h2d_pinned_bytes_per_s") ? "gpu_h2d_pinned_bytes_per_s" : "");
      auto base = [&](const std::string& stage) {
        StageResult r;
        r.backend = info.name;
        r.device = info.device;
        r.stage = stage;
        return r;
      };
      EventTotals last_totals;
      // One pass: every batch through a new accumulator, then finish with the maps given.
      auto pass = [&](const std::vector<GroupMap>& use, StageResult& r, bool keep) {
        const auto ta = Clock::now();
        // Only the asked work: without month tables the accumulator keeps unit totals alone; month
        // tables of group maps are summed per (group, month) during the pass (direct_maps); the
        // identity map (model x month) needs the unit x month table, and the others are then
        // rolled up from it.
        AccumulatorPlan plan;
        bool group_maps = !use.empty();
        for (const GroupMap& m : use) group_maps &= !m.group_of_unit.empty();
        plan.month_tables = !use.empty() && !group_maps;
        if (group_maps) plan.direct_maps = use;
        auto acc = backend->make_accumulator(plan);
        acc->expect_units(M);  // as the session does: the repositories are known before the downloads
        for (const auto& b : batches) acc->add(b);
        const double add_ms = ms_since(ta);
        const auto tf = Clock::now();
        EventTotals tot = acc->finish(M, use);
        const double fin_ms = ms_since(tf);
        r.parts_ms["add"] += add_ms;
        r.parts_ms["finish"] += fin_ms;
        if (keep) last_totals = std::move(tot);
      };
      auto groupby_stage = [&](const std::string& stage, const std::vector<size_t>& idx) {
        if (!want(stage)) return;
        StageResult r = base(stage);
        r.items = events;
        r.bytes = events * kEventBytes;
        r.ceiling = event_ceiling;
        std::vector<GroupMap> use;  // copied once, outside the timing
        for (size_t i : idx) use.push_back(maps[i]);
        r.samples_ms = timed(o->repeats, o->warmup, [&](bool last) { pass(use, r, last); });
        for (auto& [k, v] : r.parts_ms) v /= double(o->repeats + o->warmup);  // mean of sub-steps
        if (verify) {
          std::string err;
          if (last_totals.events != events) err = "events " + std::to_string(last_totals.events);
          if (err.empty() && last_totals.unit_total != ref.unit_total) {
            for (uint32_t u = 0; u < M && err.empty(); ++u)
              if (last_totals.unit_total[u] != ref.unit_total[u])
                err = "total of unit " + std::to_string(u) + " = " + std::to_string(last_totals.unit_total[u]) +
                      ", reference " + std::to_string(ref.unit_total[u]);
            if (err.empty()) err = "unit totals differ in size";
          }
          for (size_t k = 0; k < idx.size() && err.empty(); ++k) {
            const GroupMap& m = maps[idx[k]];
            const uint32_t G = m.group_of_unit.empty() ? M : m.n_groups;
            err = compare_month_table(last_totals.group_month.at(k), ref_tables[idx[k]], ref, G);
            if (!err.empty()) err = m.name + "_x_month: " + err;
          }
          check(r, err);
        }
        if (first_totals.empty()) first_totals = last_totals.unit_total;
        else if (first_totals != last_totals.unit_total) check(r, "model totals differ from the first backend's");
        if (!o->dump_dir.empty() && dump_results.empty() && stage == "all_tables") {
          ::mkdir(o->dump_dir.c_str(), 0755);
          write_u64(o->dump_dir + "/unit_total.u64", last_totals.unit_total);
          for (size_t k = 0; k < idx.size(); ++k) {
            const GroupMonthTable& t = last_totals.group_month[k];
            write_u64(o->dump_dir + "/" + maps[idx[k]].name + "_x_month.u64", t.sums);
            dump_results["tables"][maps[idx[k]].name + "_x_month"] = {
                {"file", maps[idx[k]].name + "_x_month.u64"}, {"n_groups", t.n_groups},
                {"month_first", t.month_first}, {"n_months", t.n_months}};
          }
          dump_results["unit_total"] = {{"file", "unit_total.u64"}, {"n", last_totals.unit_total.size()}};
          dump_results["backend"] = info.name;
        }
        last_totals = EventTotals();
        results.push_back(std::move(r));
      };
      groupby_stage("groupby_model", {});
      groupby_stage("groupby_model_month", {0});
      groupby_stage("groupby_organisation_month", {1});
      groupby_stage("groupby_country_month", {2});
      groupby_stage("groupby_org_type_month", {3});
      groupby_stage("groupby_family_month", {4});
      groupby_stage("all_tables", {0, 1, 2, 3, 4});

      // Model totals for the reductions (the reference's, or one pass when not verifying).
      std::vector<uint64_t> totals = verify ? ref.unit_total : first_totals;
      if (totals.empty()) {
        AccumulatorPlan totals_only;
        totals_only.month_tables = false;
        auto acc = backend->make_accumulator(totals_only);
        for (const auto& b : batches) acc->add(b);
        totals = acc->finish(M, {}).unit_total;
        first_totals = totals;
      }
      if (want("group_sum")) {
        StageResult r = base("group_sum");
        r.item = "values";
        r.items = uint64_t(M) * 3;
        r.bytes = double(M) * 3 * 12;
        std::vector<std::vector<uint64_t>> out(3);
        r.samples_ms = timed(o->repeats, o->warmup, [&](bool) {
          out[0] = backend->group_sum(totals, maps[1]);
          out[1] = backend->group_sum(totals, maps[2]);
          out[2] = backend->group_sum(totals, maps[4]);
        });
        r.note = "organisation, country and family totals from the model totals";
        if (verify) {
          std::string err;
          const size_t mi[3] = {1, 2, 4};
          for (int k = 0; k < 3 && err.empty(); ++k)
            if (out[k] != reference_group_sum(totals, maps[mi[k]])) err = maps[mi[k]].name + " sums differ";
          check(r, err);
        }
        results.push_back(std::move(r));
      }
      if (want("concentration")) {
        StageResult r = base("concentration");
        r.item = "values";
        r.items = M;
        r.bytes = double(M) * 8;
        std::vector<ConcentrationRaw> raw;
        r.samples_ms = timed(o->repeats, o->warmup, [&](bool) { raw = backend->concentration(totals, {}, 1, cspec); });
        r.note = "Gini, HHI, top-k, top-p%, percentiles, below-200 and a 101-point Lorenz curve over the model totals";
        if (verify) check(r, raw.size() == 1 && raw[0] == ref_conc ? "" : "concentration raw sums differ from the reference");
        if (!o->dump_dir.empty() && !dump_results.contains("concentration") && raw.size() == 1)
          dump_results["concentration"] = stats_json(finalize(raw[0], cspec));
        results.push_back(std::move(r));
      }
      if (want("lineage")) {
        StageResult r = base("lineage");
        r.item = "nodes";
        r.items = M;
        const auto tg = Clock::now();
        CycleReport cycles;
        const LineageGraph graph = build_lineage_graph(M, gen.edges(), &cycles);
        r.parts_ms["build_graph_host"] = ms_since(tg);
        r.bytes = double(graph.parents.size()) * 4 + double(graph.parent_offsets.size()) * 4;
        LineageRaw lin;
        r.samples_ms = timed(o->repeats, o->warmup, [&](bool) { lin = backend->lineage(graph); });
        // The engine's call: the families output (roots, greatest depth, families), timed apart.
        LineageRaw fam;
        const std::vector<double> fam_ms =
            timed(o->repeats, o->warmup, [&](bool) { fam = backend->lineage(graph, LineageOutput::families); });
        r.parts_ms["families_output"] = std::accumulate(fam_ms.begin(), fam_ms.end(), 0.0) / double(fam_ms.size());
        r.note = "roots, depth, children, exact DAG descendants and typed counts; families_output: the engine's call";
        if (verify) {
          std::string err;
          if (!cycles.removed_edges.empty()) err = "generated graph had cycles";
          for (uint32_t u = 0; u < M && err.empty(); ++u)
            if (lin.root[u] != gen.root_of(u)) err = "root of unit " + std::to_string(u);
          if (err.empty() && (fam.root != lin.root || fam.family_root != lin.family_root ||
                              fam.family_by_relation != lin.family_by_relation || fam.max_depth != lin.max_depth))
            err = "the families output differs from the per-node output";
          check(r, err);
        }
        results.push_back(std::move(r));
      }
    }

    // The repository-id lookup alone (host side, one thread), and the random-line rate of a
    // table of the dictionary's size, measured in the same run: the floor under the lookup.
    if (want("dictionary_lookup")) {
      constexpr size_t kMaxLookups = 5000000;
      cli::DictionaryLookupBench lookup(gen, batches, kMaxLookups);
      const double line_ns = random_line_ns(lookup.table_bytes(), std::max<size_t>(lookup.lookups(), 1000000));
      ceilings["cpu_random_line_1thread_bytes_per_s"] = 64e9 / line_ns;
      StageResult r;
      r.backend = "host";
      r.device = "1 CPU thread";
      r.stage = "dictionary_lookup";
      r.item = "lookups";
      r.items = lookup.lookups();
      r.bytes = double(lookup.lookups()) * 2 * 64;  // about two random lines a lookup: its slot, the id's bytes
      r.ceiling = "cpu_random_line_1thread_bytes_per_s";
      r.samples_ms = timed(o->repeats, o->warmup, [&](bool) { lookup.run(); });
      char note[256];
      std::snprintf(note, sizeof note,
                    "Dictionary::find_many of the first events' ids in event order, %u ids (%zu MiB of slots and "
                    "arena); one random 64-byte line of a table that size: %.1f ns",
                    M, lookup.table_bytes() >> 20, line_ns);
      r.note = note;
      if (verify) check(r, lookup.check());
      results.push_back(std::move(r));
    }

    // The `count` policy's duplicate marks alone (host side): every event's (unit, day) noted,
    // then the job settled, with one marking thread and with several (one per 4 of --threads,
    // DownloadJob's default, and at least 2): how fast the readers can be fed past them. An
    // event's day is one of its month's last 28 days, spread by event index.
    if (want("duplicate_marks")) {
      const unsigned T = o->threads ? o->threads : std::max(1u, std::thread::hardware_concurrency());
      uint64_t repeats_one = 0;
      for (const unsigned markers : {1u, std::max(2u, T / 4)}) {
        StageResult r;
        r.backend = "host";
        r.device = std::to_string(markers) + (markers == 1 ? " marking thread" : " marking threads");
        r.stage = "duplicate_marks";
        r.items = events;
        r.bytes = double(events) * 8;  // a (unit, day) key each
        uint64_t repeats = 0;
        r.samples_ms = timed(o->repeats, o->warmup, [&](bool) {
          host::DownloadJob job(std::max(2u, T), host::DownloadJob::kPendingMax, markers);
          uint64_t i = 0;
          for (const auto& b : batches)
            for (size_t k = 0; k < b.size(); ++k, ++i)
              job.note_day(b.unit[k], last_day_of_month(b.month[k]) - int32_t((i * 2654435761u >> 7) % 28));
          job.settle();
          repeats = job.duplicate_rows();
        });
        if (markers == 1) repeats_one = repeats;
        r.note = std::to_string(repeats) + " repeated (unit, day) pairs";
        if (verify) check(r, repeats == repeats_one ? "" : "repeats differ from one marking thread's");
        results.push_back(std::move(r));
      }
    }

    // 5. Parse and end to end, on the generated files.
    const std::string dir = o->data_dir;
    const std::string repos_path = dir + "/repos.jsonl", dl_path = dir + "/downloads.csv", orgs_path = dir + "/orgs.csv";
    const bool have_files = !dir.empty() && file_size(repos_path) && file_size(dl_path);
    if (!dir.empty() && !have_files) log("bench: %s lacks repos.jsonl or downloads.csv: parse and end-to-end skipped\n", dir.c_str());
    if (have_files && (want("parse_repos") || want("parse_downloads") || want("csv_groupby_model"))) {
      StageResult rr;
      rr.backend = "host";
      rr.device = "1 CPU thread";
      rr.stage = "parse_repos";
      rr.item = "records";
      rr.items = M;
      rr.bytes = double(file_size(repos_path));
      rr.ceiling = "cpu_read_1thread_bytes_per_s";
      std::unique_ptr<RepoTable> repos;
      rr.samples_ms = timed(parse_reps, 0, [&](bool) {
        repos = std::make_unique<RepoTable>();
        host::RejectLog rejects;
        auto src = host::open_source(repos_path);
        host::read_repositories(*src, *repos, rejects);
        if (rejects.total()) throw Error("bench: generated repos.jsonl had rejected records");
      });
      if (verify) check(rr, repos->size() == M && repos->edges.size() == gen.edges().size() ? "" : "repository table differs");
      if (want("parse_repos")) results.push_back(rr);
      if (want("parse_downloads")) {
        StageResult r = rr;
        r.stage = "parse_downloads";
        r.items = spec.records;
        r.bytes = double(file_size(dl_path));
        r.verified = "not checked";
        r.parts_ms.clear();
        uint64_t sum = 0, n_ev = 0;
        r.samples_ms = timed(parse_reps, 0, [&](bool) {
          host::RejectLog rejects;
          auto src = host::open_source(dl_path);
          sum = 0, n_ev = 0;
          host::read_downloads(*src, host::DownloadFormat::per_period, *repos, rejects, batch_cap,
                               [&](const EventBatch& b) {
                                 n_ev += b.size();
                                 for (uint32_t c : b.count) sum += c;
                               });
          if (rejects.total()) throw Error("bench: generated downloads.csv had rejected records");
        });
        r.note = "CSV to event batches (dictionary lookups included), one thread";
        if (verify) {
          const uint64_t ref_sum = std::accumulate(ref.unit_total.begin(), ref.unit_total.end(), uint64_t(0));
          check(r, n_ev == events && sum == ref_sum && repos->size() == M ? "" : "parsed events differ from the generated ones");
        }
        results.push_back(std::move(r));
      }
      // CSV file -> downloads per model, as the peers' read_csv + group by: the reader streams
      // batches into the backend's accumulator (the repository table is already loaded).
      for (const auto& bname : names) {
        if (!want("csv_groupby_model")) break;
        std::unique_ptr<Backend> backend = select_backend(bname, T);
        StageResult r = rr;
        r.backend = bname;
        r.device = backend->info().device;
        r.stage = "csv_groupby_model";
        r.items = spec.records;
        r.bytes = double(file_size(dl_path));
        r.verified = "not checked";
        EventTotals tot;
        r.samples_ms = timed(parse_reps, 0, [&](bool) {
          host::RejectLog rejects;
          auto src = host::open_source(dl_path);
          AccumulatorPlan totals_only;
          totals_only.month_tables = false;
          auto acc = backend->make_accumulator(totals_only);
          host::read_downloads(*src, host::DownloadFormat::per_period, *repos, rejects, batch_cap,
                               [&](const EventBatch& b) { acc->add(b); });
          tot = acc->finish(repos->size(), {});
        });
        r.note = "CSV to per-model totals: parse (one thread) streaming into the backend";
        if (verify) check(r, tot.unit_total == ref.unit_total ? "" : "model totals differ from the reference");
        results.push_back(std::move(r));
      }
    }
    if (have_files && want("end_to_end")) {
      for (const auto& bname : names) {
        StageResult r;
        r.backend = bname;
        r.stage = "end_to_end";
        r.items = spec.records;
        r.bytes = double(file_size(dl_path) + file_size(repos_path) + file_size(orgs_path));
        r.ceiling = "cpu_read_1thread_bytes_per_s";
        Results res;
        JobSpec job;
        job.repos_path = repos_path;
        job.downloads_path = dl_path;
        if (file_size(orgs_path)) job.orgs_path = orgs_path;
        job.backend = bname;
        job.threads = T;
        job.batch_capacity = batch_cap;
        job.month_groups = {"model", "organisation", "country", "org_type", "family"};
        r.samples_ms = timed(parse_reps, 0, [&](bool) { res = run_job(job); });
        r.device = res.backend.device;
        for (const auto& t : res.timings) r.parts_ms[t.stage] = t.ms;
        r.note = "ecostat run on the files: parse, accumulate, lineage, every share table, concentration";
        if (verify) {
          std::string err;
          if (res.input.rejected) err = std::to_string(res.input.rejected) + " records rejected";
          const ConcentrationStats want_stats = finalize(ref_conc, cspec);
          const ConcentrationStats& got = res.concentration.at("model");
          if (err.empty() && (got.n != want_stats.n || got.total != want_stats.total || got.gini != want_stats.gini ||
                              got.hhi != want_stats.hhi || got.top_k != want_stats.top_k || got.percentiles != want_stats.percentiles))
            err = "model concentration differs from the in-memory reference";
          check(r, err);
        }
        results.push_back(std::move(r));
      }
    }

    // 6. Report.
    ordered_json j;
    j["schema"] = "ecostat.bench/1";
    j["date"] = utc_now();
    j["command"] = command;
    if (!o->label.empty()) j["label"] = o->label;
    struct utsname un{};
    uname(&un);
    j["host"] = {{"cpu", cpu_model()}, {"cpu_threads", hw}, {"threads_used", T}, {"memory_bytes", memory_bytes()},
                 {"os", std::string(un.sysname) + " " + un.release}};
    ordered_json data;
    data["source"] = dir.empty() ? "generated in memory" : dir;
    data["seed"] = spec.seed;
    data["records"] = spec.records;
    data["models"] = M;
    data["events"] = events;
    data["event_bytes"] = kEventBytes;
    data["batch"] = batch_cap;
    data["months"] = verify ? ref.n_months : 0;
    if (have_files) data["files_bytes"] = {{"repos.jsonl", file_size(repos_path)}, {"downloads.csv", file_size(dl_path)}};
    data["generate_ms"] = gen_ms;
    data["generate_events_per_s"] = gen_ms > 0 ? events / (gen_ms / 1e3) : 0;
    j["data"] = data;
    ordered_json cj;
    for (auto& [k, v] : ceilings) cj[k] = v;
    cj["buffer_bytes"] = ceil.buffer_bytes;
    cj["threads"] = ceil.threads;
    j["ceilings"] = cj;
    ordered_json st = ordered_json::array();
    if (!o->quiet) {
      std::printf("%-8s %-27s %10s %10s %11s %9s %8s  %s\n", "backend", "stage", "median ms", "min ms", "items/s",
                  "GB/s", "ceiling", "check");
    }
    for (const auto& r : results) {
      const double med = median(r.samples_ms);
      const double mn = r.samples_ms.empty() ? 0 : *std::min_element(r.samples_ms.begin(), r.samples_ms.end());
      const double ips = med > 0 ? r.items / (med / 1e3) : 0, bps = med > 0 ? r.bytes / (med / 1e3) : 0;
      ordered_json e;
      e["backend"] = r.backend;
      e["device"] = r.device;
      e["stage"] = r.stage;
      e["item"] = r.item;
      e["items"] = r.items;
      e["bytes"] = r.bytes;
      e["repeats"] = r.samples_ms.size();
      e["median_ms"] = med;
      e["min_ms"] = mn;
      e["samples_ms"] = r.samples_ms;
      e["items_per_s"] = ips;
      e["bytes_per_s"] = bps;
      double frac = -1;
      if (!r.ceiling.empty() && ceilings.count(r.ceiling) && ceilings[r.ceiling] > 0) {
        frac = bps / ceilings[r.ceiling];
        e["ceiling"] = r.ceiling;
        e["fraction_of_ceiling"] = frac;
      } else {
        e["ceiling"] = nullptr;
        e["fraction_of_ceiling"] = nullptr;
      }
      if (!r.parts_ms.empty()) {
        ordered_json p;
        for (auto& [k, v] : r.parts_ms) p[k] = v;
        e["parts_ms"] = p;
      }
      e["verified"] = r.verified;
      if (!r.note.empty()) e["note"] = r.note;
      st.push_back(e);
      if (!o->quiet) {
        char fr[16] = "-";
        if (frac >= 0) std::snprintf(fr, sizeof fr, "%.1f%%", 100 * frac);
        std::printf("%-8s %-27s %10.2f %10.2f %11.4g %9.3f %8s  %s\n", r.backend.c_str(), r.stage.c_str(), med, mn, ips,
                    bps / 1e9, fr, r.verified.c_str());
      }
    }
    j["stages"] = st;
    j["ok"] = all_ok;
    if (!failures.empty()) j["failures"] = failures;
    if (!o->json_path.empty()) {
      write_file_atomically(o->json_path, j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    }
    if (!o->dump_dir.empty()) {
      ::mkdir(o->dump_dir.c_str(), 0755);
      dump_results["schema"] = "ecostat.bench-dump/1";
      dump_results["models"] = M;
      dump_results["events"] = events;
      dump_results["verified"] = verify && all_ok;
      write_file_atomically(o->dump_dir + "/results.json",
                            dump_results.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    }
    for (const auto& f : failures) std::fprintf(stderr, "ecostat bench: %s\n", f.c_str());
    return all_ok ? 0 : 1;
  };
}

}  // namespace ecostat::cli
