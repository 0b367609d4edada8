// The ranks of an MPI launch (cluster.hpp). Everything MPI is in this file, behind
// ECOSTAT_HAVE_MPI; without it a Cluster is one rank.
#include "cluster.hpp"

#include <algorithm>
#include <deque>
#include <limits>
#include <cstdlib>
#include <stdexcept>

#include "ecostat/errors.hpp"

#ifdef ECOSTAT_HAVE_MPI
// The C API only: the deprecated C++ bindings (and their warnings) stay out.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace ecostat::cli {

#ifdef ECOSTAT_HAVE_MPI
struct Cluster::NodeComm {
  MPI_Comm comm = MPI_COMM_NULL;
};
struct Cluster::ProgressPosts {
  struct Post {
    uint64_t message[3] = {0, 0, 0};  // done, total, last
    MPI_Request request = MPI_REQUEST_NULL;
  };
  std::deque<Post> in_flight;  // a deque: a post's buffer stays put while it is sent
  bool last_posted = false;
  std::vector<std::pair<uint64_t, uint64_t>> latest;  // rank 0: by rank
  std::vector<uint8_t> last_seen;                     // rank 0: by rank
};
#else
struct Cluster::NodeComm {};
struct Cluster::ProgressPosts {};
#endif

namespace {

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : 0;
}

#ifdef ECOSTAT_HAVE_MPI
void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    throw Error(std::string("MPI ") + what + ": " + std::string(text, size_t(len)));
  }
}

// The largest message: 1 GiB, or less through ECOSTAT_MPI_MAX_MESSAGE (bytes; tests use it to
// exercise the chunked path on small partials).
uint64_t max_message_bytes() {
  const char* v = std::getenv("ECOSTAT_MPI_MAX_MESSAGE");
  if (!v || !*v) return Cluster::kMaxMessageBytes;
  const unsigned long long n = std::strtoull(v, nullptr, 10);
  return n == 0 ? Cluster::kMaxMessageBytes : std::min<uint64_t>(n, Cluster::kMaxMessageBytes);
}

constexpr int kTagLength = 1, kTagChunk = 2, kTagProgress = 3;
// The length that says "no result follows: the sender, or a rank below it, failed".
constexpr uint64_t kFailedLength = ~uint64_t{0};
// Messages sent with a failure are cut here: they are one line each.
constexpr size_t kMaxOutcomeMessage = 4096;
#endif

}  // namespace

int launched_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MPI_LOCALNRANKS"})
    if (const int n = env_int(name); n > 0) return n;
  return std::getenv("PMIX_RANK") ? 1 : 0;
}

bool built_with_mpi() {
#ifdef ECOSTAT_HAVE_MPI
  return true;
#else
  return false;
#endif
}

Cluster::Cluster() {
#ifdef ECOSTAT_HAVE_MPI
  if (launched_world_size() == 0) return;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) check(MPI_Init(nullptr, nullptr), "MPI_Init");
  // Errors come back as codes (and become exceptions) instead of aborting the job.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  mpi_ = true;
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  // The ranks sharing this node (key = world rank: local ranks follow world order). Kept until
  // the destructor; only its rank and size are read.
  node_ = std::make_unique<NodeComm>();
  check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node_->comm),
        "MPI_Comm_split_type");
  check(MPI_Comm_rank(node_->comm, &local_rank_), "MPI_Comm_rank (node)");
  check(MPI_Comm_size(node_->comm, &local_size_), "MPI_Comm_size (node)");
#endif
}

Cluster::~Cluster() {
#ifdef ECOSTAT_HAVE_MPI
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (mpi_ && !finalized) {
    if (node_ && node_->comm != MPI_COMM_NULL) MPI_Comm_free(&node_->comm);
    MPI_Finalize();
  }
#endif
}

