// Output files that appear complete or not at all. A regular file is written to a temporary
// file in the same directory and renamed over the target on commit(), so a failed run never
// leaves a truncated file nor destroys the previous one. A target that is not a regular file
// (/dev/stdout, /dev/full, a pipe) and "-" (standard output) are written directly. Every write
// and the final flush are checked: a failure throws Error naming the path and the OS reason.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ecostat {

class OutputFile {
 public:
  explicit OutputFile(const std::string& path);  // throws Error when it cannot be created
  ~OutputFile();                                  // not committed: the temporary is removed
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(std::string_view bytes);
  void commit();  // flush, close, rename into place
  const std::string& path() const { return path_; }

 private:
  void flush_buffer();
  void write_through(std::string_view bytes);
  [[noreturn]] void fail(const std::string& what, int err);
  std::string path_, target_, temp_;  // temp_ empty: written directly
  int fd_ = -1;
  bool owned_ = true, committed_ = false;
  std::string buffer_;
  uint64_t written_ = 0, writeback_from_ = 0;  // bytes written; where writeback was last started
};

// The whole file at once, atomically (as OutputFile).
void write_file_atomically(const std::string& path, std::string_view content);

// Checks, before any work, that `path` can be written: its directory exists and is writable
// (a non-regular target such as /dev/null is fine; "-" always is). Throws Error.
void check_output_file(const std::string& path);
// Creates `dir` and its parents when missing; throws Error unless it is a writable directory.
void ensure_output_directory(const std::string& dir);
// True when both paths exist and name the same file (same device and inode).
bool same_file(const std::string& a, const std::string& b);

// A directory of output files written together: files are written into a fresh hidden
// directory inside `dir` and moved into `dir` by commit(); without commit the hidden
// directory and its files are removed and the previous files in `dir` stay as they were.
class StagedDirectory {
 public:
  explicit StagedDirectory(const std::string& dir);
  ~StagedDirectory();
  StagedDirectory(const StagedDirectory&) = delete;
  StagedDirectory& operator=(const StagedDirectory&) = delete;
  const std::string& staging() const { return staging_; }  // write the files here
  void commit();

 private:
  std::vector<std::string> staged_names() const;
  std::string dir_, staging_;
  bool committed_ = false;
};

// `s` with every invalid UTF-8 sequence replaced by U+FFFD, so that text taken from
// malformed input is safe in every output (JSON, CSV, the rejects file).
std::string valid_utf8(std::string_view s);

}  // namespace ecostat
