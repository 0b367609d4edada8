// Parquet: a dictionary-encoded string column of one row group, read from its pages (the
// stored indices and the column chunk's dictionary) instead of through Arrow C++'s dictionary
// builder, which hashes every dictionary entry into a memo table for each row group and copies
// the dictionary into every batch (at 500k distinct ids, 70 ns of a core per row: most of the
// decoding of a downloads file). Internal to parquet_stream.cpp; sees Arrow headers (C++20).
#pragma once
#include <arrow/array.h>
#include <arrow/memory_pool.h>
#include <arrow/result.h>
#include <parquet/file_reader.h>

#include <memory>

namespace ecostat::host::detail {

// Leaf column `column` (top level, BYTE_ARRAY) of row group `row_group` as a dictionary<int32,
// utf8> array of the row group's rows: the indices as stored (nulls where the definition level
// says so) into the chunk's dictionary, copied once. Indices are not checked against the
// dictionary: the consumer rejects a row whose index lies outside it, as it does for any
// producer. nullptr when the chunk's pages cannot be exposed as dictionary indices (a page fell
// back to plain encoding) or its dictionary holds 2 GiB of text or more: read it through Arrow.
// Its buffers come from `pool`.
arrow::Result<std::shared_ptr<arrow::Array>> read_dictionary_column(parquet::ParquetFileReader& file, int row_group,
                                                                    int column, arrow::MemoryPool* pool);

}  // namespace ecostat::host::detail
