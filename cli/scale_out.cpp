// `ecostat run` over several download files and MPI ranks (scale_out.hpp, docs/scale-out.md).
#include "scale_out.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <new>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "cluster.hpp"
#include "ecostat/detail/output_file.hpp"
#include "ecostat/device_choice.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/job.hpp"
#include "ecostat/partial.hpp"
#include "job_io.hpp"
#include "launch_progress.hpp"
#include "work_plan.hpp"

namespace ecostat::cli {

namespace {

// A download file this rank must read, checked before any work so that a missing file stops the
// job at once (the reader's own message, see host/src/source.cpp). Non-blocking: a FIFO is fine.
void check_readable(const std::string& path) {
  if (path.empty() || path == "-") return;
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw InputError(path, 0, "", std::string("cannot open: ") + std::strerror(errno));
  ::close(fd);
}

// A temporary rejects file for one work item (each rank writes its own, locally); read back
// without its header, and removed, by take().
class ItemRejects {
 public:
  explicit ItemRejects(bool wanted) {
    if (!wanted) return;
    const char* dir = std::getenv("TMPDIR");
    std::string pattern = std::string(dir && *dir ? dir : "/tmp") + "/ecostat-rejects-XXXXXX";
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0) throw Error("cannot create a temporary rejects file in " + pattern + ": " + std::strerror(errno));
    ::close(fd);
    path_ = pattern;
  }
  ~ItemRejects() {
    if (!path_.empty()) std::remove(path_.c_str());
  }
  ItemRejects(const ItemRejects&) = delete;
  ItemRejects& operator=(const ItemRejects&) = delete;
  const std::string& path() const { return path_; }
  std::string take() {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    const size_t header_end = text.find('\n');
    return header_end == std::string::npos ? std::string() : text.substr(header_end + 1);
  }

 private:
  std::string path_;
};

// What a rank hands to rank 0: its merged partial and the rejects rows of each of its items.
struct RankResult {
  std::optional<Partial> partial;
  std::map<size_t, std::string> rejects;  // item -> rows (CSV, no header)
};

// `later` merged after what `into` holds: a rank's later item, or the result of higher ranks (so
// that partials merge in rank order).
void merge_into(RankResult& into, RankResult later) {
  into.rejects.merge(later.rejects);
  if (!later.partial) return;
  if (!into.partial) {
    into.partial = std::move(later.partial);
    return;
  }
  std::vector<Partial> two;
  two.push_back(std::move(*into.partial));
  two.push_back(std::move(*later.partial));
  into.partial = merge(std::move(two));
}

// The download bytes an item reads, for progress: its slice, or its file (a Parquet slice: its
// share of the file, as its row groups are not sized here).
uint64_t item_bytes(const WorkItem& item) {
  const DownloadSlice& s = item.spec.downloads_slice;
  if (s.row_groups) return download_bytes_of(item.spec.downloads_path, 0, 0) / std::max<size_t>(item.slices, 1);
  return download_bytes_of(item.spec.downloads_path, s.begin, s.end);
}

RankResult run_items(const std::vector<WorkItem>& items, const std::vector<size_t>& mine, bool want_rejects,
                     LaunchProgress& progress) {
  RankResult out;
  for (size_t i : mine) {
    if (items[i].skip) continue;
    JobSpec spec = items[i].spec;
    ItemRejects rejects(want_rejects);
    spec.rejects_path = rejects.path();
    spec.progress = [&progress](const std::string& stage, uint64_t done, uint64_t total) {
      progress.on_item(stage, done, total);
    };
    Partial p = run_partial(spec);
    progress.item_done(item_bytes(items[i]));
    tag_slice_summary(items[i], p.input);
    RankResult item;
    if (want_rejects) item.rejects[i] = rejects.take();
    item.partial = std::move(p);
    merge_into(out, std::move(item));
  }
  return out;
}

// The wire form of a RankResult: u64 rejects count, then (u64 item, u64 length, bytes) each,
// then the partial's own binary form (empty when the rank had no item).
void put_u64(std::string& s, uint64_t v) {
  for (int b = 0; b < 8; ++b) s.push_back(char((v >> (8 * b)) & 0xff));
}

std::string encode(const RankResult& r) {
  std::string s;
  put_u64(s, r.rejects.size());
  for (const auto& [item, rows] : r.rejects) {
    put_u64(s, item);
    put_u64(s, rows.size());
    s += rows;
  }
  if (r.partial) s += r.partial->serialize();
  return s;
}

RankResult decode(const std::string& s, int from) {
  size_t at = 0;
  auto get_u64 = [&]() {
    if (s.size() - at < 8) throw Error("rank " + std::to_string(from) + " sent a truncated result");
    uint64_t v = 0;
    for (int b = 0; b < 8; ++b) v |= uint64_t(uint8_t(s[at + size_t(b)])) << (8 * b);
    at += 8;
    return v;
  };
  RankResult r;
  const uint64_t n = get_u64();
  for (uint64_t k = 0; k < n; ++k) {
    const uint64_t item = get_u64(), length = get_u64();
    if (s.size() - at < length) throw Error("rank " + std::to_string(from) + " sent a truncated result");
    r.rejects[item] = s.substr(at, length);
    at += length;
  }
  if (at < s.size()) r.partial = Partial::deserialize(std::string_view(s).substr(at));
  return r;
}

// The exit code and message a failure gives (as cli/main.cpp would print them).
RankOutcome outcome_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const UsageError& e) {
    return {kExitUsage, e.what()};
  } catch (const std::bad_alloc&) {
    return {kExitError, "error: out of memory (fewer --threads or a smaller --batch may fit)"};
  } catch (const std::exception& e) {
    return {kExitError, std::string("error: ") + e.what()};
  }
}

