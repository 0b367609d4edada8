// Attribution tables: author handle -> parent organisation, country, region, organisation type.
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

std::string add_attribution_row(AttributionTable& table, const std::string_view (&fields)[kAttributionFields],
                                int* bad_field) {
  const std::string_view handle = trim(fields[kHandle]);
  if (handle.empty()) {
    *bad_field = kHandle;
    return "empty handle";
  }
  // Every value kept must be text (valid UTF-8, no NUL) before it reaches a dictionary.
  for (int f = 0; f < kAttributionFields; ++f)
    if (const char* bad = text_problem(fields[f])) {
      *bad_field = f;
      return bad;
    }
  if (table.handles.find(handle) != kNone) {
    *bad_field = kHandle;
    return "duplicate handle: '" + std::string(handle) + "' (the first row is kept)";
  }
  auto value = [](Dictionary& dict, std::string_view v) -> uint32_t {
    v = trim(v);
    return v.empty() ? kNone : dict.intern(v);
  };
  table.handles.intern(handle);
  table.organisation.push_back(value(table.organisations, fields[kOrganisation]));
  table.country.push_back(value(table.countries, fields[kCountry]));
  table.region.push_back(value(table.regions, fields[kRegion]));
  table.org_type.push_back(value(table.org_types, fields[kOrgType]));
  return "";
}

}  // namespace detail

ReadStats read_attribution(ByteSource& src, AttributionTable& table, RejectLog& rejects) {
  return read_attribution(src, table, rejects, ReadOptions{});
}

ReadStats read_attribution(ByteSource& src, AttributionTable& table, RejectLog& rejects, const ReadOptions& options) {
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
  int columns[detail::kAttributionFields];
  for (int f = 0; f < detail::kAttributionFields; ++f)
    columns[f] = detail::find_column(header, detail::kAttributionColumns[f]);
  if (columns[detail::kHandle] < 0)
    throw InputError(stats.file, records.first_line(), "",
                     "attribution header has no handle column (handle, hf_org, org or author)");

  while (records.next(&rec, &st)) {
    ++stats.read;
    const uint64_t at = records.first_line();
    if (std::string why = detail::csv_cells_or_problem(rec, st, options.max_line, header.size(), &cells, &scratch);
        !why.empty()) {
      reject(at, "", why);
      continue;
    }
    std::string_view fields[detail::kAttributionFields];
    for (int f = 0; f < detail::kAttributionFields; ++f) fields[f] = columns[f] >= 0 ? cells[columns[f]] : "";
    int bad_field = 0;
    const std::string why = detail::add_attribution_row(table, fields, &bad_field);
    if (!why.empty()) {
      reject(at, header[columns[bad_field]], why);
      continue;
    }
    ++stats.accepted;
  }
  stats.bytes = lines.bytes_consumed();
  return stats;
}

}  // namespace ecostat::host
