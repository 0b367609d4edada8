// Parquet files as Arrow C streams, through Arrow C++'s Parquet reader (the pyarrow wheel's
// headers and libraries; cmake/EcostatParquet.cmake). With parquet_dictionary.cpp, the only
// C++20 code and the only code that sees Arrow headers. Row groups are decoded in parallel:
// worker w reads row groups w, w + W, w + 2W, ... through its own FileReader (sharing the
// parsed footer) into its one-row-group slot; the stream hands the slots out in file order, so
// at most W row groups are decoded ahead of the consumer. Dictionary-encoded string columns
// (the downloads' repo ids) are read from their pages, one dictionary a row group
// (parquet_dictionary.hpp); the other columns through Arrow.
//
// ecostat/host/parquet.hpp comes first on purpose: it declares the C ABI structs (arrow_c.hpp)
// before arrow/c/abi.h, whose identical guards must then skip its own copy.
#include "ecostat/host/parquet.hpp"

#include <arrow/c/bridge.h>
#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>
#include <arrow/status.h>
#include <arrow/table.h>
#include <arrow/type.h>
#include <parquet/arrow/reader.h>
#include <parquet/exception.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/schema.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ecostat/errors.hpp"
#include "parquet_dictionary.hpp"
#include "recycling_pool.hpp"

namespace ecostat::host {

namespace {

// Rows per batch: Arrow hands every batch its own copy of the row group's dictionary, so fewer,
// larger batches copy less (measured: 64Ki rows spent a fifth of the reader zeroing pages).
constexpr int64_t kBatchRows = 256 * 1024;

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw InputError(path, 0, "", "Parquet: " + why);
}

// A top-level (not nested) UTF-8 string column: the only kind read back as a dictionary.
bool top_level_string(const parquet::ColumnDescriptor& column) {
  if (column.max_repetition_level() != 0 || column.path()->ToDotVector().size() != 1) return false;
  if (column.physical_type() != parquet::Type::BYTE_ARRAY) return false;
  return column.logical_type()->is_string() || column.converted_type() == parquet::ConvertedType::UTF8;
}

// True when every row group stores the column's data pages dictionary-encoded (no fallback
// to plain pages): then the file's dictionaries are kept, and the consumer looks each entry up
// once per batch. A column that fell back is read plain, so no dictionary is rebuilt from it.
bool stored_as_dictionary(const parquet::FileMetaData& metadata, int column) {
  if (metadata.num_row_groups() == 0) return false;
  for (int rg = 0; rg < metadata.num_row_groups(); ++rg) {
    const auto chunk = metadata.RowGroup(rg)->ColumnChunk(column);
    if (!chunk->has_dictionary_page()) return false;
    for (const parquet::PageEncodingStats& s : chunk->encoding_stats()) {
      const bool data_page = s.page_type == parquet::PageType::DATA_PAGE || s.page_type == parquet::PageType::DATA_PAGE_V2;
      const bool dictionary = s.encoding == parquet::Encoding::PLAIN_DICTIONARY || s.encoding == parquet::Encoding::RLE_DICTIONARY;
      if (data_page && !dictionary && s.count > 0) return false;
    }
  }
  return true;
}

parquet::ArrowReaderProperties reader_properties(const parquet::FileMetaData& metadata, bool column_threads) {
  parquet::ArrowReaderProperties props(column_threads);
  props.set_batch_size(kBatchRows);
  const parquet::SchemaDescriptor& schema = *metadata.schema();
  for (int c = 0; c < schema.num_columns(); ++c)
    if (top_level_string(*schema.Column(c)) && stored_as_dictionary(metadata, c)) props.set_read_dictionary(c, true);
  return props;
}

// The memory every buffer of a read comes from: the recycling pool (recycling_pool.hpp), which
// hands the large buffers one row group freed to the next, over the C library's allocator.
// Without it each row group's buffers fault in fresh pages the kernel zeroes (docs/benchmarks.md,
// "Parquet buffers kept for the next row group"). For comparisons, ECOSTAT_PARQUET_POOL=system
// uses the C library's allocator alone, =default Arrow's default pool (mimalloc in the wheel).
arrow::MemoryPool* reader_pool() {
  const char* env = std::getenv("ECOSTAT_PARQUET_POOL");
  const std::string choice = env ? env : "";
  if (choice == "default") return arrow::default_memory_pool();
  if (choice == "system") return arrow::system_memory_pool();
  return &detail::parquet_recycling_pool();
}

arrow::Result<std::unique_ptr<parquet::arrow::FileReader>> open_reader(const std::string& path,
                                                                       const std::shared_ptr<parquet::FileMetaData>& metadata,
                                                                       const parquet::ArrowReaderProperties& props) {
  parquet::arrow::FileReaderBuilder builder;
  ARROW_RETURN_NOT_OK(builder.OpenFile(path, /*memory_map=*/false, parquet::ReaderProperties(reader_pool()), metadata));
  builder.memory_pool(reader_pool());
  builder.properties(props);
  return builder.Build();
}

// The columns read from their pages (parquet_dictionary.hpp) rather than through Arrow: the
// string columns Arrow is told to read as dictionaries, when the schema is flat (a leaf per field)
// and Arrow maps them to dictionary<int32, utf8>. ECOSTAT_PARQUET_PAGE_DICTIONARIES=0 turns it
// off (everything through Arrow: for comparisons).
std::vector<int> page_dictionary_columns(const parquet::FileMetaData& metadata, const parquet::ArrowReaderProperties& props,
                                         const arrow::Schema& schema) {
  const char* env = std::getenv("ECOSTAT_PARQUET_PAGE_DICTIONARIES");
  if ((env && std::string(env) == "0") || metadata.schema()->num_columns() != schema.num_fields()) return {};
  const auto type = arrow::dictionary(arrow::int32(), arrow::utf8());
  std::vector<int> out;
  for (int c = 0; c < schema.num_fields(); ++c)
    if (props.read_dictionary(c) && schema.field(c)->type()->Equals(*type)) out.push_back(c);
  return out;
}

// Slices a row group's table into batches of up to kBatchRows rows (no copy).
arrow::Status batches_of(const std::shared_ptr<arrow::Table>& table, std::vector<std::shared_ptr<arrow::RecordBatch>>* out) {
  arrow::TableBatchReader batches(table);
  batches.set_chunksize(kBatchRows);
  for (;;) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(batches.ReadNext(&batch));
    if (!batch) return arrow::Status::OK();
    out->push_back(std::move(batch));
  }
}

