# Scale-out over MPI (docs/scale-out.md): ECOSTAT_MPI=AUTO (when an MPI C++ library is found),
# ON (required), OFF. The result is the interface target ecostat_mpi, which the CLI links: it
# carries MPI::MPI_CXX and ECOSTAT_HAVE_MPI=1, or nothing (the CLI then runs as one process and
# refuses a launch by mpirun with more than one rank). The library itself never needs MPI.
set(ECOSTAT_MPI AUTO CACHE STRING "Scale-out over MPI for `ecostat run`: AUTO (when MPI is found), ON, OFF")
set_property(CACHE ECOSTAT_MPI PROPERTY STRINGS AUTO ON OFF)

add_library(ecostat_mpi INTERFACE)
set(ECOSTAT_WITH_MPI OFF)
if(ECOSTAT_MPI STREQUAL "ON")
  find_package(MPI REQUIRED COMPONENTS CXX)
  set(ECOSTAT_WITH_MPI ON)
elseif(ECOSTAT_MPI STREQUAL "AUTO")
  find_package(MPI QUIET COMPONENTS CXX)
  if(MPI_CXX_FOUND)
    set(ECOSTAT_WITH_MPI ON)
  endif()
elseif(NOT ECOSTAT_MPI STREQUAL "OFF")
  message(FATAL_ERROR "ECOSTAT_MPI must be AUTO, ON or OFF (got '${ECOSTAT_MPI}')")
endif()

if(ECOSTAT_WITH_MPI)
  target_link_libraries(ecostat_mpi INTERFACE MPI::MPI_CXX)
  target_compile_definitions(ecostat_mpi INTERFACE ECOSTAT_HAVE_MPI=1)
  message(STATUS "ecostat: MPI scale-out on (MPI ${MPI_CXX_VERSION}, ${MPI_CXX_COMPILER})")
else()
  message(STATUS "ecostat: MPI scale-out off (ECOSTAT_MPI=${ECOSTAT_MPI}; Debian: libopenmpi-dev or libmpich-dev)")
endif()
