// Arrow C Data Interface import: record batches (a struct ArrowSchema + ArrowArray, as any
// Arrow producer exports them) read column by column into typed, row-wise views, and a C
// Stream (ArrowArrayStream) iterated batch by batch. No libarrow: only the ABI of arrow_c.hpp.
//
// Errors come in two sizes, like a file's:
// - a batch that cannot be read as asked (a required column missing, a column of the wrong
//   Arrow type, a malformed array) throws ArrowBatchError, an InputError naming the column, the
//   format string and the batch;
// - one bad cell (a null where a value is required, a negative count, a date out of range) is a
//   Cell::bad or Cell::null answer for that row; RecordBatchView::reject() turns a RowProblem
//   into a Reject with file "arrow:<stream name>", line = the global row number (1-based) and
//   field = the column name, counted like a bad line of a file.
// Supported types and what each becomes: docs/arrow.md.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ecostat/errors.hpp"
#include "ecostat/host/arrow_c.hpp"
#include "ecostat/host/rejects.hpp"

namespace ecostat::host::arrow {

// ---- Ownership: each base structure released exactly once, also when an exception unwinds.

// Owns an ArrowSchema. Taking one "moves" it as the specification describes: the struct is
// copied and the source marked released (release = NULL), so only this owner releases it.
class OwnedSchema {
 public:
  OwnedSchema() = default;
  explicit OwnedSchema(ArrowSchema* source);
  OwnedSchema(OwnedSchema&& other) noexcept;
  OwnedSchema& operator=(OwnedSchema&& other) noexcept;
  OwnedSchema(const OwnedSchema&) = delete;
  OwnedSchema& operator=(const OwnedSchema&) = delete;
  ~OwnedSchema() { reset(); }
  void reset();                 // releases the schema held, if any
  ArrowSchema* out();           // reset(), then an empty struct for a producer to fill
  const ArrowSchema& get() const { return schema_; }
  bool valid() const { return schema_.release != nullptr; }

 private:
  ArrowSchema schema_{};
};

// Owns an ArrowArray (same rules as OwnedSchema).
class OwnedArray {
 public:
  OwnedArray() = default;
  explicit OwnedArray(ArrowArray* source);
  OwnedArray(OwnedArray&& other) noexcept;
  OwnedArray& operator=(OwnedArray&& other) noexcept;
  OwnedArray(const OwnedArray&) = delete;
  OwnedArray& operator=(const OwnedArray&) = delete;
  ~OwnedArray() { reset(); }
  void reset();
  ArrowArray* out();
  const ArrowArray& get() const { return array_; }
  bool valid() const { return array_.release != nullptr; }

 private:
  ArrowArray array_{};
};

// ---- Errors and per-row results.

// A batch that cannot be read as asked. file() is the source ("arrow:<name>"), field() the
// column (empty for the batch as a whole), line() 0; batch() the 0-based batch number.
class ArrowBatchError : public InputError {
 public:
  ArrowBatchError(const std::string& source, uint64_t batch, const std::string& column,
                  const std::string& reason);
  uint64_t batch() const { return batch_; }

 private:
  uint64_t batch_;
};

// The answer for one cell. `bad` comes with a reason (a value out of range, a dictionary
// index outside the dictionary, corrupt offsets); `null` is for the consumer to judge: an
// optional field, or a RowProblem with kNullRequired.
enum class Cell : uint8_t { value, null, bad };

constexpr const char* kNullRequired = "null where a value is required";

// Row `row` (0-based, within its batch) of column `column` is bad because of `reason`.
struct RowProblem {
  int64_t row = 0;
  std::string column;
  std::string reason;
};

// Where a batch sits in its stream, for messages and rejects.
struct BatchContext {
  std::string source = "arrow";  // "arrow:<stream name>"
  uint64_t batch = 0;            // 0-based batch number
  uint64_t first_row = 0;        // global 0-based row number of the batch's first row
};

// ---- Column views. Cheap to copy; valid while the batch's ArrowArray is alive.

namespace detail {
// Little-endian validity bits as the array sees them: bit (offset + row).
struct Validity {
  const uint8_t* bits = nullptr;  // nullptr: every row valid
  int64_t offset = 0;
  bool valid(int64_t row) const {
    if (!bits) return true;
    const int64_t i = offset + row;
    return (bits[i >> 3] >> (i & 7)) & 1;
  }
};
enum class IntType : uint8_t { i8, u8, i16, u16, i32, u32, i64, u64 };
enum class StringLayout : uint8_t { utf8, large_utf8, view };

// The values of a utf8 / large_utf8 / string_view array; at(i) reads element offset + i.
struct StringValues {
  StringLayout layout = StringLayout::utf8;
  int64_t offset = 0, length = 0;
  Validity validity;
  const void* offsets_or_views = nullptr;
  const char* data = nullptr;            // utf8 / large_utf8
  const char* const* view_buffers = nullptr;  // string_view: the variadic data buffers
  const int64_t* view_sizes = nullptr;        // ... and their sizes in bytes
  int64_t n_view_buffers = 0;
  Cell at(int64_t i, std::string_view* out, std::string* why) const;
};

// What every column view shares: where its rows are and which are null.
struct ColumnSlot {
  std::string name;
  std::string format;       // the column's format string (for a dictionary: the index type)
  int64_t base = 0;         // element index of row 0: the column's offset + the batch's offset
  int64_t length = 0;       // rows of the batch
  Validity batch_validity;  // the record batch (struct) level
  Validity validity;        // the column's own bitmap (its offset is `base`)
  const ArrowArray* array = nullptr;
  bool is_null(int64_t row) const { return !batch_validity.valid(row) || !validity.valid(row); }
};
}  // namespace detail

// A string column: utf8 'u', large_utf8 'U', string_view 'vu', or a dictionary (int8..int64
// or uint8..uint64 indices) of utf8 / large_utf8 / string_view values. Bytes are handed out
// as they are: UTF-8 validity is the consumer's check (the readers' text rules apply).
class StringColumn {
 public:
  const std::string& name() const { return slot_.name; }
  const std::string& format() const { return slot_.format; }
  int64_t length() const { return slot_.length; }
  bool is_null(int64_t row) const;
  // The row's string (through the dictionary for a dictionary column).
  Cell get(int64_t row, std::string_view* out, std::string* why = nullptr) const;

