// The parallel reader of repository records in JSON Lines (repo_reader_parallel.cpp). Internal.
#pragma once
#include <string>

#include "ecostat/host/readers.hpp"
#include "repo_record.hpp"

namespace ecostat::host::detail {

// Reads `path` with `threads` threads (0 or 1: the caller's only) when it is a plain
// (uncompressed) regular file of at least options.parallel_min_bytes holding JSON Lines, filling
// *stats; returns false, having read nothing, when it is not (stdin, a pipe, a compressed or
// small file, a JSON array, the CSV form): the caller reads it with read_repositories then. The table, rejects and counts equal
// read_repositories'.
bool read_repositories_parallel(const std::string& path, RepoTable& repos, RejectLog& rejects,
                                const ProgressFn& progress, const ReadOptions& options, unsigned threads,
                                ReadStats* stats);

}  // namespace ecostat::host::detail
