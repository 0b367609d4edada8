// Slices of one downloads CSV file (ecostat/host/download_ranges.hpp): where to cut it, the pass
// that counts a slice's lines, and the reader of one slice (the mapped parallel reader's waves
// over [begin, end) with the file's header and line numbers).
#include <algorithm>
#include <cerrno>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "csv.hpp"
#include "download_chunks.hpp"
#include "download_reader_parallel.hpp"
#include "ecostat/errors.hpp"
#include "ecostat/host/download_ranges.hpp"
#include "ecostat/host/parquet.hpp"
#include "mapped_file.hpp"

namespace ecostat::host {

namespace {

// Maps `path` for slicing; throws InputError when it cannot be opened at all (the whole-file
// readers would say the same), returns false when it is not a plain text file.
// A FIFO is never opened here (that would block, or take a writer's data from its reader).
bool map_for_slices(const std::string& path, detail::MappedFile* file) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || ::access(path.c_str(), R_OK) != 0)
    throw InputError(path, 0, "", std::string("cannot open: ") + std::strerror(errno));
  return S_ISREG(st.st_mode) && file->open_plain_text(path, 0);
}

// Line ends in data[0, n), sixteen bytes at a time where SSE2 is there.
uint64_t count_line_ends(const char* data, size_t n) {
  uint64_t lines = 0;
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i nl = _mm_set1_epi8('\n');
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
    lines += unsigned(__builtin_popcount(unsigned(_mm_movemask_epi8(_mm_cmpeq_epi8(v, nl)))));
  }
#endif
  for (; i < n; ++i) lines += data[i] == '\n';
  return lines;
}

}  // namespace

std::vector<uint64_t> download_cuts(const std::string& path, DownloadFormat format, size_t pieces, uint64_t min_bytes,
                                    size_t max_line) {
  detail::MappedFile file;
  if (pieces < 2 || !map_for_slices(path, &file) || file.size() < std::max<uint64_t>(min_bytes, 1)) return {};
  const char* data = file.data();
  const size_t size = file.size();
  detail::RecordsStart start;
  if (!detail::find_records_start(data, size, format, path, max_line, &start) || start.layout.cumulative) return {};
  std::vector<uint64_t> cuts;
  for (size_t k = 1; k < pieces; ++k) {
    const size_t target = std::max<size_t>(start.begin, size_t(uint64_t(size) * k / pieces));
    const size_t cut = detail::line_end_after(data, size, target == 0 ? 0 : target - 1);
    if (cut > start.begin && cut < size && (cuts.empty() || cut > cuts.back())) cuts.push_back(cut);
  }
  return cuts;
}

SliceScan scan_download_slice(const std::string& path, uint64_t begin, uint64_t end, size_t max_line) {
  detail::MappedFile file;
  if (!map_for_slices(path, &file)) throw InputError(path, 0, "", "not a plain text file: it cannot be read in slices");
  const char* data = file.data();
  end = std::min<uint64_t>(end, file.size());
  SliceScan scan;
  if (begin >= end) return scan;
  scan.lines = count_line_ends(data + begin, size_t(end - begin));
  // Only lines holding a quote can continue: find each quote, then its line.
  for (size_t p = size_t(begin); p < end;) {
    const void* q = std::memchr(data + p, '"', size_t(end) - p);
    if (!q) break;
    const size_t at = size_t(static_cast<const char*>(q) - data);
    size_t line_start = at;
    while (line_start > begin && data[line_start - 1] != '\n') --line_start;
    const size_t line_end = detail::line_end_after(data, size_t(end), at);
    std::string_view line(data + line_start, line_end - line_start);
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() <= max_line && detail::record_continues(line)) {
      scan.record_spans_lines = true;
      break;
    }
    p = line_end;
  }
  file.release_before(size_t(end));
  return scan;
}

std::vector<RowGroupCut> parquet_download_cuts(const std::string& path, DownloadFormat format, size_t pieces,
                                               uint64_t min_bytes) {
  struct stat st {};
  if (pieces < 2 || ::stat(path.c_str(), &st) != 0 || uint64_t(st.st_size) < std::max<uint64_t>(min_bytes, 1) ||
      format == DownloadFormat::cumulative)
    return {};
  const ParquetShape shape = parquet_shape(path);
  for (const std::string& column : shape.columns) {
    const std::string name = detail::normalise_header(column);
    if (format == DownloadFormat::detect && (name == "downloads_all_time" || name == "downloadsalltime")) return {};
  }
  const size_t groups = shape.row_group_rows.size();
  uint64_t total = 0;
  for (int64_t rows : shape.row_group_rows) total += uint64_t(std::max<int64_t>(rows, 0));
  std::vector<RowGroupCut> cuts;
  uint64_t before = uint64_t(std::max<int64_t>(shape.row_group_rows.empty() ? 0 : shape.row_group_rows[0], 0));
  size_t k = 1;
  for (size_t g = 1; g < groups && k < pieces; ++g) {
    // Cut before row group g once the rows before it reach slice k's share.
    if (before * pieces >= total * k) {
      cuts.push_back({g, before});
      while (k < pieces && before * pieces >= total * k) ++k;
    }
    before += uint64_t(std::max<int64_t>(shape.row_group_rows[g], 0));
  }
  return cuts;
}

namespace detail {

ReadStats read_downloads_slice(const std::string& path, const DownloadSlice& slice, DownloadFormat format,
                               RepoTable& repos, RejectLog& rejects, size_t batch_capacity,
                               const std::function<void(const EventBatch&)>& sink, const ProgressFn& progress,
                               const ReadOptions& options, DownloadJob& job, unsigned threads) {
  MappedFile file;
  if (!map_for_slices(path, &file)) throw InputError(path, 0, "", "not a plain text file: it cannot be read in slices");
  const char* const data = file.data();
  const size_t size = file.size();
  RecordsStart start;
  if (!find_records_start(data, size, format, path, options.max_line, &start) || start.layout.cumulative)
    throw InputError(path, 0, "", "its header does not allow reading it in slices (changed since it was cut?)");
  const size_t end = size_t(std::min<uint64_t>(slice.end, size));
  // The first slice starts at the records (after the header); the others at their cut.
  const size_t begin = slice.begin == 0 ? start.begin : size_t(std::min<uint64_t>(slice.begin, end));
  const uint64_t line_base = slice.begin == 0 ? start.line_base : slice.line_base;

  ReadStats stats;
  stats.file = path;
  DownloadRecords out(stats, repos, rejects, false, batch_capacity, sink, options, job);
  out.set_fields(start.layout.header[start.layout.repo], start.layout.header[start.layout.date],
                 start.layout.header[start.layout.count]);
  RowsInOrder rows(start.layout, out, repos, stats, options, std::max(1u, threads), line_base);
  size_t at = begin;
  while (at < end) {
    at = rows.wave(data, at, end, options.parallel_chunk_bytes);
    if (rows.stopped())
      throw InputError(path, rows.stop_line(), "",
                       "a record continues on the next line: this file cannot be read in slices (changed since it was "
                       "scanned?)");
    file.release_before(at);
    if (progress) progress(at - begin, end - begin);
  }
  out.finish();
  stats.bytes = end - size_t(std::min<uint64_t>(slice.begin, end));
  return stats;
}

}  // namespace detail

}  // namespace ecostat::host
