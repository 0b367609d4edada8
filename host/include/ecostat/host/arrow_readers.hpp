// Arrow C Streams as producers for each input role: the same tables, events, rejects and
// checks as the file readers (readers.hpp), read from an ArrowArrayStream of record batches.
//
// Each function takes ownership of `stream` (it is released exactly once, also when an
// exception leaves the function). ReadStats.file is "arrow:<name>"; read/accepted/rejected
// count rows as the file readers count lines (accepted + rejected == read); bytes is the sum
// of the batches' buffer bytes. A required column that is missing or of an Arrow type the
// role cannot read is an ArrowBatchError (an InputError naming the column); a bad cell (a
// null where a value is required, a negative count, a bad id or date) is a reject with
// line = the row's global number (from 1) and field = the column name.
// Columns, types and rules per role: docs/arrow.md.
#pragma once
#include <functional>
#include <string>

#include "ecostat/host/arrow_c.hpp"
#include "ecostat/host/readers.hpp"

namespace ecostat::host {

// Repository records: the JSON Lines reader's fields as columns (camelCase or snake_case).
ReadStats read_repositories_arrow(ArrowArrayStream* stream, const std::string& name, RepoTable& repos,
                                  RejectLog& rejects, const ReadOptions& options = {});

// Attribution rows: handle (or hf_org, org, author), organisation, country, region, org_type.
ReadStats read_attribution_arrow(ArrowArrayStream* stream, const std::string& name, AttributionTable& table,
                                 RejectLog& rejects, const ReadOptions& options = {});

// Parameter counts: an id column and a count column, as the parameters CSV names them.
ReadStats read_parameters_arrow(ArrowArrayStream* stream, const std::string& name, ParameterTable& table,
                                RejectLog& rejects, const ReadOptions& options = {});

// Download records: repo, date and downloads (per period) or downloads_all_time (cumulative,
// differenced per repo), sharing the job-wide total and duplicate checks with the job's other
// download inputs. Events go to sink in batches of at most batch_capacity.
ReadStats read_downloads_arrow(ArrowArrayStream* stream, const std::string& name, DownloadFormat format,
                               RepoTable& repos, RejectLog& rejects, size_t batch_capacity,
                               const std::function<void(const EventBatch&)>& sink, const ReadOptions& options,
                               DownloadJob& job);

}  // namespace ecostat::host
