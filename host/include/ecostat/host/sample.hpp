// The embedded sample data set (data/sample/, compiled into the library): what `ecostat run`
// reads when given no inputs. See data/README.md for its provenance.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "ecostat/host/source.hpp"

namespace ecostat::host {

struct EmbeddedFile {
  const char* name;  // base name, e.g. "downloads.csv"
  const char* data;  // the file's bytes (followed by a NUL not counted in size)
  size_t size;
};

// nullptr when no embedded file has that name.
const EmbeddedFile* find_sample_file(const std::string& name);
std::vector<std::string> sample_file_names();  // sorted

// The sample's files by role, in reading order. Downloads are per-period counts
// (DownloadFormat::per_period).
struct SampleInputs {
  std::vector<std::string> repositories;  // read_repositories, in this order
  std::vector<std::string> downloads;     // read_downloads
  std::vector<std::string> attribution;   // read_attribution
  std::vector<std::string> parameters;    // read_parameters
};
const SampleInputs& sample_inputs();

// A memory source over an embedded file, named "sample:<name>". Throws InputError when absent.
std::unique_ptr<ByteSource> open_sample_file(const std::string& name);

}  // namespace ecostat::host
