// The ranks of an MPI launch, as `ecostat run` needs them (docs/scale-out.md): who am I, how
// many are we, each rank's outcome to rank 0, byte blobs to rank 0 in bounded messages, and one
// code from rank 0 to all. Without MPI (ECOSTAT_MPI=OFF, or not launched by mpirun/srun) it is
// one rank and every call is local.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ecostat::cli {

// How this process was started: 0 when no MPI launcher's environment is seen (OpenMPI's
// OMPI_COMM_WORLD_SIZE, MPICH/Hydra and Slurm's PMI_SIZE, PMIx's PMIX_RANK), else the world size
// the launcher announced (1 when only PMIX_RANK says so).
int launched_world_size();

// True when this binary was built with MPI (ECOSTAT_HAVE_MPI).
bool built_with_mpi();

// What a rank ended its own work with: 0, or the exit code and the message it would have printed.
struct RankOutcome {
  int code = 0;
  std::string message;
};

class Cluster {
 public:
  // Joins the MPI job when launched by an MPI launcher (MPI_Init); else a single rank.
  Cluster();
  ~Cluster();  // MPI_Finalize
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool distributed() const { return size_ > 1; }

  // Collective: rank 0 gets every rank's outcome, in rank order; the others get an empty vector.
  std::vector<RankOutcome> gather_outcomes(const RankOutcome& mine);
  // Collective: every rank gets rank 0's value.
  int broadcast(int value);
  // Point to point, rank r > 0 to rank 0: the length, then chunks of at most kMaxMessageBytes
  // (MPI counts are int). Bytes sent so far, for the report.
  void send_to_root(const std::string& bytes);
  std::string receive_from(int rank);
  uint64_t bytes_moved() const { return bytes_moved_; }

  static constexpr uint64_t kMaxMessageBytes = uint64_t{1} << 30;

 private:
  int rank_ = 0, size_ = 1;
  bool mpi_ = false;
  uint64_t bytes_moved_ = 0;
};

}  // namespace ecostat::cli
