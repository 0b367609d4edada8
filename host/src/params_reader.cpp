// Parameters tables: model id -> total (and active) parameter count.
#include <cstring>
#include <string>
#include <vector>

#include "csv.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/host/readers.hpp"
#include "table_rows.hpp"
#include "text.hpp"

namespace ecostat::host {

namespace detail {

// A decimal count of billions ("671", "3.3", "0.125") as an exact whole count: at most 9
// decimals (1e-9 billion = 1 parameter). Returns an empty string on success, else the reason.
std::string parse_billions(std::string_view s, uint64_t* out) {
  s = detail::trim(s);
  if (s.empty()) return "missing count";
  if (s.front() == '-') return "negative count";
  const size_t dot = s.find('.');
  const std::string_view ip = s.substr(0, dot);
  const std::string_view fp = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (ip.empty() && fp.empty()) return "not a number";
  for (char c : ip)
    if (c < '0' || c > '9') return "not a number";
  for (char c : fp)
    if (c < '0' || c > '9') return "not a number";
  size_t frac_digits = fp.size();
  while (frac_digits > 9 && fp[frac_digits - 1] == '0') --frac_digits;
  if (frac_digits > 9) return "more than 9 decimals (below one parameter)";
  uint64_t whole = 0;
  for (char c : ip) {
    if (whole > (UINT64_MAX - 9) / 10) return "count too large";
    whole = whole * 10 + uint64_t(c - '0');
  }
  uint64_t frac = 0;
  for (size_t i = 0; i < 9; ++i) frac = frac * 10 + (i < frac_digits ? uint64_t(fp[i] - '0') : 0);
  if (whole > (UINT64_MAX - frac) / 1000000000ull) return "count too large";
  *out = whole * 1000000000ull + frac;
  return "";
}

std::string parse_whole(std::string_view s, uint64_t* out) {
  const detail::NumStatus st = detail::parse_count(s, out);
  if (st == detail::NumStatus::ok) return "";
  if (st == detail::NumStatus::empty) return "missing count";
  return std::string(detail::num_status_text(st)) + " count";
}

std::string parameter_id_problem(std::string_view id) {
  if (trim(id).empty()) return "empty id";
  if (const char* bad = text_problem(id)) return bad;  // never let it reach the dictionaries
  return "";
}

std::string parameter_total_problem(uint64_t total) {
  return total == 0 ? "zero count (an unknown count is an absent row)" : "";
}

bool add_parameter_row(ParameterTable& table, std::string_view id, uint64_t total, uint64_t active,
                       std::string* why) {
  id = trim(id);
  if (table.ids.find(id) != kNone) {
    *why = "duplicate id: '" + std::string(id) + "' (the first row is kept)";
    return false;
  }
  table.ids.intern(id);
  table.total.push_back(total);
  table.active.push_back(active);
  return true;
}

}  // namespace detail

ReadStats read_parameters(ByteSource& src, ParameterTable& table, RejectLog& rejects) {
  return read_parameters(src, table, rejects, ReadOptions{});
}

ReadStats read_parameters(ByteSource& src, ParameterTable& table, RejectLog& rejects, const ReadOptions& options) {
  using detail::trim;
  ReadStats stats;
  stats.file = src.name();
  LineReader lines(src, options.max_line);
  detail::CsvRecordReader records(lines, options.max_record);
  std::string_view rec;
  detail::CsvRecordReader::Status st;
  std::vector<std::string_view> cells;
  std::string scratch;
  auto reject = [&](uint64_t line, const std::string& field, const std::string& reason) {
    ++stats.rejected;
    rejects.add(stats.file, line, field, reason);
  };

  std::vector<std::string> header;
  if (!detail::read_csv_header(records, &header)) {
    stats.bytes = lines.bytes_consumed();
    return stats;  // empty input
  }
  const int c_id = detail::find_column(header, detail::kParameterIdColumns);
  const int c_total_b = detail::find_column(header, detail::kParameterBillionsColumns);
  const int c_total = detail::find_column(header, detail::kParameterWholeColumns);
  const int c_active_b = detail::find_column(header, detail::kActiveBillionsColumns);
  const int c_active = detail::find_column(header, detail::kActiveWholeColumns);
  if (c_id < 0)
    throw InputError(stats.file, records.first_line(), "",
                     "parameters header has no id column (model_id, modelId, id, repo or model)");
  if (c_total_b < 0 && c_total < 0)
    throw InputError(stats.file, records.first_line(), "",
                     "parameters header has no count column (total_params_b, params_b, parameters_b, total_b, "
                     "parameters, total_params, parameter_count, safetensors_total or total)");
  const bool billions = c_total_b >= 0;
  const int c_count = billions ? c_total_b : c_total;
  const int c_act = c_active_b >= 0 ? c_active_b : c_active;
  const bool act_billions = c_active_b >= 0;

  while (records.next(&rec, &st)) {
    ++stats.read;
    const uint64_t at = records.first_line();
    if (std::string why = detail::csv_cells_or_problem(rec, st, options.max_line, header.size(), &cells, &scratch);
        !why.empty()) {
      reject(at, "", why);
      continue;
    }
    const std::string_view id = trim(cells[c_id]);
    if (std::string why = detail::parameter_id_problem(cells[c_id]); !why.empty()) {
      reject(at, header[c_id], why);
      continue;
    }
    uint64_t total = 0;
    std::string why = billions ? detail::parse_billions(cells[c_count], &total) : detail::parse_whole(cells[c_count], &total);
    if (why.empty()) why = detail::parameter_total_problem(total);
    if (!why.empty()) {
      reject(at, header[c_count], why + ": '" + detail::printable(trim(cells[c_count])) + "'");
      continue;
    }
    uint64_t active = 0;
    if (c_act >= 0 && !trim(cells[c_act]).empty()) {
      why = act_billions ? detail::parse_billions(cells[c_act], &active) : detail::parse_whole(cells[c_act], &active);
      if (!why.empty()) {
        reject(at, header[c_act], why + ": '" + detail::printable(trim(cells[c_act])) + "'");
        continue;
      }
    }
    if (!detail::add_parameter_row(table, id, total, active, &why)) {
      reject(at, header[c_id], why);
      continue;
    }
    ++stats.accepted;
  }
  stats.bytes = lines.bytes_consumed();
  return stats;
}

}  // namespace ecostat::host