// "ecostat: error: rank 2: <cause>" (a usage error: "ecostat: rank 2: <cause>").
void print_failure(size_t rank, const std::string& message) {
  if (message.rfind("error: ", 0) == 0)
    std::fprintf(stderr, "ecostat: error: rank %zu: %s\n", rank, message.c_str() + 7);
  else
    std::fprintf(stderr, "ecostat: rank %zu: %s\n", rank, message.c_str());
}

// Runs `step` on every rank; then all ranks learn whether every rank succeeded. Rank 0 prints
// each failure with its rank. Returns 0 or the exit code of the first failing rank.
template <class Step>
int on_every_rank(Cluster& cluster, Step&& step) {
  RankOutcome mine;
  try {
    step();
  } catch (...) {
    if (!cluster.distributed()) throw;  // one process: reported as the one-process route does
    mine = outcome_of(std::current_exception());
  }
  const std::vector<RankOutcome> all = cluster.gather_outcomes(mine);
  int code = 0;
  for (size_t r = 0; r < all.size(); ++r) {
    if (all[r].code == 0) continue;
    print_failure(r, all[r].message);
    if (code == 0) code = all[r].code;
  }
  return cluster.broadcast(code);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string seconds_text(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", s);
  return text;
}

// What the reduction moved, for the summary rank 0 prints (docs/scale-out.md).
struct ReductionStats {
  double seconds = 0;  // this rank's time in the reduction (waiting, receiving, merging, sending)
  uint64_t bytes_sent = 0, largest_message = 0;
};

// Download files smaller than this are not cut into slices: ECOSTAT_SLICE_MIN_BYTES, else 8 MiB
// (below that, a slice's fixed costs outweigh its share of the reading).
uint64_t slice_min_bytes() {
  const char* v = std::getenv("ECOSTAT_SLICE_MIN_BYTES");
  if (v && *v) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v, &end, 10);
    if (end && *end == '\0') return n;
    throw UsageError(std::string("ECOSTAT_SLICE_MIN_BYTES: not a number of bytes: ") + v);
  }
  return uint64_t{8} << 20;
}

// A test hook (tests/cli/mpi.sh): ECOSTAT_MPI_FAIL_RANK=R makes rank R > 0 fail as it is about
// to send its result up the tree, the one failure the other tests cannot cause.
void fail_if_told(int rank) {
  const char* v = std::getenv("ECOSTAT_MPI_FAIL_RANK");
  if (v && *v && std::atoi(v) == rank) throw Error("injected failure (ECOSTAT_MPI_FAIL_RANK)");
}

