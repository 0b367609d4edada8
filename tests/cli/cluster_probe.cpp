// Prints what a rank of an MPI launch knows about its place (cli/cluster.hpp), one line per rank,
// for tests/cli/local_rank.sh: the world rank and size, the local rank and size on its node, and
// the device index `--backend auto` asks for (device_for_rank, then device_for over DEVICES).
//   cluster_probe [DEVICES [EXPLICIT_DEVICE]]   (defaults: 2 devices, none chosen)
#include <cstdio>
#include <cstdlib>

#include "cluster.hpp"
#include "ecostat/device_choice.hpp"

int main(int argc, char** argv) {
  const int devices = argc > 1 ? std::atoi(argv[1]) : 2;
  const int explicit_device = argc > 2 ? std::atoi(argv[2]) : -1;
  ecostat::cli::Cluster cluster;
  const int asked = ecostat::cli::device_for_rank(explicit_device, cluster.local_rank());
  std::printf("rank %d size %d local_rank %d local_size %d device %d\n", cluster.rank(), cluster.size(),
              cluster.local_rank(), cluster.local_size(), ecostat::device_for(asked, devices));
  return 0;
}
