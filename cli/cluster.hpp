// The ranks of an MPI launch, as `ecostat run` needs them (docs/scale-out.md): who am I, how
// many are we, each rank's outcome to rank 0, byte blobs between ranks in bounded messages, the
// binomial tree those blobs take to rank 0, and one code from rank 0 to all. Without MPI
// (ECOSTAT_MPI=OFF, or not launched by mpirun/srun) it is one rank and every call is local.
#pragma once
#include <cstdint>
#include <optional>
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

// One step of the reduction to rank 0 along a binomial tree: at step s, a rank with bit s set
// (and no lower bit) sends its result to rank - 2^s and is done; a rank whose bits 0..s are
// clear receives from rank + 2^s when there is one. A receiver holds ranks [rank, rank + 2^s)
// and receives [rank + 2^s, rank + 2^(s+1)): merging what it holds first keeps rank order.
// ceil(log2(size)) steps; every rank but 0 sends exactly once.
struct TreeStep {
  bool send;  // true: send to peer (the last step of this rank); false: receive from peer
  int peer;
};
std::vector<TreeStep> binomial_tree(int rank, int size);

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
  // Collective: rank 0 gets every rank's value, in rank order; the others get an empty vector.
  std::vector<uint64_t> gather(uint64_t mine);
  // Point to point: the length, then chunks of at most kMaxMessageBytes (MPI counts are int;
  // ECOSTAT_MPI_MAX_MESSAGE sets a smaller chunk). send_failed tells the receiver that this rank
  // has no result to send (it, or a rank below it in the tree, failed): receive gives nullopt.
  void send(int to, const std::string& bytes);
  void send_failed(int to);
  std::optional<std::string> receive(int from);
  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t largest_message() const { return largest_message_; }

  static constexpr uint64_t kMaxMessageBytes = uint64_t{1} << 30;

 private:
  int rank_ = 0, size_ = 1;
  bool mpi_ = false;
  uint64_t bytes_sent_ = 0, largest_message_ = 0;
};

}  // namespace ecostat::cli