std::vector<RankOutcome> Cluster::gather_outcomes(const RankOutcome& mine) {
  if (!mpi_) return {mine};
#ifdef ECOSTAT_HAVE_MPI
  const std::string text = mine.message.substr(0, kMaxOutcomeMessage);
  const int pair[2] = {mine.code, int(text.size())};
  std::vector<int> pairs(rank_ == 0 ? 2 * size_t(size_) : 0);
  check(MPI_Gather(pair, 2, MPI_INT, pairs.data(), 2, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Gather");
  std::vector<int> lengths, offsets;
  std::string all;
  if (rank_ == 0) {
    for (int r = 0; r < size_; ++r) {
      offsets.push_back(int(all.size()));
      lengths.push_back(pairs[2 * size_t(r) + 1]);
      all.resize(all.size() + size_t(lengths.back()));
    }
  }
  check(MPI_Gatherv(text.data(), int(text.size()), MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, 0,
                    MPI_COMM_WORLD),
        "MPI_Gatherv");
  std::vector<RankOutcome> out;
  if (rank_ == 0)
    for (int r = 0; r < size_; ++r) out.push_back({pairs[2 * size_t(r)], all.substr(size_t(offsets[r]), size_t(lengths[r]))});
  return out;
#else
  return {mine};
#endif
}

int Cluster::broadcast(int value) {
#ifdef ECOSTAT_HAVE_MPI
  if (mpi_) check(MPI_Bcast(&value, 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Bcast");
#endif
  return value;
}

std::vector<uint64_t> Cluster::gather(uint64_t mine) {
  if (!mpi_) return {mine};
  std::vector<uint64_t> all(rank_ == 0 ? size_t(size_) : 0);
#ifdef ECOSTAT_HAVE_MPI
  check(MPI_Gather(&mine, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, 0, MPI_COMM_WORLD), "MPI_Gather");
#endif
  return all;
}

std::vector<uint64_t> Cluster::sum_over_ranks(std::vector<uint64_t> mine) {
  if (!mpi_) return mine;
#ifdef ECOSTAT_HAVE_MPI
  if (mine.size() > size_t(std::numeric_limits<int>::max())) throw std::length_error("Cluster::sum_over_ranks: too many values");
  check(MPI_Allreduce(MPI_IN_PLACE, mine.data(), int(mine.size()), MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD),
        "MPI_Allreduce");
#endif
  return mine;
}

void Cluster::post_progress([[maybe_unused]] uint64_t done, [[maybe_unused]] uint64_t total,
                            [[maybe_unused]] bool last) {
#ifdef ECOSTAT_HAVE_MPI
  if (!mpi_ || rank_ == 0) return;
  if (!progress_) progress_ = std::make_unique<ProgressPosts>();
  ProgressPosts& p = *progress_;
  if (p.last_posted) return;
  while (!p.in_flight.empty()) {  // drop the posts delivered
    int delivered = 0;
    check(MPI_Test(&p.in_flight.front().request, &delivered, MPI_STATUS_IGNORE), "MPI_Test");
    if (!delivered) break;
    p.in_flight.pop_front();
  }
  if (!last && !p.in_flight.empty()) return;  // one update in flight at a time; the last always goes
  ProgressPosts::Post& post = p.in_flight.emplace_back();
  post.message[0] = done;
  post.message[1] = total;
  post.message[2] = last ? 1 : 0;
  check(MPI_Isend(post.message, 3, MPI_UINT64_T, 0, kTagProgress, MPI_COMM_WORLD, &post.request), "MPI_Isend");
  p.last_posted = last;
#endif
}

// Rank 0: takes the progress posts that have arrived (block: until every rank's last one).
void Cluster::take_progress([[maybe_unused]] bool block) {
#ifdef ECOSTAT_HAVE_MPI
  if (!progress_) progress_ = std::make_unique<ProgressPosts>();
  ProgressPosts& p = *progress_;
  p.latest.resize(size_t(size_));
  p.last_seen.resize(size_t(size_), 0);
  auto missing = [&] { return size_t(std::count(p.last_seen.begin() + 1, p.last_seen.end(), 0)); };
  for (;;) {
    int arrived = 0;
    MPI_Status status;
    if (block && missing() > 0) {
      check(MPI_Probe(MPI_ANY_SOURCE, kTagProgress, MPI_COMM_WORLD, &status), "MPI_Probe");
      arrived = 1;
    } else {
      check(MPI_Iprobe(MPI_ANY_SOURCE, kTagProgress, MPI_COMM_WORLD, &arrived, &status), "MPI_Iprobe");
    }
    if (!arrived) return;
    uint64_t message[3];
    check(MPI_Recv(message, 3, MPI_UINT64_T, status.MPI_SOURCE, kTagProgress, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
          "MPI_Recv");
    const size_t from = size_t(status.MPI_SOURCE);
    if (from == 0 || from >= p.latest.size()) continue;
    p.latest[from] = {message[0], message[1]};
    if (message[2]) p.last_seen[from] = 1;
  }
#endif
}

std::vector<std::pair<uint64_t, uint64_t>> Cluster::progress_of_ranks() {
#ifdef ECOSTAT_HAVE_MPI
  if (mpi_ && rank_ == 0) {
    take_progress(false);
    return progress_->latest;
  }
#endif
  return std::vector<std::pair<uint64_t, uint64_t>>(size_t(size_));
}

void Cluster::progress_complete() {
#ifdef ECOSTAT_HAVE_MPI
  if (!mpi_) return;
  if (rank_ == 0) {
    take_progress(true);
    return;
  }
  if (!progress_ || !progress_->last_posted) post_progress(0, 0, true);
  for (auto& post : progress_->in_flight) check(MPI_Wait(&post.request, MPI_STATUS_IGNORE), "MPI_Wait");
  progress_->in_flight.clear();
#endif
}

void Cluster::send([[maybe_unused]] int to, [[maybe_unused]] const std::string& bytes) {
  if (!mpi_ || to == rank_) throw std::logic_error("Cluster::send: not to another rank of an MPI job");
#ifdef ECOSTAT_HAVE_MPI
  const uint64_t length = bytes.size();
  check(MPI_Send(&length, 1, MPI_UINT64_T, to, kTagLength, MPI_COMM_WORLD), "MPI_Send");
  const uint64_t chunk = max_message_bytes();
  for (uint64_t at = 0; at < length; at += chunk) {
    const int n = int(std::min(chunk, length - at));
    check(MPI_Send(bytes.data() + at, n, MPI_BYTE, to, kTagChunk, MPI_COMM_WORLD), "MPI_Send");
    largest_message_ = std::max(largest_message_, uint64_t(n));
  }
  bytes_sent_ += length;
#endif
}

void Cluster::send_failed([[maybe_unused]] int to) {
  if (!mpi_ || to == rank_) throw std::logic_error("Cluster::send_failed: not to another rank of an MPI job");
#ifdef ECOSTAT_HAVE_MPI
  const uint64_t length = kFailedLength;
  check(MPI_Send(&length, 1, MPI_UINT64_T, to, kTagLength, MPI_COMM_WORLD), "MPI_Send");
#endif
}

std::optional<std::string> Cluster::receive([[maybe_unused]] int from) {
  if (!mpi_ || from == rank_) throw std::logic_error("Cluster::receive: not from another rank of an MPI job");
  std::string bytes;
#ifdef ECOSTAT_HAVE_MPI
  uint64_t length = 0;
  check(MPI_Recv(&length, 1, MPI_UINT64_T, from, kTagLength, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv");
  if (length == kFailedLength) return std::nullopt;
  bytes.resize(length);
  // The sender chose the chunk size: each receive takes what one message holds.
  for (uint64_t at = 0; at < length;) {
    const int room = int(std::min(Cluster::kMaxMessageBytes, length - at));
    MPI_Status status;
    check(MPI_Recv(bytes.data() + at, room, MPI_BYTE, from, kTagChunk, MPI_COMM_WORLD, &status), "MPI_Recv");
    int got = 0;
    check(MPI_Get_count(&status, MPI_BYTE, &got), "MPI_Get_count");
    if (got <= 0) throw Error("MPI_Recv: an empty chunk from rank " + std::to_string(from));
    at += uint64_t(got);
  }
#endif
  return bytes;
}

std::vector<TreeStep> binomial_tree(int rank, int size) {
  std::vector<TreeStep> steps;
  for (int mask = 1; mask < size; mask <<= 1) {
    if (rank & mask) {
      steps.push_back({true, rank - mask});
      break;
    }
    if (rank + mask < size) steps.push_back({false, rank + mask});
  }
  return steps;
}

}  // namespace ecostat::cli
