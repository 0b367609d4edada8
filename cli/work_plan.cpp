// Work items of a run over several download files and ranks (work_plan.hpp).
#include "work_plan.hpp"

#include <algorithm>
#include <map>

#include "ecostat/host/download_ranges.hpp"
#include "ecostat/host/parquet.hpp"

namespace ecostat::cli {

namespace {

constexpr char kSliceTag = '\x1f';  // file summary name of a slice: path, tag, file index

host::DownloadFormat format_of(const std::string& s) {
  if (s == "per_period") return host::DownloadFormat::per_period;
  if (s == "cumulative") return host::DownloadFormat::cumulative;
  return host::DownloadFormat::detect;
}

JobSpec downloads_only(const JobSpec& job, const std::string& path) {
  JobSpec d = job;
  d.repos_path.clear();
  d.orgs_path.clear();
  d.params_path.clear();
  d.downloads_path = path;
  return d;
}

}  // namespace

std::vector<WorkItem> plan_work(const JobSpec& job, const std::vector<std::string>& downloads, int ranks,
                                uint64_t slice_min_bytes) {
  const bool slicing = ranks > 1 && downloads.size() < size_t(ranks) && job.duplicates != "reject";
  const size_t max_line = host::ReadOptions{}.max_line;
  std::vector<WorkItem> items;
  for (size_t f = 0; f < std::max<size_t>(1, downloads.size()); ++f) {
    const std::string path = downloads.empty() ? std::string() : downloads[f];
    // Cuts: byte offsets of a CSV file, or row groups of a Parquet file (with the rows before).
    std::vector<uint64_t> cuts, rows_before;
    const bool parquet = slicing && !path.empty() && path != "-" && host::is_parquet_file(path);
    if (parquet) {
      for (const host::RowGroupCut& c :
           host::parquet_download_cuts(path, format_of(job.downloads_format), size_t(ranks), slice_min_bytes)) {
        cuts.push_back(c.row_group);
        rows_before.push_back(c.rows_before);
      }
    } else if (slicing && !path.empty() && path != "-") {
      cuts = host::download_cuts(path, format_of(job.downloads_format), size_t(ranks), slice_min_bytes, max_line);
    }
    const size_t slices = cuts.size() + 1;
    for (size_t s = 0; s < slices; ++s) {
      WorkItem item;
      item.spec = items.empty() ? job : downloads_only(job, path);
      item.spec.downloads_path = path;
      item.spec.progress = nullptr;
      item.file = f;
      item.slice = s;
      item.slices = slices;
      if (slices > 1) {
        item.spec.downloads_slice.begin = s == 0 ? 0 : cuts[s - 1];
        item.spec.downloads_slice.end = s + 1 < slices ? cuts[s] : UINT64_MAX;
        item.spec.downloads_slice.row_groups = parquet;
        if (parquet) item.spec.downloads_slice.line_base = s == 0 ? 0 : rows_before[s - 1];
        item.spec.duplicate_scope = "downloads file " + std::to_string(f);
      }
      items.push_back(std::move(item));
    }
  }
  // The parameters after every slice of the first file (one process reads them after it).
  if (items[0].slices > 1) {
    items[items[0].slices - 1].spec.params_path = items[0].spec.params_path;
    items[0].spec.params_path.clear();
  }
  return items;
}

std::vector<size_t> items_of_rank(size_t n_items, int rank, int ranks) {
  std::vector<size_t> mine;
  for (size_t i = size_t(rank); i < n_items; i += size_t(ranks)) mine.push_back(i);
  return mine;
}

uint64_t plan_fingerprint(const std::vector<WorkItem>& items) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the items' cuts
  auto mix = [&h](uint64_t v) {
    for (int b = 0; b < 8; ++b) h = (h ^ ((v >> (8 * b)) & 0xff)) * 1099511628211ull;
  };
  mix(items.size());
  for (const WorkItem& item : items) {
    mix(item.file);
    mix(item.slices);
    mix(item.spec.downloads_slice.begin);
  }
  return h;
}

SliceScans scan_slices(const std::vector<WorkItem>& items, const std::vector<size_t>& mine) {
  SliceScans scans{std::vector<uint64_t>(items.size(), 0), std::vector<uint64_t>(items.size(), 0)};
  for (size_t i : mine) {
    const WorkItem& item = items[i];
    if (item.slices < 2 || item.spec.downloads_slice.row_groups) continue;  // Parquet: the footer has the rows
    const DownloadSlice& s = item.spec.downloads_slice;
    const host::SliceScan scan =
        host::scan_download_slice(item.spec.downloads_path, s.begin, s.end, host::ReadOptions{}.max_line);
    scans.lines[i] = scan.lines;
    scans.spans[i] = scan.record_spans_lines ? 1 : 0;
  }
  return scans;
}

void settle_slices(std::vector<WorkItem>& items, const SliceScans& all) {
  for (size_t first = 0; first < items.size(); first += items[first].slices) {
    const size_t n = items[first].slices;
    if (n < 2 || items[first].spec.downloads_slice.row_groups) continue;  // row groups: set by plan_work
    bool spans = false;
    for (size_t k = 0; k < n; ++k) spans = spans || all.spans[first + k] != 0;
    if (spans) {  // read whole by the first item; the parameters go back to it
      WorkItem& whole = items[first];
      whole.spec.downloads_slice = DownloadSlice{};
      whole.spec.duplicate_scope.clear();
      whole.slices = 1;
      for (size_t k = 1; k < n; ++k) {
        WorkItem& other = items[first + k];
        if (!other.spec.params_path.empty()) std::swap(whole.spec.params_path, other.spec.params_path);
        other.skip = true;
      }
      continue;
    }
    uint64_t before = 0;
    for (size_t k = 0; k < n; ++k) {
      items[first + k].spec.downloads_slice.line_base = before;
      before += all.lines[first + k];
    }
  }
}

void tag_slice_summary(const WorkItem& item, InputSummary& input) {
  if (item.slices < 2) return;
  for (FileSummary& f : input.files)  // a slice item reads one download input (named "arrow:<path>" for Parquet)
    if (f.role == "downloads") f.file += kSliceTag + std::to_string(item.file);
}

void collapse_slices(InputSummary& input) {
  std::vector<FileSummary> out;
  std::map<std::string, size_t> at;  // tagged name -> its entry in out
  for (FileSummary& f : input.files) {
    const size_t tag = f.file.find(kSliceTag);
    if (f.role != "downloads" || tag == std::string::npos) {
      out.push_back(std::move(f));
      continue;
    }
    auto [it, fresh] = at.emplace(f.file, out.size());
    if (fresh) {
      f.file.resize(tag);
      out.push_back(std::move(f));
      continue;
    }
    FileSummary& sum = out[it->second];
    sum.read += f.read;
    sum.accepted += f.accepted;
    sum.rejected += f.rejected;
    sum.bytes += f.bytes;
  }
  // The order one session lists its files in (by role, then name: detail::canonical_input_order).
  static const std::vector<std::string> roles{"orgs", "repos", "downloads", "params"};
  auto rank = [](const std::string& role) { return size_t(std::find(roles.begin(), roles.end(), role) - roles.begin()); };
  std::stable_sort(out.begin(), out.end(), [&](const FileSummary& a, const FileSummary& b) {
    const size_t ra = rank(a.role), rb = rank(b.role);
    return ra != rb ? ra < rb : a.file < b.file;
  });
  input.files = std::move(out);
}

}  // namespace ecostat::cli
