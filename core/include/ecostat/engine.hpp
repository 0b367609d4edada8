// The engine: runs one job (read the inputs, stream the events through a backend, reduce)
// and assembles the results every output writer reads.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ecostat/backend.hpp"
#include "ecostat/concentration.hpp"
#include "ecostat/study.hpp"

namespace ecostat {

// Which count makes a unit's total.
enum class Measure { automatic, records, all_time, d30 };
const char* measure_name(Measure m);
Measure parse_measure(const std::string& s);  // "auto", "records", "all_time", "30d"; throws UsageError

// Every group a share table can be computed by (the `model` group is the unit itself).
const std::vector<std::string>& all_group_names();

// What a job computes and how its producers read: every option but where the inputs are.
// A Session takes these; JobSpec adds the paths for the host-side driver (ecostat/job.hpp).
struct EngineOptions {
  std::string downloads_format = "detect";  // detect | per_period | cumulative
  Measure measure = Measure::automatic;     // auto: records when downloads are given, else all_time
                                            // when any repo has it, else 30d
  std::string backend = "auto";
  unsigned threads = 0;                     // CPU threads, 0 = all
  // GPU backends: the device to open, taken mod the node's device count (so a rank's local rank
  // may be passed as is); -1 = not chosen: ECOSTAT_DEVICE when set, else device 0.
  int device = -1;
  ConcentrationSpec concentration;
  std::vector<std::string> share_groups = all_group_names();
  std::vector<std::string> month_groups = all_group_names();  // `<group>_x_month` tables
  std::vector<std::string> concentration_units{"model"};     // unit = model or any group
  std::vector<std::string> concentration_within;             // per-group concentration of model totals
  size_t share_limit = 100;            // rows per share list (per month for x_month); 0 = all
  size_t family_limit = 100;           // families listed
  std::vector<uint64_t> size_bucket_edges{1000000000ull, 10000000000ull, 100000000000ull};
  std::vector<std::string> family_tags{"llama", "qwen", "qwen2", "qwen3", "mistral", "gemma", "gemma2",
                                       "gemma3", "phi", "phi3", "deepseek", "falcon", "gpt2", "bert", "t5"};
  size_t batch_capacity = 1u << 20;    // events per batch
  bool strict = false;
  // Plausible-date window (YYYY-MM-DD, inclusive, within 1970-01-01..7431-03-31): download
  // dates and creation dates outside it are rejected ("date out of range").
  std::string min_date = "2000-01-01", max_date = "2040-12-31";
  std::string duplicates = "count";    // exact duplicate download rows: count (and report) | reject
  std::string params_prefer = "table";  // table | safetensors: which parameter count wins when both exist
  // Attribution (organisation, country, region, org_type) of a unit whose own value is unknown
  // is taken from its first attributed ancestor along primary parents.
  bool inherit_attribution = false;
  StudySpec study;
  void validate() const;               // throws UsageError
};

// A slice of one downloads file, read instead of all of it (docs/scale-out.md, "Slices of one
// file"): bytes [begin, end) of a plain per-period CSV file, cut at line starts
// (host::download_cuts); line_base is the number of the file's lines before `begin`
// (host::scan_download_slice counts them), so that rejects carry the file's own line numbers.
// end == 0: the whole file.
// For a Parquet file (row_groups), begin and end count row groups and line_base rows.
struct DownloadSlice {
  uint64_t begin = 0, end = 0, line_base = 0;
  bool row_groups = false;
  bool whole() const { return end == 0; }
};

struct JobSpec : EngineOptions {
  // Inputs: paths, "-" for standard input, empty for none. With all of them empty (and no Arrow
  // stream) the job runs on the embedded sample data.
  std::string repos_path, downloads_path, orgs_path;
  // The study's parameters table (model id -> parameter count, host::read_parameters); with no
  // input at all the sample's params.csv is read.
  std::string params_path;
  std::string rejects_path;            // write every rejection there as CSV
  DownloadSlice downloads_slice;       // read only this slice of downloads_path
  // Keep the (repo, day) marks of per-period download rows in the partial under this name
  // (Partial::day_marks): merging partials of one file's slices then counts the rows repeated
  // across slices, as one session reading the whole file does. Empty: not kept.
  std::string duplicate_scope;
  // Progress on long work: stage name, bytes done, bytes total (0 when unknown).
  std::function<void(const std::string&, uint64_t, uint64_t)> progress;
};

struct FileSummary {
  std::string role, file;  // role: repos | downloads | orgs
  uint64_t read = 0, accepted = 0, rejected = 0, bytes = 0;
};

struct InputSummary {
  std::vector<FileSummary> files;
  uint64_t repositories = 0;           // accepted repository records
  uint64_t units = 0;                  // repositories + placeholders
  uint64_t placeholders_from_downloads = 0;
  uint64_t download_records = 0;       // accepted download records
  uint64_t duplicate_download_rows = 0;  // accepted or rejected rows repeating a repo and date already read
  uint64_t events = 0;                 // events streamed; a count above 2^32-1 is one (wide) event
  uint64_t rejected = 0;
  std::map<std::string, uint64_t> rejected_by_reason;
  struct Rejected { std::string file; uint64_t line; std::string field, reason; };
  std::vector<Rejected> first_rejects;  // the first 20
  uint64_t unresolved_parents = 0;
  uint64_t units_without_measure = 0;  // e.g. repos without downloads_all_time under all_time
};

// A share row's key is a view of its table's key_text, which holds each listed group's key once
// (millions of rows, one string each, were most of a run's peak memory). Copies of a table share
// that text, so the views stay valid while any copy of the table lives; keep the table, not only
// a row, or copy the key (std::string(row.key)).
struct ShareRow { std::string_view key; uint64_t downloads; double share; };
struct ShareTable {
  std::string group;
  uint64_t groups = 0;                  // groups with at least one member unit (unknown included when it has one)
  uint64_t total = 0;
  bool truncated = false;
  std::vector<ShareRow> rows;           // downloads descending, ties by key
  std::shared_ptr<const std::string> key_text;  // what rows[i].key views
};
struct ShareMonthRow { std::string_view key; Month month; uint64_t downloads; double share; };
struct ShareMonthTable {
  std::string group;                    // e.g. "country" (written as country_x_month)
  std::vector<std::pair<Month, uint64_t>> month_totals;
  bool truncated = false;
  std::vector<ShareMonthRow> rows;      // by month ascending, then downloads descending
  std::shared_ptr<const std::string> key_text;  // what rows[i].key views
};

struct FamilyRow {
  std::string root;
  uint64_t size = 0, descendants = 0, downloads = 0;
  std::array<uint64_t, kRelationCount> by_relation{};
  double share = 0;
};
struct DerivativeRow { std::string key; uint64_t roots = 0, derivatives = 0; };

struct LineageSummary {
  uint64_t nodes = 0, edges = 0, roots = 0, max_depth = 0;
  uint64_t removed_edges = 0;
  std::vector<std::vector<std::string>> cycles;
  std::vector<std::string> self_loops;
  std::vector<std::string> unresolved_sample;  // first 20 unresolved parent ids
  uint64_t families_total = 0;                 // roots with at least one descendant
  std::vector<FamilyRow> families;             // by size descending
  std::vector<DerivativeRow> by_organisation;  // derivatives of the roots each organisation owns
  std::vector<DerivativeRow> by_tag;           // derivative models carrying each family tag
  std::array<uint64_t, kRelationCount> edges_by_relation{};
};

struct Timing { std::string stage; double ms; };

struct Results {
  BackendInfo backend;
  AccumulatorReport accumulator;  // how the download accumulator fitted its device (JSON: backend.memory)
  Measure measure = Measure::records;
  ConcentrationSpec concentration_spec;
  InputSummary input;
  std::map<std::string, ConcentrationStats> concentration;  // by unit
  std::map<std::string, std::vector<std::pair<std::string, ConcentrationStats>>> concentration_within;
  std::vector<ShareTable> share;
  std::vector<ShareMonthTable> share_month;
  LineageSummary lineage;
  std::vector<Timing> timings;
  StudyResults study;                   // JSON: study.*, share.<group>_x_year
};

// Running a job: Session (ecostat/session.hpp) for library callers that push their own data;
// run_job (ecostat/job.hpp, the host-side driver) for files and Arrow streams.

// Adds download events whose counts exceed u32 (EventBatch::wide, which no backend sees) to the
// totals an accumulator's finish() returned for the same maps, exactly: unit totals, the event
// count (one per wide event) and every group x month table, whose month range (and the
// totals') is widened to cover their months. A sum past 2^64-1 throws InputError naming the
// repository (`ids` names the units; `source` is the downloads input, for the message).
void add_wide_events(EventTotals& totals, const std::vector<WideEvent>& wide, const std::vector<GroupMap>& maps,
                     const Dictionary& ids, const std::string& source);

// Writers.
// `threads` format long share tables in parallel (0 = all cores); the bytes are the same for
// any count.
std::string results_to_json(const Results& r, int indent = 2, unsigned threads = 1);  // schema "ecostat.results/1"
// The same bytes, streamed: to `sink` in pieces of about 1 MiB, or to a file written
// atomically ("-" = stdout). Share tables of millions of rows never exist as one JSON DOM.
void write_results_json(const Results& r, const std::function<void(std::string_view)>& sink, int indent = 2,
                        unsigned threads = 1);
void write_results_json_file(const Results& r, const std::string& path, int indent = 2, unsigned threads = 1);
void write_results_csv(const Results& r, const std::string& dir);
std::string results_to_text(const Results& r, size_t rows = 10);
// One sentence per way a GPU backend's accumulator had to adapt to its device's memory
// (Results::accumulator); none when it did not. The text output and the CLI's stderr note say these.
std::vector<std::string> memory_notes(const Results& r);

}  // namespace ecostat
