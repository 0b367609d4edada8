// Atomic, checked output files (ecostat/detail/output_file.hpp).
#include "ecostat/detail/output_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "ecostat/errors.hpp"

namespace ecostat {

namespace {

constexpr size_t kFlushAt = 1 << 20;
// Pieces from this size on are written straight from the caller's memory (the results
// document's share rows come in slices of about 400 KB): copying them first would only add a
// pass over the bytes.
constexpr size_t kWriteDirectlyAt = 1 << 17;
// A file replaced on commit is made durable (fsync) before the rename. Writeback of what has
// been written is started every this many bytes, so that the disk writes while the rest is
// produced and the final fsync waits only for the last of it (a 500 MB results document: the
// fsync took 0.25-0.28 s after the write, 3 ms with this; docs/benchmarks.md).
constexpr uint64_t kStartWritebackEvery = uint64_t{8} << 20;

std::string os_reason(int err) { return std::strerror(err); }

std::string parent_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

mode_t current_umask() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return mask;
}

// The mode a newly created file gets (0666 less the umask); an existing file keeps its own.
mode_t mode_for(const std::string& target) {
  struct stat st;
  if (::stat(target.c_str(), &st) == 0) return st.st_mode & 07777;
  return 0666 & ~current_umask();
}

// A symlink is followed so that the file it names is replaced, not the link.
std::string resolve_link(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return path;
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return path;  // dangling: replace the link itself
  return buf;
}

void write_all(int fd, const char* p, size_t n, int* err) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      return;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

OutputFile::OutputFile(const std::string& path) : path_(path) {
  if (path == "-") {
    std::fflush(stdout);  // text already buffered by stdio goes first
    fd_ = STDOUT_FILENO;
    owned_ = false;
    return;
  }
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode)) throw Error("cannot write " + path + ": " + os_reason(EISDIR));
    fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);  // a device or a pipe: written directly
    if (fd_ < 0) throw Error("cannot write " + path + ": " + os_reason(errno));
    return;
  }
  target_ = resolve_link(path);
  temp_ = parent_of(target_) + "/." + base_of(target_) + ".tmp-XXXXXX";
  fd_ = ::mkstemp(temp_.data());
  if (fd_ < 0) {
    const int err = errno;
    temp_.clear();
    throw Error("cannot write " + path + ": " + os_reason(err));
  }
  ::fchmod(fd_, mode_for(target_));
}

OutputFile::~OutputFile() {
  if (owned_ && fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
}

void OutputFile::fail(const std::string& what, int err) {
  if (owned_ && fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_.empty()) ::unlink(temp_.c_str());
  temp_.clear();
  throw Error(what + " " + path_ + ": " + os_reason(err));
}

void OutputFile::write(std::string_view bytes) {
  if (fd_ < 0) throw Error("cannot write " + path_ + ": the file is closed");
  if (bytes.size() >= kWriteDirectlyAt) {  // a big piece goes as it is, without a copy
    flush_buffer();
    write_through(bytes);
    return;
  }
  buffer_.append(bytes.data(), bytes.size());
  if (buffer_.size() >= kFlushAt) flush_buffer();
}

void OutputFile::flush_buffer() {
  write_through(buffer_);
  buffer_.clear();
}

void OutputFile::write_through(std::string_view bytes) {
  int err = 0;
  write_all(fd_, bytes.data(), bytes.size(), &err);
  if (err) fail("cannot write", err);
  written_ += bytes.size();
#ifdef SYNC_FILE_RANGE_WRITE
  // Only a file that commit() will fsync; a failure here is not one (fsync reports any).
  if (!temp_.empty() && written_ - writeback_from_ >= kStartWritebackEvery) {
    ::sync_file_range(fd_, off64_t(writeback_from_), off64_t(written_ - writeback_from_), SYNC_FILE_RANGE_WRITE);
    writeback_from_ = written_;
  }
#endif
}

void OutputFile::commit() {
  if (committed_) return;
  if (fd_ < 0) throw Error("cannot write " + path_ + ": the file is closed");
  flush_buffer();
  if (temp_.empty()) {  // written directly
    if (owned_ && ::close(fd_) != 0) {
      fd_ = -1;
      fail("cannot write", errno);
    }
    fd_ = -1;
    committed_ = true;
    return;
  }
  if (::fsync(fd_) != 0) fail("cannot write", errno);
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) fail("cannot write", errno);
  if (::rename(temp_.c_str(), target_.c_str()) != 0) fail("cannot replace", errno);
  committed_ = true;
}

