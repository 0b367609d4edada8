// MappedFile::release_before: the parsed part of a mapped input leaves the resident set (so a
// read of a 4 GB file does not hold 4 GB), and reading it again still gives the file's bytes.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "mapped_file.hpp"

using ecostat::host::detail::MappedFile;

namespace {

// Resident kB of the mapping that starts at `start`, from /proc/self/smaps; -1 if not found.
long resident_kb(const void* start) {
  std::ifstream smaps("/proc/self/smaps");
  char head[32];
  std::snprintf(head, sizeof head, "%lx-", reinterpret_cast<unsigned long>(start));
  std::string line;
  bool in_block = false;
  while (std::getline(smaps, line)) {
    if (line.rfind(head, 0) == 0) {
      in_block = true;
    } else if (in_block && line.rfind("Rss:", 0) == 0) {
      return std::strtol(line.c_str() + 4, nullptr, 10);
    }
  }
  return -1;
}

}  // namespace

TEST_CASE("mapped file: released text leaves the resident set and reads back the same", "[parallel][downloads]") {
  char path[] = "/tmp/ecostat-mapped-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::string text;
  for (int i = 0; text.size() < (size_t(8) << 20); ++i) text += "org/model-" + std::to_string(i) + ",2024-01-01,7\n";
  std::ofstream(path, std::ios::binary) << text;

  MappedFile file;
  REQUIRE(file.open_plain_text(path, 0));
  REQUIRE(file.size() == text.size());
  unsigned long sum = 0;
  for (size_t i = 0; i < file.size(); i += 4096) sum += static_cast<unsigned char>(file.data()[i]);  // touch every page
  CHECK(sum > 0);
  const long before = resident_kb(file.data());
  REQUIRE(before >= 0);
  CHECK(before >= 7 * 1024);  // about the whole 8 MiB

  file.release_before(file.size() / 2);
  const long half = resident_kb(file.data());
  CHECK(half <= before / 2 + 8);
  CHECK(half >= before / 2 - 16);
  file.release_before(file.size() / 4);  // going back releases nothing more
  CHECK(resident_kb(file.data()) == half);
  file.release_before(file.size());
  CHECK(resident_kb(file.data()) <= 4);  // the partial last page may stay

  CHECK(std::string(file.data(), file.size()) == text);  // faulted back in from the file
  std::remove(path);
}
