// Attribution tables: author handle -> parent organisation, country, region, organisation type.
#include <cstring>
#include <string>
#include <vector>

#include "csv.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/host/readers.hpp"
#include "text.hpp"

namespace ecostat::host {

ReadStats read_attribution(ByteSource& src, AttributionTable& table, RejectLog& rejects) {
  return read_attribution(src, table, rejects, ReadOptions{});
}

ReadStats read_attribution(ByteSource& src, AttributionTable& table, RejectLog& rejects, const ReadOptions& options) {
  using detail::trim;
  ReadStats stats;
  stats.file = src.name();
  LineReader lines(src, options.max_line);
  detail::CsvRecordReader records(lines, options.max_record);
  std::string_view rec;
  detail::CsvRecordReader::Status st;
  std::vector<std::string_view> cells;
  std::string scratch;
  const char* err = nullptr;
  auto reject = [&](uint64_t line, const std::string& field, const std::string& reason) {
    ++stats.rejected;
    rejects.add(stats.file, line, field, reason);
  };

  std::vector<std::string> header;
  if (!detail::read_csv_header(records, &header)) {
    stats.bytes = lines.bytes_consumed();
    return stats;  // empty input
  }
  const int c_handle = detail::find_column(header, {"handle", "hf_org", "org", "author"});
  const int c_org = detail::find_column(
      header, {"organisation", "organization", "parent", "parent_organisation", "parent_organization", "parent_org"});
  const int c_country = detail::find_column(header, {"country"});
  const int c_region = detail::find_column(header, {"region"});
  const int c_type = detail::find_column(header, {"org_type", "type", "organisation_type", "organization_type"});
  if (c_handle < 0)
    throw InputError(stats.file, records.first_line(), "",
                     "attribution header has no handle column (handle, hf_org, org or author)");

  auto value = [&](Dictionary& dict, int col) -> uint32_t {
    if (col < 0) return kNone;
    const std::string_view v = trim(cells[col]);
    return v.empty() ? kNone : dict.intern(v);
  };

  while (records.next(&rec, &st)) {
    ++stats.read;
    const uint64_t at = records.first_line();
    if (st == detail::CsvRecordReader::Status::too_long) {
      reject(at, "", "line too long: over " + std::to_string(options.max_line) + " bytes");
      continue;
    }
    if (st == detail::CsvRecordReader::Status::unterminated) {
      reject(at, "", "malformed CSV: unterminated quoted field at end of input");
      continue;
    }
    if (!detail::split_csv(rec, &cells, &scratch, &err)) {
      reject(at, "", std::string("malformed CSV: ") + err);
      continue;
    }
    if (cells.size() != header.size()) {
      reject(at, "", "wrong column count: expected " + std::to_string(header.size()) + ", got " +
                         std::to_string(cells.size()));
      continue;
    }
    const std::string_view handle = trim(cells[c_handle]);
    if (handle.empty()) {
      reject(at, header[c_handle], "empty handle");
      continue;
    }
    // Every value kept must be text (valid UTF-8, no NUL) before it reaches a dictionary.
    int bad_col = -1;
    const char* bad = nullptr;
    for (int col : {c_handle, c_org, c_country, c_region, c_type})
      if (col >= 0 && (bad = detail::text_problem(cells[col])) != nullptr) {
        bad_col = col;
        break;
      }
    if (bad) {
      reject(at, header[bad_col], bad);
      continue;
    }
    if (table.handles.find(handle) != kNone) {
      reject(at, header[c_handle], "duplicate handle: '" + std::string(handle) + "' (the first row is kept)");
      continue;
    }
    table.handles.intern(handle);
    table.organisation.push_back(value(table.organisations, c_org));
    table.country.push_back(value(table.countries, c_country));
    table.region.push_back(value(table.regions, c_region));
    table.org_type.push_back(value(table.org_types, c_type));
    ++stats.accepted;
  }
  stats.bytes = lines.bytes_consumed();
  return stats;
}

}  // namespace ecostat::host
