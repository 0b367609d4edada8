// The reject log: counts, the first few kept in memory, optionally every one written as CSV.
#include "ecostat/host/rejects.hpp"

#include <cerrno>
#include <cstring>

#include "ecostat/errors.hpp"

namespace ecostat::host {

namespace {

// RFC 4180 quoting: a field holding a comma, a quote, CR or LF is quoted, quotes doubled.
void write_csv_field(std::ostream& os, const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) {
    os << s;
    return;
  }
  os << '"';
  for (char c : s) {
    if (c == '"') os << '"';
    os << c;
  }
  os << '"';
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
    out_ = std::make_unique<std::ofstream>(path, std::ios::out | std::ios::trunc | std::ios::binary);
    if (!*out_) throw InputError(path, 0, "", std::string("cannot open the rejects file for writing: ") + std::strerror(errno));
    *out_ << "file,line,field,reason\n";
  }
}

void RejectLog::add(const std::string& file, uint64_t line, const std::string& field, const std::string& reason) {
  ++total_;
  ++by_reason_[reason_key(reason)];
  if (kept_.size() < keep_) kept_.push_back(Reject{file, line, field, reason});
  if (out_) {
    write_csv_field(*out_, file);
    *out_ << ',' << line << ',';
    write_csv_field(*out_, field);
    *out_ << ',';
    write_csv_field(*out_, reason);
    *out_ << '\n';
    if (strict_) out_->flush();
  }
  if (strict_) throw InputError(file, line, field, reason);
}

}  // namespace ecostat::host