// A row group with its page-dictionary columns read from their pages and the others through
// Arrow. Every batch of the row group then shares one dictionary per column (a consumer resolves
// its entries once). false, nothing read: a column could not be read so (the caller reads the
// row group through Arrow alone).
arrow::Result<bool> read_with_page_dictionaries(parquet::arrow::FileReader& reader, int row_group,
                                                const std::vector<int>& dictionary_columns,
                                                const std::shared_ptr<arrow::Schema>& schema,
                                                std::vector<std::shared_ptr<arrow::RecordBatch>>* out) {
  const int64_t rows = reader.parquet_reader()->metadata()->RowGroup(row_group)->num_rows();
  std::vector<std::shared_ptr<arrow::ChunkedArray>> columns(static_cast<size_t>(schema->num_fields()));
  for (const int c : dictionary_columns) {
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Array> a,
                          detail::read_dictionary_column(*reader.parquet_reader(), row_group, c, reader_pool()));
    if (!a) return false;
    columns[static_cast<size_t>(c)] = std::make_shared<arrow::ChunkedArray>(std::move(a));
  }
  std::vector<int> rest;
  for (int c = 0; c < schema->num_fields(); ++c)
    if (!columns[static_cast<size_t>(c)]) rest.push_back(c);
  if (!rest.empty()) {
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Table> others, reader.ReadRowGroup(row_group, rest));
    if (others->num_columns() != static_cast<int>(rest.size()) || others->num_rows() != rows) return false;
    for (size_t k = 0; k < rest.size(); ++k) {
      const std::shared_ptr<arrow::Field>& want = schema->field(rest[k]);
      const std::shared_ptr<arrow::Field>& got = others->schema()->field(static_cast<int>(k));
      if (got->name() != want->name() || !got->type()->Equals(*want->type())) return false;
      columns[static_cast<size_t>(rest[k])] = others->column(static_cast<int>(k));
    }
  }
  ARROW_RETURN_NOT_OK(batches_of(arrow::Table::Make(schema, std::move(columns), rows), out));
  return true;
}

