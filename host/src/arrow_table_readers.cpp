// Arrow streams as attribution and parameters tables (the rows the CSV readers take, through
// the same row rules: table_rows.hpp), and what every Arrow role reader shares (arrow_input.hpp).
#include <limits>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>

#include "arrow_input.hpp"
#include "csv.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/host/arrow_readers.hpp"
#include "table_rows.hpp"
#include "text.hpp"

namespace ecostat::host {

using arrow::Cell;
using arrow::kNullRequired;
using arrow::StringColumn;

// ---- Shared by the Arrow role readers

namespace detail {

ReadStats read_arrow_stream(ArrowArrayStream* stream, const std::string& name,
                            const std::function<void(const ArrowSchema&, ReadStats&)>& start,
                            const std::function<void(const ArrowBatch&, ReadStats&)>& fn,
                            const std::function<void(ReadStats&)>& end, uint64_t rows_before) {
  arrow::ArrowStreamReader reader(stream, name);  // owns the stream from here on
  ReadStats stats;
  stats.file = reader.source();
  start(reader.schema(), stats);
  // Two batches alternate: the previous one stays alive while the next is read, so a dictionary
  // the two share keeps its address and a reader may carry over what it derived from it
  // (StringColumn::dictionary_key).
  arrow::OwnedArray batches[2];
  arrow::BatchContext context;
  for (int cur = 0; reader.next(&batches[cur], &context); cur ^= 1) {
    context.first_row += rows_before;
    const arrow::RecordBatchView view(reader.schema(), batches[cur].get(), context);
    stats.read += static_cast<uint64_t>(view.num_rows());
    fn(ArrowBatch{view, reader.schema(), batches[cur].get()}, stats);
  }
  if (end) end(stats);
  return stats;
}

std::string column_name(const ArrowSchema& schema, int64_t index) {
  const ArrowSchema* c = schema.children ? schema.children[index] : nullptr;
  return c && c->name ? c->name : "";
}

std::vector<std::string> normalised_column_names(const ArrowSchema& schema) {
  std::vector<std::string> names;
  for (int64_t i = 0; i < schema.n_children; ++i) names.push_back(normalise_header(column_name(schema, i)));
  return names;
}

bool is_string_column(const ArrowSchema& schema, int64_t index) {
  const ArrowSchema* c = schema.children ? schema.children[index] : nullptr;
  if (!c) return false;
  const ArrowSchema* values = c->dictionary ? c->dictionary : c;
  const std::string_view f = values->format ? values->format : "";
  return f == "u" || f == "U" || f == "vu";
}

void reject_cell(ReadStats& stats, RejectLog& rejects, uint64_t line, const std::string& column,
                 const std::string& reason) {
  ++stats.rejected;
  rejects.add(stats.file, line, column, reason);
}

}  // namespace detail

namespace {

// A required column found by the CSV reader's names, else a batch error naming the column.
int find_required(const ArrowSchema& schema, const ReadStats& stats, std::initializer_list<const char*> names,
                  const std::string& what) {
  const int c = detail::find_column(detail::normalised_column_names(schema), names);
  if (c >= 0) return c;
  std::string list;
  for (const char* n : names) list += (list.empty() ? "" : ", ") + std::string(n);
  throw arrow::ArrowBatchError(stats.file, 0, *names.begin(), "no " + what + " column (" + list + ")");
}

// The row's string, "" for a null (an optional field left empty); false when the cell is bad
// (rejected).
bool optional_string(const StringColumn& c, int64_t r, std::string_view* out, std::string* why) {
  const Cell cell = c.get(r, out, why);
  if (cell == Cell::null) *out = std::string_view("", 0);  // never a null data pointer (memchr)
  return cell != Cell::bad;
}

}  // namespace

ReadStats read_attribution_arrow(ArrowArrayStream* stream, const std::string& name, AttributionTable& table,
                                 RejectLog& rejects, const ReadOptions&) {
  int columns[detail::kAttributionFields];
  std::string names[detail::kAttributionFields];
  auto start = [&](const ArrowSchema& schema, ReadStats& stats) {
    columns[detail::kHandle] =
        find_required(schema, stats, detail::kAttributionColumns[detail::kHandle], "handle");
    const auto header = detail::normalised_column_names(schema);
    for (int f = 0; f < detail::kAttributionFields; ++f) {
      columns[f] = detail::find_column(header, detail::kAttributionColumns[f]);
      if (columns[f] >= 0) names[f] = detail::column_name(schema, columns[f]);
    }
  };
  auto batch = [&](const detail::ArrowBatch& b, ReadStats& stats) {
    std::vector<std::optional<StringColumn>> cols(detail::kAttributionFields);
    for (int f = 0; f < detail::kAttributionFields; ++f)
      if (columns[f] >= 0) cols[f] = b.view.strings(columns[f]);
    std::string why;
    for (int64_t r = 0; r < b.view.num_rows(); ++r) {
      std::string_view fields[detail::kAttributionFields];
      int bad_field = -1;
      for (int f = 0; f < detail::kAttributionFields && bad_field < 0; ++f)
        if (cols[f] && !optional_string(*cols[f], r, &fields[f], &why)) bad_field = f;
      if (bad_field < 0 && cols[detail::kHandle]->is_null(r)) {
        bad_field = detail::kHandle;
        why = kNullRequired;
      }
      if (bad_field < 0) {
        why = detail::add_attribution_row(table, fields, &bad_field);
        if (why.empty()) {
          ++stats.accepted;
          continue;
        }
      }
      detail::reject_cell(stats, rejects, b.line(r), names[bad_field], why);
    }
  };
  return detail::read_arrow_stream(stream, name, start, batch);
}

namespace {

// A parameter count column: whole counts or billions, as integers or as the CSV's text.
class CountColumn {
 public:
  CountColumn(const detail::ArrowBatch& b, int index, bool billions) : billions_(billions) {
    const char* format = b.schema.children[index]->format;
    if (detail::is_string_column(b.schema, index)) {
      text_ = b.view.strings(index);
    } else if (format && (std::string_view(format) == "g" || std::string_view(format) == "f")) {
      floats_ = b.view.floats(index);
    } else {
      ints_ = b.view.integers(index);  // a batch error naming the column for any other type
    }
  }
  bool is_null(int64_t r) const {
    return text_ ? text_->is_null(r) : floats_ ? floats_->is_null(r) : ints_->is_null(r);
  }
  // Null, or blank text: an optional count left out.
  bool is_blank(int64_t r) const {
    std::string_view s;
    return is_null(r) || (text_ && text_->get(r, &s) == Cell::value && detail::trim(s).empty());
  }
  // The count, or the reject reason in the CSV reader's wording ("negative count: '-5'").
  std::string get(int64_t r, uint64_t* out, bool zero_ok) const {
    std::string why;
    if (text_) {
      std::string_view s;
      if (text_->get(r, &s, &why) == Cell::bad) return why;
      why = billions_ ? detail::parse_billions(s, out) : detail::parse_whole(s, out);
      if (why.empty() && !zero_ok) why = detail::parameter_total_problem(*out);
      return why.empty() ? why : why + ": '" + detail::printable(detail::trim(s)) + "'";
    }
    if (floats_) {
      // The shortest decimal that reads back as the same double ("3.3" for 3.3), then the text
      // rules: exact for every value a CSV of decimals turned into floats can hold.
      double d = 0;
      floats_->get(r, &d);
      if (!std::isfinite(d)) return "bad count: not a number: '" + std::to_string(d) + "'";
      char buf[512];
      const auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
      const std::string_view text(buf, res.ec == std::errc() ? size_t(res.ptr - buf) : 0);
      why = billions_ ? detail::parse_billions(text, out) : detail::parse_whole(text, out);
      if (why.empty() && !zero_ok) why = detail::parameter_total_problem(*out);
      return why.empty() ? why : why + ": '" + std::string(text) + "'";
    }
    int64_t signed_value = 0;
    uint64_t v = 0;
    if (ints_->get_uint64(r, &v) == Cell::bad) {
      ints_->get_int64(r, &signed_value);
      return "negative count: '" + std::to_string(signed_value) + "'";
    }
    if (billions_ && v > std::numeric_limits<uint64_t>::max() / 1000000000ull)
      return "count too large: '" + std::to_string(v) + "'";
    *out = billions_ ? v * 1000000000ull : v;
    if (!zero_ok) why = detail::parameter_total_problem(*out);
    return why.empty() ? why : why + ": '" + std::to_string(v) + "'";
  }

