// Parquet files as Arrow C streams (docs/input-formats.md, "Parquet"). Built with
// -DECOSTAT_PARQUET=AUTO|ON (cmake/EcostatParquet.cmake): the reader is Arrow C++'s, from the
// pyarrow wheel, compiled in one C++20 translation unit (host/src/parquet_stream.cpp) that no
// other source or public header sees. This header is plain C++17 and needs no Arrow headers:
// the stream is the C Stream Interface struct declared in arrow_c.hpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ecostat/host/arrow_c.hpp"

namespace ecostat::host {

// The reason every Parquet entry point gives in a build without Parquet.
inline constexpr const char* kParquetNotBuilt =
    "this ecostat was built without Parquet support (configure with -DECOSTAT_PARQUET=ON)";

// True when this build reads Parquet (configured with ECOSTAT_PARQUET and Arrow C++ found).
bool parquet_supported();

// True when `path` names a regular file starting with Parquet's magic bytes "PAR1". False for
// "-" (standard input), for anything that is not a regular file and for a file that cannot be
// opened (the text readers then report why). The file name plays no part.
bool is_parquet_file(const std::string& path);

// Opens a Parquet file as an Arrow C stream of record batches (at most 64Ki rows each, in file
// order); the caller owns *out and must call its release. Row groups are decoded in parallel
// by `threads` threads (0 = one per hardware thread), at most one row group per thread in
// flight. Top-level string columns that the file stores dictionary-encoded in every row group
// arrive as dictionary<int32, utf8> arrays (each batch carries its dictionary).
// Throws InputError(path, 0, "", reason) when the file cannot be opened or its footer or
// schema is unreadable or corrupt; a row group that fails to decode later is a stream error
// (get_next returns non-zero, get_last_error names the row group and the reason). In a build
// without Parquet it throws InputError(path, 0, "", kParquetNotBuilt).
void open_parquet_stream(const std::string& path, unsigned threads, ArrowArrayStream* out);

// The same over row groups [first_row_group, end_row_group) only: a slice of the file
// (docs/scale-out.md, "Slices of one file"). end_row_group is clamped to the file's count.
void open_parquet_stream(const std::string& path, unsigned threads, ArrowArrayStream* out, int first_row_group,
                         int end_row_group);

// What a plan needs of a Parquet file, from its footer alone: the rows of each row group and
// the top-level column names. Throws as open_parquet_stream does.
struct ParquetShape {
  std::vector<int64_t> row_group_rows;
  std::vector<std::string> columns;
};
ParquetShape parquet_shape(const std::string& path);

}  // namespace ecostat::host
