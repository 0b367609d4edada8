// What the Arrow role readers share: the stream read batch by batch with rows counted, column
// lookup by the file readers' header names, and rejects of bad cells. Internal to the host
// readers.
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "ecostat/host/arrow_columns.hpp"
#include "ecostat/host/readers.hpp"

namespace ecostat::host::detail {

// One batch of a stream: the view, and the raw structs for layouts the views do not cover.
struct ArrowBatch {
  const arrow::RecordBatchView& view;
  const ArrowSchema& schema;  // the stream's struct schema
  const ArrowArray& array;    // the batch's struct array
  // The global 1-based row number of row r of this batch: a reject's line.
  uint64_t line(int64_t r) const { return view.context().first_row + static_cast<uint64_t>(r) + 1; }
};

// Reads every batch of stream (taking ownership of it: released exactly once, also on an
// exception), counting rows as read into stats (file "arrow:<name>"). `start` sees the
// stream's schema once before any batch (columns are found there), `fn` each batch, `end`
// (optional) the stats after the last batch. Row numbers start after `rows_before` rows.
ReadStats read_arrow_stream(ArrowArrayStream* stream, const std::string& name,
                            const std::function<void(const ArrowSchema&, ReadStats&)>& start,
                            const std::function<void(const ArrowBatch&, ReadStats&)>& fn,
                            const std::function<void(ReadStats&)>& end = {}, uint64_t rows_before = 0);

// The stream's column names, normalised as the CSV readers normalise header cells (lower case,
// blanks trimmed), so find_column (csv.hpp) matches them by the CSV's names.
std::vector<std::string> normalised_column_names(const ArrowSchema& schema);
// Column `index`'s name as the stream spells it (for rejects and errors).
std::string column_name(const ArrowSchema& schema, int64_t index);
// Whether column `index` holds strings (utf8, large_utf8, string_view or a dictionary).
bool is_string_column(const ArrowSchema& schema, int64_t index);

// A reject of row `line` naming the column, counted in stats.
void reject_cell(ReadStats& stats, RejectLog& rejects, uint64_t line, const std::string& column,
                 const std::string& reason);

}  // namespace ecostat::host::detail
