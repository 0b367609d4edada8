# EcostatHip.cmake: find a HIP toolchain and compile HIP translation units with hipcc.
#
# Why not enable_language(HIP): CMake 3.25's HIP language looks for the hip-lang CMake package,
# which Debian's hipcc 5.2 does not ship. Driving hipcc through add_custom_command works with the
# stock CMake, with Debian's packages and with a full ROCm install (/opt/rocm) alike. The object
# hipcc writes holds the host code (clang, libstdc++, the same Itanium ABI as g++) plus an
# offload bundle with one AMD code object per architecture; it is linked into ecostat_lib like
# any other object, with libamdhip64.
#
#   ecostat_hip_detect(<out_var>)   resolves ECOSTAT_HIP (AUTO|ON|OFF) into ON/OFF
#   ecostat_hip_compile(OUTPUT <obj> SOURCE <src> [INCLUDE_DIRECTORIES ...] [DEFINITIONS ...])
#                                   a custom command building <obj> for every architecture
#
# Cache variables (all can be set on the cmake command line):
#   ECOSTAT_HIPCC                    the hipcc driver
#   ECOSTAT_HIP_RUNTIME_LIBRARY      libamdhip64
#   ECOSTAT_HIP_ARCHITECTURES        gfx targets, e.g. "gfx90a;gfx1030" or "gfx90a;gfx942"
#   ECOSTAT_HIP_FLAGS                extra hipcc flags (e.g. -parallel-jobs=2)
include_guard(GLOBAL)

set(_ecostat_rocm_hints $ENV{ROCM_PATH} $ENV{HIP_PATH} /opt/rocm)

find_program(ECOSTAT_HIPCC NAMES hipcc
  HINTS ${_ecostat_rocm_hints} PATH_SUFFIXES bin
  DOC "The hipcc compiler driver used for the HIP backend")
find_library(ECOSTAT_HIP_RUNTIME_LIBRARY NAMES amdhip64
  HINTS ${_ecostat_rocm_hints} PATH_SUFFIXES lib lib64
  DOC "The HIP runtime library (libamdhip64)")
find_path(ECOSTAT_ROCPRIM_INCLUDE_DIR NAMES rocprim/rocprim.hpp
  HINTS ${_ecostat_rocm_hints} PATH_SUFFIXES include
  DOC "Where rocprim/rocprim.hpp lives")

# Debian's clang 15 + rocm-device-libs 5.2 build gfx90a (MI200, wave64) and gfx1030 (RDNA2,
# wave32); not gfx942 (MI300), which needs ROCm >= 6 (see docs/hip-backend.md).
set(ECOSTAT_HIP_ARCHITECTURES "gfx90a;gfx1030" CACHE STRING
  "AMD GPU architectures the HIP backend is compiled for (';'-separated gfx targets)")
set(ECOSTAT_HIP_FLAGS "" CACHE STRING "Extra flags for hipcc (';'- or space-separated)")

