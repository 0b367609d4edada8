// `ecostat run` over several download files and MPI ranks (docs/scale-out.md): each rank turns
// its share of the download files into a partial (ecostat/partial.hpp), the partials go up a
// binomial tree to rank 0, merged in rank order, and rank 0 finishes and writes the outputs.
// One process with several download files is the same code with one rank, so its results are
// those of any launch over the same files.
#pragma once
#include <string>
#include <vector>

#include "ecostat/engine.hpp"

namespace ecostat::cli {

// What `run` writes once the results are there.
struct RunOutputs {
  std::string json_path, csv_dir;
  bool quiet = false;
  size_t table_rows = 10;
  double max_reject_fraction = 0.01;
};

// True when `run` takes this route: more than one download file, or a launch by an MPI
// launcher (mpirun, mpiexec, srun). A launch of more than one rank by a binary built without
// MPI throws UsageError: each rank would run the whole job and write the same outputs.
bool scale_out_wanted(const std::vector<std::string>& downloads);

// Runs the job: work item 0 is the repository, attribution and parameter inputs with the first
// download file (or none), item i > 0 the download file i alone; item i runs on rank
// i mod ranks; the results go to rank 0 along a binomial tree (cluster.hpp, binomial_tree),
// each receiver merging in rank order. Returns the exit code (the same on every rank). One rank: errors are thrown as
// by the one-process route; several: a failing rank's message is printed by rank 0 as
// "ecostat: error: rank R: ...", and no output is written.
int run_scaled(const JobSpec& job, const std::vector<std::string>& downloads, const RunOutputs& out);

}  // namespace ecostat::cli
