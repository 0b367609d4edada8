// Access to the sample files that data/CMakeLists.txt embeds into the library.
#include "ecostat/host/sample.hpp"

#include <algorithm>
#include <cstring>

#include "ecostat/errors.hpp"

namespace ecostat::host {

namespace detail {
struct EmbeddedRaw {
  const char* name;
  const unsigned char* data;
  std::size_t size;
};
extern const EmbeddedRaw kSampleFiles[];  // generated: build/data/ecostat_sample_data.cpp
extern const std::size_t kSampleFileCount;
}  // namespace detail

namespace {
const std::vector<EmbeddedFile>& table() {
  static const std::vector<EmbeddedFile> files = [] {
    std::vector<EmbeddedFile> v;
    for (size_t i = 0; i < detail::kSampleFileCount; ++i) {
      const auto& r = detail::kSampleFiles[i];
      v.push_back(EmbeddedFile{r.name, reinterpret_cast<const char*>(r.data), r.size});
    }
    return v;
  }();
  return files;
}
}  // namespace

const EmbeddedFile* find_sample_file(const std::string& name) {
  for (const auto& f : table())
    if (name == f.name) return &f;
  return nullptr;
}

std::vector<std::string> sample_file_names() {
  std::vector<std::string> names;
  for (const auto& f : table()) names.emplace_back(f.name);
  std::sort(names.begin(), names.end());
  return names;
}

const SampleInputs& sample_inputs() {
  // Real extracts first, then the generated files that exercise the study (data/README.md).
  static const SampleInputs inputs{{"repos.csv", "repos_kblab.jsonl", "repos_generated.jsonl"},
                                   {"downloads.csv", "downloads_generated.csv"},
                                   {"orgs.csv", "orgs_generated.csv"},
                                   {"params.csv"}};
  return inputs;
}

std::unique_ptr<ByteSource> open_sample_file(const std::string& name) {
  const EmbeddedFile* f = find_sample_file(name);
  if (!f) throw InputError("sample:" + name, 0, "", "no such embedded sample file");
  return memory_source("sample:" + name, f->data, f->size);
}

}  // namespace ecostat::host