# Compiles a tiny kernel that uses rocPRIM for every requested architecture, once per
# (hipcc, architectures, flags); a success is cached. Sets <out_var> to TRUE/FALSE and
# <why_var> to a one-line reason on failure.
function(_ecostat_hip_try_compile out_var why_var)
  set(key "${ECOSTAT_HIPCC}|${ECOSTAT_HIP_ARCHITECTURES}|${ECOSTAT_HIP_FLAGS}")
  # Only a success is reused: after a failure the next configure tries again (a package may
  # have been installed since).
  if(DEFINED ECOSTAT_HIP_PROBE_KEY AND ECOSTAT_HIP_PROBE_KEY STREQUAL key AND ECOSTAT_HIP_PROBE_OK)
    set(${out_var} ${ECOSTAT_HIP_PROBE_OK} PARENT_SCOPE)
    set(${why_var} "${ECOSTAT_HIP_PROBE_WHY}" PARENT_SCOPE)
    return()
  endif()
  set(dir ${CMAKE_BINARY_DIR}/CMakeFiles/ecostat_hip_toolchain)
  file(MAKE_DIRECTORY ${dir})
  file(WRITE ${dir}/probe.hip.cpp [=[
#include <hip/hip_runtime.h>
#include <rocprim/rocprim.hpp>
__global__ void ecostat_probe_kernel(unsigned* p) { p[threadIdx.x] = warpSize; }
int main() { return 0; }
]=])
  set(arch_flags "")
  foreach(arch IN LISTS ECOSTAT_HIP_ARCHITECTURES)
    list(APPEND arch_flags --offload-arch=${arch})
  endforeach()
  separate_arguments(extra UNIX_COMMAND "${ECOSTAT_HIP_FLAGS}")
  execute_process(
    COMMAND ${ECOSTAT_HIPCC} -std=c++17 ${arch_flags} ${extra} -x hip -c probe.hip.cpp -o probe.o
    WORKING_DIRECTORY ${dir}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(rc EQUAL 0)
    set(ok TRUE)
    set(why "")
  else()
    set(ok FALSE)
    string(REGEX MATCH "error:[^\n]*" why "${out}")
    if(NOT why)
      set(why "hipcc exited with ${rc}")
    endif()
    file(WRITE ${dir}/probe.log "${out}")
  endif()
  set(ECOSTAT_HIP_PROBE_KEY "${key}" CACHE INTERNAL "")
  set(ECOSTAT_HIP_PROBE_OK ${ok} CACHE INTERNAL "")
  set(ECOSTAT_HIP_PROBE_WHY "${why}" CACHE INTERNAL "")
  set(${out_var} ${ok} PARENT_SCOPE)
  set(${why_var} "${why}" PARENT_SCOPE)
endfunction()

function(ecostat_hip_detect out_var)
  string(TOUPPER "${ECOSTAT_HIP}" mode)
  if(mode STREQUAL "OFF" OR mode STREQUAL "FALSE" OR mode STREQUAL "0" OR mode STREQUAL "NO")
    message(STATUS "HIP backend: off (ECOSTAT_HIP=${ECOSTAT_HIP})")
    set(${out_var} OFF PARENT_SCOPE)
    return()
  endif()
  set(required FALSE)
  if(NOT mode STREQUAL "AUTO")
    set(required TRUE)  # ON, TRUE, 1, YES
  endif()
  set(missing "")
  if(NOT ECOSTAT_HIPCC)
    list(APPEND missing "hipcc")
  endif()
  if(NOT ECOSTAT_HIP_RUNTIME_LIBRARY)
    list(APPEND missing "libamdhip64")
  endif()
  if(NOT ECOSTAT_ROCPRIM_INCLUDE_DIR)
    list(APPEND missing "rocPRIM headers")
  endif()
  if(NOT ECOSTAT_HIP_ARCHITECTURES)
    list(APPEND missing "ECOSTAT_HIP_ARCHITECTURES (empty)")
  endif()
  if(missing)
    list(JOIN missing ", " missing)
    set(why "not found: ${missing} (scripts/install-hip-deps.sh installs Debian's packages)")
  else()
    _ecostat_hip_try_compile(ok why)
    if(ok)
      message(STATUS "HIP backend: on, ${ECOSTAT_HIPCC} for ${ECOSTAT_HIP_ARCHITECTURES}")
      set(${out_var} ON PARENT_SCOPE)
      return()
    endif()
    set(why "hipcc cannot build ${ECOSTAT_HIP_ARCHITECTURES}: ${why} (log: ${CMAKE_BINARY_DIR}/CMakeFiles/ecostat_hip_toolchain/probe.log)")
  endif()
  if(required)
    message(FATAL_ERROR "ECOSTAT_HIP=${ECOSTAT_HIP} but the HIP backend cannot be built: ${why}")
  endif()
  message(STATUS "HIP backend: off (AUTO): ${why}")
  set(${out_var} OFF PARENT_SCOPE)
endfunction()

# ecostat_hip_compile(OUTPUT obj SOURCE src [INCLUDE_DIRECTORIES dirs...] [DEFINITIONS defs...])
# A custom command: hipcc -c src -o obj for every architecture in ECOSTAT_HIP_ARCHITECTURES,
# position independent (the object may go into a shared library), with a depfile so that
# editing any header it includes rebuilds it.
function(ecostat_hip_compile)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "OUTPUT;SOURCE" "INCLUDE_DIRECTORIES;DEFINITIONS")
  get_filename_component(src ${arg_SOURCE} ABSOLUTE)
  set(obj ${arg_OUTPUT})
  set(flags -std=c++17 -fPIC -Wall -Wextra)
  foreach(arch IN LISTS ECOSTAT_HIP_ARCHITECTURES)
    list(APPEND flags --offload-arch=${arch})
  endforeach()
  foreach(dir IN LISTS arg_INCLUDE_DIRECTORIES)
    # A system folder given with -I would reorder the system headers (#include_next breaks).
    if(NOT dir STREQUAL "/usr/include" AND NOT dir STREQUAL "/usr/local/include")
      list(APPEND flags -I${dir})
    endif()
  endforeach()
  foreach(def IN LISTS arg_DEFINITIONS)
    list(APPEND flags -D${def})
  endforeach()
  separate_arguments(extra UNIX_COMMAND "${ECOSTAT_HIP_FLAGS}")
  # Optimisation follows the build type, as the CXX flags do.
  set(config_flags
    "$<$<CONFIG:Debug>:-O0>" "$<$<CONFIG:Debug,RelWithDebInfo>:-g>"
    "$<$<CONFIG:Release>:-O3>" "$<$<CONFIG:RelWithDebInfo>:-O2>" "$<$<CONFIG:MinSizeRel>:-Os>"
    "$<$<NOT:$<CONFIG:Debug>>:-DNDEBUG>")
  get_filename_component(obj_name ${obj} NAME)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${ECOSTAT_HIPCC} ${flags} ${config_flags} ${extra}
            -MD -MT ${obj} -MF ${obj}.d -x hip -c ${src} -o ${obj}
    DEPENDS ${src}
    DEPFILE ${obj}.d
    COMMAND_EXPAND_LISTS
    VERBATIM
    COMMENT "hipcc ${obj_name} (${ECOSTAT_HIP_ARCHITECTURES})")
endfunction()
