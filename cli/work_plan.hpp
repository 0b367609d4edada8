// How `ecostat run` over several download files and MPI ranks cuts the job into work items
// (docs/scale-out.md, "How the work is split"): whole download files when there are at least as
// many as ranks, else slices of each file that allows it (ecostat/host/download_ranges.hpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ecostat/engine.hpp"

namespace ecostat::cli {

struct WorkItem {
  JobSpec spec;             // what this item reads (progress unset)
  size_t file = 0;          // its download file's index in the list
  size_t slice = 0;         // which slice of that file
  size_t slices = 1;        // how many slices the file was cut into (1: read whole)
  bool skip = false;        // reads nothing (a slice of a file that is read whole after all)
};

// The items, the same on every rank. Item 0 reads the repository and attribution inputs and the
// first download file (or its first slice); the parameters go with the last item of the first
// file, so that the rejects, taken in item order, come in the order one process writes them.
// Each other item reads one download file or slice alone. Files are sliced only when ranks > 1,
// there are fewer download files than ranks and --duplicates is not `reject` (a slice cannot
// reject a row that an earlier slice holds): each file that download_cuts allows is cut into
// `ranks` slices of about equal size (files of at least slice_min_bytes). Throws InputError
// when a file to be sliced cannot be opened.
std::vector<WorkItem> plan_work(const JobSpec& job, const std::vector<std::string>& downloads, int ranks,
                                uint64_t slice_min_bytes);

// The item numbers that run on `rank`: i mod ranks == rank.
std::vector<size_t> items_of_rank(size_t n_items, int rank, int ranks);

// A number that differs (almost surely) when two ranks planned differently, e.g. because they
// see different bytes under the same path.
uint64_t plan_fingerprint(const std::vector<WorkItem>& items);

// This rank's scan of each of its slice items: by item, the lines it holds and 1 when a record
// of it continues on the next line (0 for the items of other ranks and for whole files).
struct SliceScans {
  std::vector<uint64_t> lines, spans;
};
SliceScans scan_slices(const std::vector<WorkItem>& items, const std::vector<size_t>& mine);

// With every rank's scans summed: each slice gets the lines before it (its file's own line
// numbers); a file with a record spanning lines in any slice is read whole by its first item
// instead (the others skip).
void settle_slices(std::vector<WorkItem>& items, const SliceScans& all);

// After a slice item's partial is made: its download file summary is named as its file's
// slice, so that collapse_slices can add the slices of one file up into the one entry a read
// of the whole file gives.
void tag_slice_summary(const WorkItem& item, InputSummary& input);
void collapse_slices(InputSummary& input);

}  // namespace ecostat::cli
