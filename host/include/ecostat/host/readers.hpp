// Readers for the three kinds of input. Each streams its source, dictionary-encodes ids into
// the tables it is given and reports every bad record to the RejectLog.
#pragma once
#include <functional>
#include <string>

#include "ecostat/host/rejects.hpp"
#include "ecostat/host/source.hpp"
#include "ecostat/records.hpp"

namespace ecostat::host {

// Called with a byte count as a reader advances (for progress on long inputs); may be empty.
using ProgressFn = std::function<void(uint64_t bytes_done, uint64_t bytes_total)>;

// Limits shared by the readers (the overloads without options use these defaults).
struct ReadOptions {
  size_t max_line = 64u << 20;     // a longer physical line is rejected ("line too long"), never split
  size_t max_record = 64u << 20;   // a CSV record spanning several lines is bounded by this too
  uint64_t progress_every = 16u << 20;  // bytes between two progress calls
};

// Hub-style JSON Lines repository records (camelCase and snake_case). Also accepts the CSV
// export whose `metadata` column holds the Hub's ModelInfo as JSON (detected from the header),
// as in the real lineage extract. A duplicate id is rejected (the first record wins).
ReadStats read_repositories(ByteSource& src, RepoTable& repos, RejectLog& rejects,
                            const ProgressFn& progress = {});
ReadStats read_repositories(ByteSource& src, RepoTable& repos, RejectLog& rejects,
                            const ProgressFn& progress, const ReadOptions& options);

// Attribution CSV: header names columns among handle (or hf_org, org, author), organisation
// (or parent, parent_organisation), country, region, org_type (or type). Missing columns
// leave those fields unattributed.
ReadStats read_attribution(ByteSource& src, AttributionTable& table, RejectLog& rejects);
ReadStats read_attribution(ByteSource& src, AttributionTable& table, RejectLog& rejects,
                           const ReadOptions& options);

enum class DownloadFormat { detect, per_period, cumulative };

// Download records CSV: `repo,date,downloads` (per period) or `repo,date,downloads_all_time`
// (cumulative, differenced per repo; detect reads the header). Events go to sink in batches of
// at most batch_capacity; unknown repo ids become placeholder units in repos.
ReadStats read_downloads(ByteSource& src, DownloadFormat format, RepoTable& repos, RejectLog& rejects,
                         size_t batch_capacity, const std::function<void(const EventBatch&)>& sink,
                         const ProgressFn& progress = {});
ReadStats read_downloads(ByteSource& src, DownloadFormat format, RepoTable& repos, RejectLog& rejects,
                         size_t batch_capacity, const std::function<void(const EventBatch&)>& sink,
                         const ProgressFn& progress, const ReadOptions& options);

// A parameters table: model id -> total (and active) parameter count, e.g. the tracked-models
// project's model_parameters.csv. Header names an id column (model_id, modelid, id, repo,
// model) and a count column: total_params_b, params_b, parameters_b or total_b (billions,
// decimal: "3.3" is 3,300,000,000, at most 9 decimals) or parameters, total_params,
// parameter_count, safetensors_total or total (a whole count). Optional active_params_b or
// active_parameters (same units). Other columns are ignored. Rejected, with file, line and
// field: an empty id, a duplicate id (the first row wins), a missing, zero, negative or
// malformed count, a wrong column count.
struct ParameterTable {
  Dictionary ids;
  std::vector<uint64_t> total;
  std::vector<uint64_t> active;  // 0 when not given
};
ReadStats read_parameters(ByteSource& src, ParameterTable& table, RejectLog& rejects);
ReadStats read_parameters(ByteSource& src, ParameterTable& table, RejectLog& rejects, const ReadOptions& options);

}  // namespace ecostat::host
