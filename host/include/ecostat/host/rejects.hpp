// Rejected records: every record is either counted or listed here with file, line, field and
// reason, and the counts reconcile (accepted + rejected = read).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ecostat/detail/output_file.hpp"

namespace ecostat::host {

struct Reject {
  std::string file;
  uint64_t line = 0;
  std::string field;
  std::string reason;
};

class RejectLog {
 public:
  // strict: the first rejection throws InputError. path: every rejection is also written there
  // as CSV (file,line,field,reason); empty = not written. The file is written to a temporary
  // next to `path` and appears there only on finish(): a run that fails keeps the previous one.
  explicit RejectLog(bool strict = false, const std::string& path = "", size_t keep_in_memory = 1000);
  void add(const std::string& file, uint64_t line, const std::string& field, const std::string& reason);
  void finish();  // the run succeeded: the rejects file is moved into place (throws Error on a write error)
  uint64_t total() const { return total_; }
  // Counts per reason (the reason text up to its first ':' so that counts group well).
  const std::map<std::string, uint64_t>& by_reason() const { return by_reason_; }
  const std::vector<Reject>& first() const { return kept_; }  // the first keep_in_memory ones
  bool strict() const { return strict_; }

 private:
  bool strict_;
  size_t keep_;
  uint64_t total_ = 0;
  std::map<std::string, uint64_t> by_reason_;
  std::vector<Reject> kept_;
  std::unique_ptr<OutputFile> out_;
};

// Read/accept/reject counts of one input file.
struct ReadStats {
  std::string file;
  uint64_t read = 0;      // records (data lines) read, blank lines and the header excluded
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  uint64_t bytes = 0;
};

}  // namespace ecostat::host