  // Dictionary columns: look each entry up once per batch (dictionary_entry), then map the
  // per-row codes. code() is null for a null index, bad for one outside the dictionary.
  bool is_dictionary() const { return dictionary_; }
  int64_t dictionary_size() const { return values_.length; }
  // Where the dictionary's values lie (buffers, offset, length). Arrow arrays are immutable while
  // alive, so two batches alive at the same time with equal keys share one dictionary (a
  // Parquet row group's, say): a consumer may keep what it derived from its entries.
  struct DictionaryKey {
    const void* offsets_or_views = nullptr;
    const void* data = nullptr;
    int64_t offset = 0, length = -1;
    bool operator==(const DictionaryKey& o) const {
      return offsets_or_views == o.offsets_or_views && data == o.data && offset == o.offset && length == o.length;
    }
  };
  // Whether the two dictionaries hold the same strings in the same order (both alive). Producers
  // such as Arrow C++'s Parquet reader hand each batch a fresh copy of one row group's
  // dictionary: equal content lets a consumer keep what it derived from the entries.
  bool same_dictionary_values(const StringColumn& other) const;
  DictionaryKey dictionary_key() const {
    return dictionary_ ? DictionaryKey{values_.offsets_or_views, values_.data, values_.offset, values_.length}
                       : DictionaryKey{};
  }
  Cell dictionary_entry(int64_t code, std::string_view* out, std::string* why = nullptr) const;
  Cell code(int64_t row, int64_t* out, std::string* why = nullptr) const;

  RowProblem problem(int64_t row, std::string reason) const { return {row, name(), std::move(reason)}; }

 private:
  friend class RecordBatchView;
  detail::ColumnSlot slot_;
  bool dictionary_ = false;
  detail::IntType index_type_ = detail::IntType::i32;
  const void* indices_ = nullptr;
  detail::StringValues values_;  // the column's strings, or the dictionary's
};

// An integer column: int8..int64 'c' 's' 'i' 'l' and uint8..uint64 'C' 'S' 'I' 'L'.
class IntColumn {
 public:
  const std::string& name() const { return slot_.name; }
  const std::string& format() const { return slot_.format; }
  int64_t length() const { return slot_.length; }
  bool is_null(int64_t row) const;
  bool is_unsigned() const;
  // bad: a uint64 above INT64_MAX.
  Cell get_int64(int64_t row, int64_t* out, std::string* why = nullptr) const;
  // bad: a negative value (a count cannot be negative).
  Cell get_uint64(int64_t row, uint64_t* out, std::string* why = nullptr) const;

  RowProblem problem(int64_t row, std::string reason) const { return {row, name(), std::move(reason)}; }

 private:
  friend class RecordBatchView;
  detail::ColumnSlot slot_;
  detail::IntType type_ = detail::IntType::i64;
  const void* values_ = nullptr;
};

// A floating-point column: float32 'f', float64 'g' (pandas, Polars and DuckDB read decimal
// text such as parameter billions "3.3" as float64).
class FloatColumn {
 public:
  const std::string& name() const { return slot_.name; }
  int64_t length() const { return slot_.length; }
  bool is_null(int64_t row) const { return slot_.is_null(row); }
  Cell get(int64_t row, double* out) const;

