// A dictionary-encoded Parquet string column read from its pages (parquet_dictionary.hpp).
#include "parquet_dictionary.hpp"

#include <arrow/buffer.h>
#include <arrow/type.h>
#include <arrow/util/bit_util.h>
#include <parquet/column_reader.h>
#include <parquet/metadata.h>
#include <parquet/schema.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace ecostat::host::detail {

namespace {

// The chunk's dictionary as a utf8 array (one copy of its bytes).
arrow::Result<std::shared_ptr<arrow::Array>> dictionary_array(const parquet::ByteArray* dict, int32_t n,
                                                              arrow::MemoryPool* pool) {
  int64_t bytes = 0;
  for (int32_t i = 0; i < n; ++i) bytes += dict[i].len;
  if (bytes > std::numeric_limits<int32_t>::max()) return nullptr;
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> offsets, arrow::AllocateBuffer((int64_t(n) + 1) * 4, pool));
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> data, arrow::AllocateBuffer(bytes, pool));
  auto* off = reinterpret_cast<int32_t*>(offsets->mutable_data());
  auto* out = data->mutable_data();
  int32_t at = 0;
  for (int32_t i = 0; i < n; ++i) {
    off[i] = at;
    if (dict[i].len > 0) std::memcpy(out + at, dict[i].ptr, dict[i].len);
    at += static_cast<int32_t>(dict[i].len);
  }
  off[n] = at;
  return std::make_shared<arrow::StringArray>(n, std::move(offsets), std::move(data));
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::Array>> read_dictionary_column(parquet::ParquetFileReader& file, int row_group,
                                                                    int column, arrow::MemoryPool* pool) {
  std::shared_ptr<parquet::RowGroupReader> group = file.RowGroup(row_group);
  const int64_t rows = group->metadata()->num_rows();
  std::shared_ptr<parquet::ColumnReader> reader =
      group->ColumnWithExposeEncoding(column, parquet::ExposedEncoding::DICTIONARY);
  if (reader->type() != parquet::Type::BYTE_ARRAY || reader->GetExposedEncoding() != parquet::ExposedEncoding::DICTIONARY)
    return nullptr;
  auto& strings = static_cast<parquet::ByteArrayReader&>(*reader);
  const int16_t max_def = reader->descr()->max_definition_level();

  // Indices are read packed (one per non-null value), then spread to their rows.
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> indices, arrow::AllocateBuffer(rows * 4, pool));
  auto* idx = reinterpret_cast<int32_t*>(indices->mutable_data());
  std::vector<int16_t> def(max_def > 0 ? static_cast<size_t>(rows) : 0);
  const parquet::ByteArray* dict = nullptr;
  int32_t dict_len = 0;
  int64_t levels = 0, values = 0;
  while (levels < rows && strings.HasNext()) {
    const parquet::ByteArray* d = nullptr;
    int32_t d_len = 0;
    int64_t got_values = 0;
    const int64_t got = strings.ReadBatchWithDictionary(rows - levels, max_def > 0 ? def.data() + levels : nullptr,
                                                        nullptr, idx + values, &got_values, &d, &d_len);
    if (d != nullptr) dict = d, dict_len = d_len;
    if (got <= 0) break;
    levels += got;
    values += got_values;
  }
  if (levels != rows)
    return arrow::Status::IOError("column ", column, " holds ", levels, " values where the row group has ", rows, " rows");
  if (dict != nullptr && dict_len < 0)  // a corrupt dictionary page header
    return arrow::Status::IOError("column ", column, ": a dictionary of ", dict_len, " entries");

  std::shared_ptr<arrow::Buffer> validity;
  const int64_t nulls = rows - values;
  if (nulls > 0) {
    ARROW_ASSIGN_OR_RAISE(validity, arrow::AllocateBitmap(rows));
    uint8_t* bits = validity->mutable_data();
    int64_t v = values;
    for (int64_t r = rows; r-- > 0;) {  // from the end: a row's index never moves left
      const bool present = def[static_cast<size_t>(r)] == max_def;
      arrow::bit_util::SetBitTo(bits, r, present);
      idx[r] = present ? idx[--v] : 0;
    }
  }
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Array> dictionary, dictionary_array(dict, dict == nullptr ? 0 : dict_len, pool));
  if (!dictionary) return nullptr;
  auto index_array = std::make_shared<arrow::Int32Array>(rows, std::move(indices), std::move(validity), nulls);
  return std::make_shared<arrow::DictionaryArray>(arrow::dictionary(arrow::int32(), arrow::utf8()), index_array,
                                                  dictionary);
}

}  // namespace ecostat::host::detail