// Every rank's result to rank 0 along the binomial tree (cluster.hpp, binomial_tree): each
// receiver merges what it holds (lower ranks) with what it receives (the next ranks), so the
// merge follows rank order. Returns rank 0's merged result (empty elsewhere). A rank that fails
// still takes part in every exchange of its own (it receives from each child and tells its
// parent it has nothing), so that no rank is left blocked; it then throws its own failure. A
// rank whose child had nothing forwards that without failing itself: the failing rank reports.
RankResult reduce_to_root(Cluster& cluster, RankResult own, ReductionStats& stats) {
  const auto start = std::chrono::steady_clock::now();
  std::optional<RankResult> held(std::move(own));  // nullopt: failed here or below
  std::exception_ptr failure;
  for (const TreeStep& step : binomial_tree(cluster.rank(), cluster.size())) {
    if (step.send) {
      bool ok = held.has_value();
      std::string bytes;
      if (ok) {
        try {
          fail_if_told(cluster.rank());
          bytes = encode(*held);
        } catch (...) {
          failure = std::current_exception();
          ok = false;
        }
      }
      held.reset();
      if (ok) cluster.send(step.peer, bytes);
      else cluster.send_failed(step.peer);
      break;
    }
    std::optional<std::string> got = cluster.receive(step.peer);
    if (!got || !held) {
      held.reset();
      continue;
    }
    try {
      RankResult later = decode(*got, step.peer);
      got.reset();
      merge_into(*held, std::move(later));
    } catch (const std::exception& e) {
      failure = std::make_exception_ptr(Error("the result of rank " + std::to_string(step.peer) + ": " + e.what()));
      held.reset();
    }
  }
  stats.seconds = seconds_since(start);
  stats.bytes_sent = cluster.bytes_sent();
  stats.largest_message = cluster.largest_message();
  if (failure) std::rethrow_exception(failure);
  return held ? std::move(*held) : RankResult{};
}

// Rank 0, after the merge: the outputs, as the one-process route writes them.
int finish_and_write(RankResult all, const JobSpec& job, const RunOutputs& out) {
  if (!all.partial) throw std::logic_error("rank 0 has no merged partial");  // it always has item 0
  collapse_slices(all.partial->input);
  all.partial->day_marks.clear();  // used up by the merge
  Results r = finish(std::move(*all.partial), job);
  if (!job.rejects_path.empty()) {
    std::string text = "file,line,field,reason\n";
    for (const auto& [item, rows] : all.rejects) text += rows;
    write_file_atomically(job.rejects_path, text);
  }
  if (!out.json_path.empty()) write_results_json_file(r, out.json_path, 2, job.threads);
  if (!out.csv_dir.empty()) write_results_csv(r, out.csv_dir);
  if (!out.quiet && out.json_path != "-") write_stdout(results_to_text(r, out.table_rows));
  return check_rejects(r, job, out.max_reject_fraction);
}

// Collective. Rank 0, unless quiet, prints one line to stderr about a launch of several ranks:
// the slowest rank's reading and accumulating (and rank 0's), rank 0's time in the reduction, and the bytes
// each rank sent up the tree (docs/scale-out.md, "How the work is split").
void report_reduction(Cluster& cluster, double accumulate_seconds, const ReductionStats& stats, bool quiet) {
  if (!cluster.distributed()) return;
  const std::vector<uint64_t> sent = cluster.gather(stats.bytes_sent);
  const std::vector<uint64_t> micros = cluster.gather(uint64_t(accumulate_seconds * 1e6));
  const std::vector<uint64_t> largest = cluster.gather(stats.largest_message);
  if (cluster.rank() != 0 || quiet) return;
  const size_t slowest = size_t(std::max_element(micros.begin(), micros.end()) - micros.begin());
  std::string line = "ecostat: " + std::to_string(cluster.size()) + " ranks: read and accumulated in " +
                     seconds_text(micros[slowest] / 1e6) + " s (slowest: rank " + std::to_string(slowest) +
                     "; rank 0: " + seconds_text(micros[0] / 1e6) + " s), reduced to rank 0 in " + seconds_text(stats.seconds) + " s; bytes sent:";
  uint64_t total = 0;
  for (size_t r = 1; r < sent.size(); ++r) {
    line += (r > 1 ? ", rank " : " rank ") + std::to_string(r) + " " + std::to_string(sent[r]);
    total += sent[r];
  }
  line += " (" + std::to_string(total) + " in all, largest message " +
          std::to_string(*std::max_element(largest.begin(), largest.end())) + ")\n";
  std::fputs(line.c_str(), stderr);
}