void write_file_atomically(const std::string& path, std::string_view content) {
  OutputFile f(path);
  f.write(content);
  f.commit();
}

void check_output_file(const std::string& path) {
  if (path == "-") return;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw Error("cannot write " + path + ": " + os_reason(EISDIR));
    if (!S_ISREG(st.st_mode)) {
      if (::access(path.c_str(), W_OK) != 0) throw Error("cannot write " + path + ": " + os_reason(errno));
      return;
    }
  }
  const std::string dir = parent_of(resolve_link(path));
  if (::stat(dir.c_str(), &st) != 0) throw Error("cannot write " + path + ": " + os_reason(errno));
  if (!S_ISDIR(st.st_mode)) throw Error("cannot write " + path + ": " + os_reason(ENOTDIR));
  if (::access(dir.c_str(), W_OK) != 0) throw Error("cannot write " + path + ": " + os_reason(errno));
}

void ensure_output_directory(const std::string& dir) {
  for (size_t pos = dir.find('/', 1);; pos = dir.find('/', pos + 1)) {
    const std::string part = dir.substr(0, pos);
    if (!part.empty() && ::mkdir(part.c_str(), 0777) != 0 && errno != EEXIST)
      throw Error("cannot create " + part + ": " + os_reason(errno));
    if (pos == std::string::npos) break;
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) throw Error("cannot create " + dir + ": " + os_reason(errno));
  if (!S_ISDIR(st.st_mode)) throw Error("cannot write into " + dir + ": " + os_reason(ENOTDIR));
  if (::access(dir.c_str(), W_OK) != 0) throw Error("cannot write into " + dir + ": " + os_reason(errno));
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  if (a == "-" || b == "-" || ::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

StagedDirectory::StagedDirectory(const std::string& dir) : dir_(dir) {
  ensure_output_directory(dir);
  std::string name = dir + "/.ecostat-tmp-XXXXXX";
  if (::mkdtemp(name.data()) == nullptr) throw Error("cannot write into " + dir + ": " + os_reason(errno));
  staging_ = name;
}

std::vector<std::string> StagedDirectory::staged_names() const {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(staging_.c_str())) {
    while (const dirent* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
    ::closedir(d);
  }
  return names;
}

void StagedDirectory::commit() {
  for (const auto& name : staged_names()) {
    const std::string from = staging_ + "/" + name, to = dir_ + "/" + name;
    if (::rename(from.c_str(), to.c_str()) != 0) throw Error("cannot replace " + to + ": " + os_reason(errno));
  }
  ::rmdir(staging_.c_str());
  committed_ = true;
}

StagedDirectory::~StagedDirectory() {
  if (committed_) return;
  for (const auto& name : staged_names()) ::unlink((staging_ + "/" + name).c_str());
  ::rmdir(staging_.c_str());
}

// Well-formed UTF-8 per Unicode 15, table 3-7: no overlong forms, no surrogates, at most U+10FFFF.
std::string valid_utf8(std::string_view s) {
  static const char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (c < 0x80) len = 1;
    else if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) len = 3;
    else if (c == 0xED) len = 3, hi = 0x9F;
    else if (c == 0xF0) len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) len = 4, hi = 0x8F;
    size_t ok = len ? 1 : 0;  // bytes of a well-formed prefix
    for (; ok && ok < len && i + ok < n; ++ok) {
      const unsigned char b = p[i + ok];
      if (ok == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) break;
    }
    if (len && ok == len) {
      out.append(s.data() + i, len);
      i += len;
    } else {
      out += kReplacement;  // one U+FFFD per maximal ill-formed subpart
      i += ok ? ok : 1;
    }
  }
  return out;
}

}  // namespace ecostat