 private:
  friend class RecordBatchView;
  detail::ColumnSlot slot_;
  bool single_ = false;  // float32
  const void* values_ = nullptr;
};

// A date column as a day number since 1970-01-01 (UTC): date32 'tdD', date64 'tdm',
// timestamp 'tss:' 'tsm:' 'tsu:' 'tsn:' with any zone or none (the value is the instant since
// the epoch; the day is its UTC day, floor division so -1 ms is 1969-12-31), or a string
// column of ISO dates "YYYY-MM-DD[THH:MM[:SS[.f]]][zone]" (the readers' date rule).
// bad: a day outside int32, or a string that is not such a date.
class DayColumn {
 public:
  const std::string& name() const { return slot_.name; }
  const std::string& format() const { return slot_.format; }
  int64_t length() const { return slot_.length; }
  bool is_null(int64_t row) const;
  Cell get(int64_t row, int32_t* day, std::string* why = nullptr) const;

  RowProblem problem(int64_t row, std::string reason) const { return {row, name(), std::move(reason)}; }

 private:
  friend class RecordBatchView;
  enum class Kind : uint8_t { date32, date64, timestamp, string };
  detail::ColumnSlot slot_;
  Kind kind_ = Kind::date32;
  int64_t units_per_day_ = 1;  // date64: ms; timestamp: its unit
  const void* values_ = nullptr;
  StringColumn strings_;       // Kind::string
};

// ---- A record batch: a struct ArrowSchema ('+s') and its ArrowArray.

class RecordBatchView {
 public:
  // Checks the batch's shape (a struct, as many children as fields, lengths that cover the
  // batch); throws ArrowBatchError otherwise. schema and array must outlive the view.
  RecordBatchView(const ArrowSchema& schema, const ArrowArray& array, BatchContext context = {});

  int64_t num_rows() const { return array_->length; }
  int64_t num_columns() const { return schema_->n_children; }
  std::string column_name(int64_t index) const;
  std::string column_format(int64_t index) const;
  const BatchContext& context() const { return context_; }

  // The first column named by one of `aliases` ("repo|repo_id|id": case-sensitive names, in
  // the order of preference), or -1 when there is none.
  int64_t find(std::string_view aliases) const;
  // Same, but a missing column is an ArrowBatchError ("no column named repo, repo_id or id").
  int64_t require(std::string_view aliases) const;

  // Typed views; a column of another type is an ArrowBatchError naming the column and its
  // format string.
  StringColumn strings(int64_t index) const;
  IntColumn integers(int64_t index) const;
  FloatColumn floats(int64_t index) const;  // float32 / float64 only
  DayColumn days(int64_t index) const;

  // A bad cell as a reject of this batch: file = source, line = first_row + row + 1, field =
  // the column. And a batch-level error of this batch.
  Reject reject(const RowProblem& problem) const;
  ArrowBatchError error(const std::string& column, const std::string& reason) const;

 private:
  detail::ColumnSlot slot(int64_t index) const;
  const ArrowSchema* schema_;
  const ArrowArray* array_;
  BatchContext context_;
  detail::Validity validity_;
};

// ---- A C Stream, batch by batch.

// Takes ownership of an ArrowArrayStream (moved: the caller's struct is marked released) and
// of the schema and arrays it hands out; everything is released exactly once, also when an
// exception leaves the reader. A failing callback is an InputError carrying get_last_error's
// text. The stream's schema must be a struct (a record batch per get_next).
class ArrowStreamReader {
 public:
  ArrowStreamReader(ArrowArrayStream* stream, std::string name);
  ~ArrowStreamReader() = default;
  ArrowStreamReader(const ArrowStreamReader&) = delete;
  ArrowStreamReader& operator=(const ArrowStreamReader&) = delete;

  const std::string& source() const { return source_; }  // "arrow:<name>"
  const ArrowSchema& schema() const { return schema_.get(); }
  // The next batch into `out` (the previous one held there is released first); false at the
  // end of the stream. `context` (optional) receives the batch's place in the stream.
  bool next(OwnedArray* out, BatchContext* context = nullptr);
  uint64_t batches_read() const { return batches_; }
  uint64_t rows_read() const { return rows_; }

 private:
  [[noreturn]] void fail(const char* call, int code);
  // Declared first so that it is released last, also when the constructor throws.
  struct StreamHolder {
    ArrowArrayStream stream{};
    ~StreamHolder() { if (stream.release) stream.release(&stream); }
  } holder_;
  OwnedSchema schema_;
  bool ended_ = false;
  std::string source_;
  uint64_t batches_ = 0, rows_ = 0;
};

// Reads every batch of `stream` (taking ownership of it) and calls fn with a view of each;
// each batch is released before the next is asked for. Returns the number of batches.
uint64_t for_each_batch(ArrowArrayStream* stream, const std::string& name,
                        const std::function<void(const RecordBatchView&)>& fn);

}  // namespace ecostat::host::arrow
