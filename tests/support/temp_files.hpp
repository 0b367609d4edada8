// Small file helpers the tests share: a fresh temporary directory, write a file, read one back.
#pragma once
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace ecostat::test {

// A new directory under /tmp named after the test file's purpose (left for inspection).
inline std::string temp_dir(const std::string& purpose) {
  std::string tmpl = "/tmp/ecostat-" + purpose + "-test-XXXXXX";
  const char* d = mkdtemp(tmpl.data());
  REQUIRE(d != nullptr);
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
