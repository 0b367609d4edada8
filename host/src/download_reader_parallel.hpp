// The parallel readers of downloads CSV (download_reader_parallel.cpp): a plain file mapped, or a
// stream (stdin, a pipe, gzip, zstd). Internal to host/.
#pragma once
#include <functional>
#include <string>

#include "csv.hpp"
#include "download_records.hpp"
#include "download_rows.hpp"
#include "ecostat/engine.hpp"
#include "ecostat/host/readers.hpp"

namespace ecostat::host::detail {

// Reads `path` with `threads` threads when it is a plain (uncompressed) regular file of at least
// options.parallel_min_bytes with an unquoted header, filling *stats; returns false, having read
// nothing, when it is not (stdin, a pipe, a compressed or small file): the caller reads it with
// read_downloads_streamed or the sequential reader then. Results, unit ids and rejects equal the
// sequential reader's.
bool read_downloads_parallel(const std::string& path, DownloadFormat format, RepoTable& repos, RejectLog& rejects,
                             size_t batch_capacity, const std::function<void(const EventBatch&)>& sink,
                             const ProgressFn& progress, const ReadOptions& options, DownloadJob& job,
                             unsigned threads, ReadStats* stats);

// Reads `src` (any source read_downloads takes: gzip and zstd are decoded) with one thread
// reading and decoding blocks of about threads x options.parallel_chunk_bytes and `threads`
// threads parsing them. Results, unit ids and rejects equal read_downloads's, which reads it
// instead when threads is 0 or the input is small (its size is known and below
// options.parallel_min_bytes; compressed: a quarter of that).
ReadStats read_downloads_streamed(ByteSource& src, DownloadFormat format, RepoTable& repos, RejectLog& rejects,
                                  size_t batch_capacity, const std::function<void(const EventBatch&)>& sink,
                                  const ProgressFn& progress, const ReadOptions& options, DownloadJob& job,
                                  unsigned threads);

// Reads the slice [slice.begin, slice.end) of the plain downloads CSV file `path` (cut by
// download_cuts, so per-period, with an unquoted header and no record spanning lines), with the
// header from the file's first line and the file's line numbers (slice.line_base lines before
// it), with `threads` threads (download_slices.cpp). stats.bytes: the slice's bytes (the first
// slice's include the header). Throws InputError when the file no longer allows it.
ReadStats read_downloads_slice(const std::string& path, const DownloadSlice& slice, DownloadFormat format,
                               RepoTable& repos, RejectLog& rejects, size_t batch_capacity,
                               const std::function<void(const EventBatch&)>& sink, const ProgressFn& progress,
                               const ReadOptions& options, DownloadJob& job, unsigned threads);

}  // namespace ecostat::host::detail
