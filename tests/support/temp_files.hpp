// Small file helpers the tests share: a fresh temporary directory, write a file, read one back.
#pragma once
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace ecostat::test {

// The directories temp_dir() made in this process. They are removed when the process exits,
// unless a test case failed (tests/main.cpp's listener calls keep()) or ECOSTAT_KEEP_TEST_FILES
// is set: then they stay for inspection and their paths are printed.
class TempDirs {
 public:
  static TempDirs& instance() {
    static TempDirs dirs;
    return dirs;
  }
  void add(const std::string& path) {
    std::lock_guard<std::mutex> lock(mutex_);
    paths_.push_back(path);
  }
  void keep() { keep_ = true; }
  ~TempDirs() {
    const char* env = std::getenv("ECOSTAT_KEEP_TEST_FILES");
    const bool keep = keep_ || (env && *env && std::string(env) != "0");
    for (const std::string& p : paths_) {
      if (keep) {
        std::fprintf(stderr, "test files kept: %s\n", p.c_str());
        continue;
      }
      std::error_code ec;  // a test that removed its own directory already is fine
      std::filesystem::remove_all(p, ec);
    }
  }

 private:
  TempDirs() = default;
  std::mutex mutex_;
  std::vector<std::string> paths_;
  bool keep_ = false;
};

// A new directory under /tmp named after the test file's purpose (removed at exit: TempDirs).
inline std::string temp_dir(const std::string& purpose) {
  std::string tmpl = "/tmp/ecostat-" + purpose + "-test-XXXXXX";
  const char* d = mkdtemp(tmpl.data());
  REQUIRE(d != nullptr);
  TempDirs::instance().add(d);
  return d;
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  REQUIRE(f.good());
}

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace ecostat::test
