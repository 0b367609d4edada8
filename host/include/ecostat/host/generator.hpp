// Synthetic Hub-shaped data at any scale (docs/generator.md): repository records, download
// records and an attribution table, as the files the readers take and as the engine's
// in-memory event batches. Everything is a pure function of (spec, index): the same seed gives
// the same bytes whatever the number of threads, and download record i can be produced without
// the ones before it, so 10^10 records stream in parallel without being held.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ecostat/backend.hpp"
#include "ecostat/records.hpp"

namespace ecostat::host {

struct GenSpec {
  uint64_t seed = 1;
  uint64_t records = 1000000;        // download records (per-period counts)
  uint32_t models = 2200000;         // repository records (all models)
  uint32_t authors = 0;              // author handles; 0 = models / 6 (at least 1)
  uint32_t attributed = 0;           // handles in the attribution table; 0 = min(authors, 5000)
  // Lineage.
  double derivative_fraction = 0.28; // models with a base model
  // Relation of a derivative to its primary parent, in Relation order:
  // finetune, adapter, quantized, merge (a merge has two parents).
  std::array<double, 4> relation_mix{0.36, 0.43, 0.19, 0.02};
  double nested = 0.25;              // derivatives at depth L (1..4) in proportion to nested^(L-1)
  double family_exponent = 1.25;     // parent popularity ~ rank^-s within the level above
  double author_exponent = 0.8;      // models per author ~ rank^-s
  // Downloads.
  double record_skew = 0.25;         // records per model: P(popularity rank < x) = (x / models)^skew
  double download_exponent = 1.06;   // expected model total at popularity rank k ~ k^-exponent
  double median_downloads = 150;     // expected total of the median-rank model
  std::string first_day = "2022-01-01", last_day = "2025-12-31";  // dates of download records
  std::string hub_start = "2019-01-01";  // earliest creation date (creations double every year)
  unsigned threads = 0;              // 0 = all hardware threads
  void validate() const;             // throws UsageError
};

// The analytic shape a spec asks for (before sampling noise and the >= 1 count per record).
struct GenExpected {
  double derivative_fraction = 0;
  std::array<double, 4> relation_mix{};
  double top_share_0_01pct = 0;      // expected share of the top ceil(0.01% of models)
  double top_share_1pct = 0;
  double median_total = 0;           // expected total of the median model
  double largest_family = 0;         // expected size (derivatives) of the largest family
  double mean_records_per_model = 0;
};

class Generator {
 public:
  explicit Generator(GenSpec spec);  // builds the per-model tables: O(models) time and memory
  ~Generator();
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  const GenSpec& spec() const { return spec_; }
  uint32_t models() const { return spec_.models; }
  uint64_t records() const { return spec_.records; }
  unsigned threads() const { return threads_; }
  GenExpected expected() const;

  // Download record i (0 <= i < records): unit (= line of the model in repos.jsonl), day
  // (days since 1970-01-01) and count (>= 1).
  struct Record {
    uint32_t unit;
    int32_t day;
    uint32_t count;
  };
  Record record(uint64_t i) const;
  // Records [begin, end) as events, appended to a cleared batch.
  void events(uint64_t begin, uint64_t end, EventBatch& batch) const;
  // Every record as events, in batches of `capacity` (the last may be shorter), produced by the
  // spec's threads and handed to sink in record order.
  void for_each_batch(size_t capacity, const std::function<void(const EventBatch&)>& sink) const;

  // The model population (unit ids are line numbers of repos.jsonl, 0-based; parents come first).
  std::string repo_id(uint32_t unit) const;
  std::string author_handle(uint32_t author) const;
  uint32_t author_of(uint32_t unit) const;
  uint32_t root_of(uint32_t unit) const;
  Relation relation_of(uint32_t unit) const;     // to the primary parent; unknown for roots
  std::vector<uint32_t> parents_of(uint32_t unit) const;
  int32_t created_day(uint32_t unit) const;
  uint32_t n_authors() const { return n_authors_; }
  // Base-model edges exactly as the repository reader builds them from repos.jsonl.
  std::vector<BaseEdge> edges() const;

  // Unit -> group maps as the engine derives them from the written files (same ids, same
  // `unknown` group = the last id): model (identity), author, organisation, country, region,
  // org_type, family. keys(group) names each group id (unknown last).
  GroupMap group_map(const std::string& group) const;
  std::vector<std::string> group_keys(const std::string& group) const;

  // Writers. Paths may be "-" for standard output. Downloads are formatted in parallel.
  void write_repos_jsonl(const std::string& path) const;
  void write_orgs_csv(const std::string& path) const;
  // progress(records_done) is called from the writing thread now and then; may be empty.
  void write_downloads_csv(const std::string& path, const std::function<void(uint64_t)>& progress = {}) const;
  // Columnar binaries for the peers (numpy.fromfile): unit.u32, month.u16 (months since
  // 1970-01), count.u32 under dir/events/, and the group maps (u32 per unit) under dir/units/.
  void write_events_bin(const std::string& dir) const;
  void write_units_bin(const std::string& dir) const;
  // dir/manifest.json: the spec, the files, the expected shape.
  void write_manifest(const std::string& dir, const std::vector<std::string>& files) const;

  static GenSpec spec_from_manifest(const std::string& path);  // throws InputError

 private:
  struct Impl;
  GenSpec spec_;
  unsigned threads_ = 1;
  uint32_t n_authors_ = 1;
  Impl* impl_ = nullptr;
};

// "1000", "1e8", "2.2M", "10G", "5k": a count (k = 10^3, M = 10^6, G/B = 10^9, T = 10^12).
// Throws UsageError when not a non-negative whole number.
uint64_t parse_scaled_count(const std::string& s);

}  // namespace ecostat::host
