// The parallel reader of plain downloads CSV files (download_reader_parallel.cpp). Internal to host/.
#pragma once
#include <functional>
#include <string>

#include "csv.hpp"
#include "download_records.hpp"
#include "download_rows.hpp"
#include "ecostat/host/readers.hpp"

namespace ecostat::host::detail {

// Reads `path` with `threads` threads when it is a plain (uncompressed) regular file of at least
// options.parallel_min_bytes with an unquoted header, filling *stats; returns false, having read
// nothing, when it is not (stdin, a pipe, a compressed or small file): the caller reads it with
// the sequential reader then. Results, unit ids and rejects equal the sequential reader's.
bool read_downloads_parallel(const std::string& path, DownloadFormat format, RepoTable& repos, RejectLog& rejects,
                             size_t batch_capacity, const std::function<void(const EventBatch&)>& sink,
                             const ProgressFn& progress, const ReadOptions& options, DownloadJob& job,
                             unsigned threads, ReadStats* stats);

}  // namespace ecostat::host::detail