void check_outputs(const JobSpec& job, const std::vector<std::string>& downloads, const RunOutputs& out) {
  const std::vector<OutputPath> outputs{{"--json", out.json_path}, {"--rejects", job.rejects_path}};
  if (downloads.size() > 1)
    for (const auto& d : downloads)
      if (d == "-") throw UsageError("--downloads: standard input (-) cannot be one of several download files");
  for (size_t i = 0; i < std::max<size_t>(1, downloads.size()); ++i) {
    JobSpec one = job;
    one.downloads_path = downloads.empty() ? std::string() : downloads[i];
    check_job_files(one, outputs, out.csv_dir);
  }
}

}  // namespace

bool scale_out_wanted(const std::vector<std::string>& downloads) {
  const int launched = launched_world_size();
  if (launched > 1 && !built_with_mpi())
    throw UsageError("launched as " + std::to_string(launched) +
                     " MPI ranks, but this ecostat was built without MPI (ECOSTAT_MPI=OFF or no MPI found): every rank "
                     "would run the whole job; rebuild with MPI (docs/scale-out.md) or run one process");
  return downloads.size() > 1 || (launched > 0 && built_with_mpi());
}

int run_scaled(const JobSpec& job, const std::vector<std::string>& downloads, const RunOutputs& out) {
  Cluster cluster;
  std::vector<WorkItem> items;
  std::vector<size_t> mine;
  SliceScans scans;
  JobSpec ranked = job;  // the job with this rank's device (docs/scale-out.md, "Devices")

  // 1. Before any work: rank 0 checks the outputs; every rank plans the items (the same plan:
  // checked), checks that it can open its files and counts the lines of its slices.
  if (int code = on_every_rank(cluster, [&] {
        if (cluster.rank() == 0) check_outputs(job, downloads, out);
        if (job.backend != "cpu") ranked.device = device_for_rank(requested_device(job.device), cluster.local_rank());
        items = plan_work(ranked, downloads, cluster.size(), slice_min_bytes());
        mine = items_of_rank(items.size(), cluster.rank(), cluster.size());
        for (size_t i : mine) check_readable(items[i].spec.downloads_path);
        scans = scan_slices(items, mine);
      }))
    return code;
  const uint64_t fingerprint = plan_fingerprint(items);
  if (cluster.sum_over_ranks({fingerprint})[0] != fingerprint * uint64_t(cluster.size())) {
    if (cluster.rank() == 0)
      std::fprintf(stderr, "ecostat: error: the ranks cut the download files differently: every rank must see the "
                           "same bytes under each download path\n");
    return kExitError;
  }
  scans.lines = cluster.sum_over_ranks(std::move(scans.lines));
  scans.spans = cluster.sum_over_ranks(std::move(scans.spans));
  settle_slices(items, scans);

  // 2. Each rank's items into one partial (progress: every rank's downloads, shown by rank 0).
  RankResult own;
  double accumulate_seconds = 0;  // this rank's own work, before waiting for the others
  uint64_t my_bytes = 0;
  for (size_t i : mine)
    if (!items[i].skip) my_bytes += item_bytes(items[i]);
  LaunchProgress progress(cluster, my_bytes);
  const int accumulated = on_every_rank(cluster, [&] {
    const auto start = std::chrono::steady_clock::now();
    struct LastPost {  // also when the items fail
      LaunchProgress& p;
      ~LastPost() {
        try {
          p.end_of_work();
        } catch (...) {  // an MPI error here: the job's outcome says why the rank stopped
        }
      }
    } last_post{progress};
    own = run_items(items, mine, !job.rejects_path.empty(), progress);
    accumulate_seconds = seconds_since(start);
  });
  progress.complete();  // collective: every rank's last post reaches rank 0
  if (accumulated) return accumulated;

  // 3. Up the binomial tree to rank 0, merged in rank order.
  RankResult all;
  ReductionStats stats;
  if (int code = on_every_rank(cluster, [&] { all = reduce_to_root(cluster, std::move(own), stats); })) return code;
  report_reduction(cluster, accumulate_seconds, stats, out.quiet);

  // 4. Rank 0 finishes and writes the outputs.
  int code = 0;
  try {
    if (cluster.rank() == 0) code = finish_and_write(std::move(all), ranked, out);
  } catch (...) {
    if (!cluster.distributed()) throw;
    const RankOutcome o = outcome_of(std::current_exception());
    print_failure(0, o.message);
    code = o.code;
  }
  return cluster.broadcast(code);
}

}  // namespace ecostat::cli