// Every batch of one row group.
arrow::Status read_row_group(parquet::arrow::FileReader& reader, int row_group, const std::vector<int>& dictionary_columns,
                             const std::shared_ptr<arrow::Schema>& schema,
                             std::vector<std::shared_ptr<arrow::RecordBatch>>* out) {
  if (!dictionary_columns.empty()) {
    ARROW_ASSIGN_OR_RAISE(const bool read, read_with_page_dictionaries(reader, row_group, dictionary_columns, schema, out));
    if (read) return arrow::Status::OK();
  }
  ARROW_ASSIGN_OR_RAISE(auto batches, reader.GetRecordBatchReader(std::vector<int>{row_group}));
  for (;;) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(batches->ReadNext(&batch));
    if (!batch) return arrow::Status::OK();
    out->push_back(std::move(batch));
  }
}

// While a stream reads, the recycling pool keeps the large buffers freed (recycling_pool.hpp).
struct PoolAttachment {
  PoolAttachment() { detail::parquet_recycling_pool().attach(); }
  ~PoolAttachment() { detail::parquet_recycling_pool().detach(); }
  PoolAttachment(const PoolAttachment&) = delete;
  PoolAttachment& operator=(const PoolAttachment&) = delete;
};

class RowGroupStream final : public arrow::RecordBatchReader {
 public:
  // Row groups [first, end) of the file.
  RowGroupStream(std::string path, std::shared_ptr<parquet::FileMetaData> metadata, parquet::ArrowReaderProperties props,
                 std::shared_ptr<arrow::Schema> schema, std::vector<int> dictionary_columns, unsigned workers, int first,
                 int end)
      : attachment_(),
        path_(std::move(path)),
        metadata_(std::move(metadata)),
        props_(std::move(props)),
        schema_(std::move(schema)),
        dictionary_columns_(std::move(dictionary_columns)),
        first_(first),
        row_groups_(end),
        slots_(workers),
        next_row_group_(first) {
    for (unsigned w = 0; w < workers; ++w) threads_.emplace_back([this, w] { work(w); });
  }
  ~RowGroupStream() override { stop(); }
  RowGroupStream(const RowGroupStream&) = delete;
  RowGroupStream& operator=(const RowGroupStream&) = delete;

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    while (next_batch_ == current_.size()) {
      if (!failed_.ok()) return failed_;
      if (next_row_group_ == row_groups_) {
        *out = nullptr;
        return arrow::Status::OK();
      }
      take_next_row_group();
    }
    *out = std::move(current_[next_batch_++]);
    return arrow::Status::OK();
  }

  arrow::Status Close() override {
    stop();
    return arrow::Status::OK();
  }

 private:
  struct Slot {
    bool full = false;
    arrow::Status status;
    std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  };

  // Waits for row group next_row_group_ (in its worker's slot) and makes it current.
  void take_next_row_group() {
    Slot& slot = slots_[size_t(next_row_group_ - first_) % slots_.size()];
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return slot.full; });
    current_ = std::move(slot.batches);
    next_batch_ = 0;
    if (!slot.status.ok())
      failed_ = arrow::Status::IOError("Parquet: row group ", next_row_group_, " of ", row_groups_, ": ", slot.status.message());
    slot = Slot{};
    ++next_row_group_;
    changed_.notify_all();
  }

  void work(unsigned w) {
    Slot& slot = slots_[w];
    std::unique_ptr<parquet::arrow::FileReader> reader;
    for (int rg = first_ + static_cast<int>(w); rg < row_groups_; rg += static_cast<int>(slots_.size())) {
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return !slot.full || stopping_; });
        if (stopping_) return;
      }
      std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
      const arrow::Status status = read_guarded(reader, rg, &batches);
      std::lock_guard lock(mutex_);
      slot.full = true;
      slot.status = status;
      slot.batches = std::move(batches);
      changed_.notify_all();
      if (!status.ok()) return;  // the stream stops at the first failed row group
    }
  }

  // Reads one row group; no exception leaves a worker thread.
  arrow::Status read_guarded(std::unique_ptr<parquet::arrow::FileReader>& reader, int rg,
                             std::vector<std::shared_ptr<arrow::RecordBatch>>* out) {
    try {
      if (!reader) {
        auto opened = open_reader(path_, metadata_, props_);
        if (!opened.ok()) return opened.status();
        reader = std::move(*opened);
      }
      return read_row_group(*reader, rg, dictionary_columns_, schema_, out);
    } catch (const std::exception& e) {
      return arrow::Status::IOError(e.what());
    }
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      changed_.notify_all();
    }
    for (std::thread& t : threads_)
      if (t.joinable()) t.join();
  }

  const PoolAttachment attachment_;  // first: detached last, after the batches held are freed
  const std::string path_;
  const std::shared_ptr<parquet::FileMetaData> metadata_;
  const parquet::ArrowReaderProperties props_;
  const std::shared_ptr<arrow::Schema> schema_;
  const std::vector<int> dictionary_columns_;  // read from their pages (page_dictionary_columns)
  const int first_;       // the first row group read
  const int row_groups_;  // the end of the row groups read

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Slot> slots_;  // one per worker, guarded by mutex_
  bool stopping_ = false;
  std::vector<std::thread> threads_;

  // The consumer's side (one thread at a time, as the C stream contract says).
  int next_row_group_;
  std::vector<std::shared_ptr<arrow::RecordBatch>> current_;
  size_t next_batch_ = 0;
  arrow::Status failed_;
};

