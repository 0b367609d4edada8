// The reject log: counts, the first few kept in memory, optionally every one written as CSV.
#include "ecostat/host/rejects.hpp"

#include "ecostat/errors.hpp"

namespace ecostat::host {

namespace {

// RFC 4180 quoting: a field holding a comma, a quote, CR or LF is quoted, quotes doubled.
// Invalid UTF-8 (the offending text of a rejected record) becomes U+FFFD.
void append_csv_field(std::string& out, const std::string& raw) {
  const std::string s = valid_utf8(raw);
  if (s.find_first_of(",\"\r\n") == std::string::npos) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

// The grouping key: the reason up to its first ':' (trailing spaces removed).
std::string reason_key(const std::string& reason) {
  size_t end = reason.find(':');
  if (end == std::string::npos) end = reason.size();
  while (end > 0 && (reason[end - 1] == ' ' || reason[end - 1] == '\t')) --end;
  return reason.substr(0, end);
}

}  // namespace

RejectLog::RejectLog(bool strict, const std::string& path, size_t keep_in_memory)
    : strict_(strict), keep_(keep_in_memory) {
  if (!path.empty()) {
    try {
      out_ = std::make_unique<OutputFile>(path);
    } catch (const Error& e) {
      throw InputError(path, 0, "", std::string("cannot open the rejects file for writing: ") + e.what());
    }
    out_->write("file,line,field,reason\n");
  }
}

void RejectLog::finish() {
  if (out_) out_->commit();
}

void RejectLog::add(const std::string& file, uint64_t line, const std::string& field, const std::string& reason) {
  ++total_;
  ++by_reason_[reason_key(reason)];
  if (kept_.size() < keep_) kept_.push_back(Reject{file, line, field, reason});
  if (out_) {
    std::string row;
    append_csv_field(row, file);
    row += ',' + std::to_string(line) + ',';
    append_csv_field(row, field);
    row += ',';
    append_csv_field(row, reason);
    row += '\n';
    out_->write(row);
  }
  if (strict_) throw InputError(file, line, field, reason);
}

}  // namespace ecostat::host