 private:
  bool billions_;
  std::optional<StringColumn> text_;
  std::optional<arrow::IntColumn> ints_;
  std::optional<arrow::FloatColumn> floats_;
};

}  // namespace

ReadStats read_parameters_arrow(ArrowArrayStream* stream, const std::string& name, ParameterTable& table,
                                RejectLog& rejects, const ReadOptions&) {
  int c_id = -1, c_count = -1, c_act = -1;
  bool billions = false, act_billions = false;
  std::string f_id, f_count, f_act;
  auto start = [&](const ArrowSchema& schema, ReadStats& stats) {
    c_id = find_required(schema, stats, detail::kParameterIdColumns, "id");
    const auto header = detail::normalised_column_names(schema);
    const int c_total_b = detail::find_column(header, detail::kParameterBillionsColumns);
    const int c_total = detail::find_column(header, detail::kParameterWholeColumns);
    if (c_total_b < 0 && c_total < 0)
      throw arrow::ArrowBatchError(stats.file, 0, "total_params_b",
                                   "no count column (total_params_b, params_b, parameters_b, total_b, parameters, "
                                   "total_params, parameter_count, safetensors_total or total)");
    billions = c_total_b >= 0;
    c_count = billions ? c_total_b : c_total;
    const int c_active_b = detail::find_column(header, detail::kActiveBillionsColumns);
    act_billions = c_active_b >= 0;
    c_act = act_billions ? c_active_b : detail::find_column(header, detail::kActiveWholeColumns);
    f_id = detail::column_name(schema, c_id);
    f_count = detail::column_name(schema, c_count);
    if (c_act >= 0) f_act = detail::column_name(schema, c_act);
  };
  auto batch = [&](const detail::ArrowBatch& b, ReadStats& stats) {
    const StringColumn ids = b.view.strings(c_id);
    const CountColumn counts(b, c_count, billions);
    std::optional<CountColumn> active;
    if (c_act >= 0) active.emplace(b, c_act, act_billions);
    for (int64_t r = 0; r < b.view.num_rows(); ++r) {
      auto reject = [&](const std::string& column, const std::string& why) {
        detail::reject_cell(stats, rejects, b.line(r), column, why);
      };
      std::string_view id;
      std::string why;
      const Cell cell = ids.get(r, &id, &why);
      if (cell != Cell::value) {
        reject(f_id, cell == Cell::null ? kNullRequired : why);
        continue;
      }
      if (why = detail::parameter_id_problem(id); !why.empty()) {
        reject(f_id, why);
        continue;
      }
      uint64_t total = 0;
      why = counts.is_null(r) ? kNullRequired : counts.get(r, &total, false);
      if (!why.empty()) {
        reject(f_count, why);
        continue;
      }
      uint64_t act = 0;
      if (active && !active->is_blank(r)) {
        why = active->get(r, &act, true);
        if (!why.empty()) {
          reject(f_act, why);
          continue;
        }
      }
      if (!detail::add_parameter_row(table, id, total, act, &why)) {
        reject(f_id, why);
        continue;
      }
      ++stats.accepted;
    }
  };
  return detail::read_arrow_stream(stream, name, start, batch);
}

}  // namespace ecostat::host