std::shared_ptr<parquet::FileMetaData> read_footer(const std::string& path) {
  try {
    return parquet::ParquetFileReader::OpenFile(path)->metadata();
  } catch (const std::exception& e) {
    fail(path, e.what());
  }
}

}  // namespace

bool parquet_supported() { return true; }

void open_parquet_stream(const std::string& path, unsigned threads, ArrowArrayStream* out) {
  open_parquet_stream(path, threads, out, 0, std::numeric_limits<int>::max());
}

ParquetShape parquet_shape(const std::string& path) {
  const std::shared_ptr<parquet::FileMetaData> metadata = read_footer(path);
  ParquetShape shape;
  for (int rg = 0; rg < metadata->num_row_groups(); ++rg) shape.row_group_rows.push_back(metadata->RowGroup(rg)->num_rows());
  const parquet::SchemaDescriptor& schema = *metadata->schema();
  const auto& root = *schema.group_node();
  for (int f = 0; f < root.field_count(); ++f) shape.columns.push_back(root.field(f)->name());
  return shape;
}

void open_parquet_stream(const std::string& path, unsigned threads, ArrowArrayStream* out, int first_row_group,
                         int end_row_group) {
  const std::shared_ptr<parquet::FileMetaData> metadata = read_footer(path);
  const int end = std::min(end_row_group, metadata->num_row_groups());
  const int first = std::clamp(first_row_group, 0, end);
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const unsigned workers = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(end - first)));
  // One row group at a time (one worker) still decodes its columns in parallel, in Arrow's pool.
  const parquet::ArrowReaderProperties props = reader_properties(*metadata, workers == 1 && threads > 1);

  // The schema, read here so that a file Arrow cannot map is an error now, not mid-stream.
  std::shared_ptr<arrow::Schema> schema;
  try {
    auto reader = open_reader(path, metadata, props);
    if (!reader.ok()) fail(path, reader.status().message());
    const arrow::Status status = (*reader)->GetSchema(&schema);
    if (!status.ok()) fail(path, status.message());
  } catch (const parquet::ParquetException& e) {
    fail(path, e.what());
  }

  std::vector<int> dictionary_columns = page_dictionary_columns(*metadata, props, *schema);
  auto stream = std::make_shared<RowGroupStream>(path, metadata, props, schema, std::move(dictionary_columns), workers,
                                                 first, end);
  const arrow::Status exported = arrow::ExportRecordBatchReader(std::move(stream), out);
  if (!exported.ok()) fail(path, exported.message());
}

}  // namespace ecostat::host
