#!/usr/bin/env bash
# Local ranks and the device each rank asks for (cli/cluster.hpp, docs/scale-out.md "Devices"):
#   local_rank.sh CLUSTER_PROBE WITH_MPI
# Without mpirun: one rank, local rank 0 of 1, device 0. Under mpirun -np 3 on this one node:
# local rank = world rank, local size 3; with 2 devices rank i asks for device i mod 2, and an
# explicit device wins over the local rank. The MPI part exits 77 (ctest: skipped) with the reason
# when MPI is not built or mpirun is absent.
set -u
probe=$1 with_mpi=${2:-OFF}
pass=0 fail=0
check() {  # NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then echo "ok   $1"; pass=$((pass+1)); else
    echo "FAIL $1"; echo "  expected: $2" | sed 's/$/|/'; echo "  actual:   $3" | sed 's/$/|/'; fail=$((fail+1)); fi
}

check "one process: local rank 0 of 1, device 0" "rank 0 size 1 local_rank 0 local_size 1 device 0" "$("$probe" 2)"
check "one process, --device 3 of 2 devices: device 1" "rank 0 size 1 local_rank 0 local_size 1 device 1" "$("$probe" 2 3)"

if [ "$with_mpi" != ON ]; then echo "SKIPPED (MPI part): built without MPI"; [ $fail = 0 ] && exit 77 || exit 1; fi
if ! command -v mpirun >/dev/null; then echo "SKIPPED (MPI part): mpirun not found"; [ $fail = 0 ] && exit 77 || exit 1; fi
mpi=(mpirun --oversubscribe --bind-to none)
# Under ASan (scripts/sanitize.sh) OpenMPI's own allocations would count as leaks (as in mpi.sh).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export OMPI_MCA_btl_vader_single_copy_mechanism=none
[ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)

out=$("${mpi[@]}" -np 3 "$probe" 2 2>&1 | sort)
check "mpirun -np 3, 2 devices: local rank = rank, rank i on device i mod 2" \
  "rank 0 size 3 local_rank 0 local_size 3 device 0
rank 1 size 3 local_rank 1 local_size 3 device 1
rank 2 size 3 local_rank 2 local_size 3 device 0" "$out"
out=$("${mpi[@]}" -np 2 "$probe" 4 2>&1 | sort)
check "mpirun -np 2, 4 devices: devices 0 and 1" \
  "rank 0 size 2 local_rank 0 local_size 2 device 0
rank 1 size 2 local_rank 1 local_size 2 device 1" "$out"
out=$("${mpi[@]}" -np 2 "$probe" 2 5 2>&1 | sort)
check "mpirun -np 2, explicit device 5 of 2: every rank on device 1" \
  "rank 0 size 2 local_rank 0 local_size 2 device 1
rank 1 size 2 local_rank 1 local_size 2 device 1" "$out"

echo "local_rank: $pass passed, $fail failed"
[ $fail = 0 ]
