// One downloads CSV file read as several byte ranges (slices), by different processes: how
// `mpirun ecostat run` splits one big file across ranks (docs/scale-out.md, "Slices of one
// file"). A slice is read as the part of the file it covers: the header comes from the file's
// first line, and its records are numbered with the file's own line numbers, so rejects and
// `--strict` messages name the same line as a read of the whole file.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ecostat/host/readers.hpp"

namespace ecostat::host {

// Where to cut `path` into at most `pieces` slices: the offsets of the cuts, each at the start of
// a line and after the header (ascending, distinct, within (0, size)); the slices are then
// [0, cut_0), [cut_0, cut_1), ..., [cut_last, size). Empty when the file is not to be sliced: it
// is not a plain regular text file (stdin, a pipe, gzip, zstd, Parquet), it has fewer than
// min_bytes, its first line is not a usable unquoted header, its format is (or is detected as)
// cumulative (snapshots are differenced in file order), or pieces < 2. Reads only the header and
// a few bytes around each cut. Throws InputError when the file cannot be opened.
std::vector<uint64_t> download_cuts(const std::string& path, DownloadFormat format, size_t pieces, uint64_t min_bytes,
                                    size_t max_line);

// What one slice [begin, end) of a file holds, found by one fast pass over it: its physical lines
// (line ends in it) and whether a record of it continues on the next line (a quoted field
// holding a line break, by the readers' own rule; lines over max_line are not looked at, as the
// readers reject them by length). Slices can be read apart only when no slice of the file has
// such a record: a slice cannot tell a line start from a line inside such a record.
struct SliceScan {
  uint64_t lines = 0;
  bool record_spans_lines = false;
};
SliceScan scan_download_slice(const std::string& path, uint64_t begin, uint64_t end, size_t max_line);

// A Parquet downloads file cut between row groups into at most `pieces` slices of about equal
// rows: for each cut, the slice's first row group and the rows before it (the row number its
// rejects start after; no pass over the data: the footer has the counts). Empty when the file is
// not to be sliced: fewer than two row groups, under min_bytes, cumulative (format, or detected
// from a downloads_all_time column), or pieces < 2. Throws InputError as open_parquet_stream.
struct RowGroupCut {
  uint64_t row_group = 0, rows_before = 0;
};
std::vector<RowGroupCut> parquet_download_cuts(const std::string& path, DownloadFormat format, size_t pieces,
                                               uint64_t min_bytes);

}  // namespace ecostat::host
