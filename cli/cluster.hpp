// The ranks of an MPI launch, as `ecostat run` needs them (docs/scale-out.md): who am I, how
// many are we, each rank's outcome to rank 0, byte blobs between ranks in bounded messages, the
// binomial tree those blobs take to rank 0, and one code from rank 0 to all. Without MPI
// (ECOSTAT_MPI=OFF, or not launched by mpirun/srun) it is one rank and every call is local.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
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

// The device index a rank asks its GPU backend for (EngineOptions::device): explicit_device when
// one was chosen (>= 0: --device, or ECOSTAT_DEVICE through ecostat::requested_device), else
// the rank's local rank on its node. The backend takes it mod the node's device count
// (ecostat::device_for), so rank i of a node uses device i mod devices.
inline int device_for_rank(int explicit_device, int local_rank) {
  return explicit_device >= 0 ? explicit_device : local_rank;
}

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
  // This rank among the ranks on its node (MPI_COMM_TYPE_SHARED), and how many those are;
  // computed once when joining. Without MPI: 0 and 1.
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }

  // Collective: rank 0 gets every rank's outcome, in rank order; the others get an empty vector.
  std::vector<RankOutcome> gather_outcomes(const RankOutcome& mine);
  // Collective: every rank gets rank 0's value.
  int broadcast(int value);
  // Collective: rank 0 gets every rank's value, in rank order; the others get an empty vector.
  std::vector<uint64_t> gather(uint64_t mine);
  // Collective: every rank gets the element-wise sums (mod 2^64) of every rank's vector (all of
  // the same length).
  std::vector<uint64_t> sum_over_ranks(std::vector<uint64_t> mine);
  // Point to point: the length, then chunks of at most kMaxMessageBytes (MPI counts are int;
  // ECOSTAT_MPI_MAX_MESSAGE sets a smaller chunk). send_failed tells the receiver that this rank
  // has no result to send (it, or a rank below it in the tree, failed): receive gives nullopt.
  void send(int to, const std::string& bytes);
  void send_failed(int to);
  std::optional<std::string> receive(int from);
  // Progress of a launch (docs/scale-out.md, "Progress"), main thread only. A rank > 0 posts its
  // (done, total) to rank 0 without blocking; its last post (last = true) comes once, after its
  // work, failed or not. Rank 0 reads the latest post of each rank (index = rank; its own entry
  // stays zero) from what has arrived, without blocking. Then every rank calls
  // progress_complete(): rank 0 receives every rank's last post, the others wait for their posts
  // to be delivered, so that no message is left behind.
  void post_progress(uint64_t done, uint64_t total, bool last);
  std::vector<std::pair<uint64_t, uint64_t>> progress_of_ranks();
  void progress_complete();
  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t largest_message() const { return largest_message_; }

  static constexpr uint64_t kMaxMessageBytes = uint64_t{1} << 30;

 private:
  int rank_ = 0, size_ = 1;
  int local_rank_ = 0, local_size_ = 1;
  struct NodeComm;                   // the node's communicator (cluster.cpp), freed before MPI_Finalize
  std::unique_ptr<NodeComm> node_;
  struct ProgressPosts;              // posts in flight (ranks > 0) or received (rank 0)
  std::unique_ptr<ProgressPosts> progress_;
  void take_progress(bool block);
  bool mpi_ = false;
  uint64_t bytes_sent_ = 0, largest_message_ = 0;
};

}  // namespace ecostat::cli
