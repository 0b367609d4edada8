# Parquet input (docs/input-formats.md, "Parquet"). ECOSTAT_PARQUET = AUTO | ON | OFF:
#   AUTO  reads Parquet when python3 with pyarrow (its Arrow C++ headers, libarrow and
#         libparquet) is found; otherwise the stub.
#   ON    the same, but not finding them is a configure error.
#   OFF   the stub: a Parquet input is an error saying this build has no Parquet support.
# The reader (host/src/parquet_stream.cpp, with parquet_dictionary.cpp and recycling_pool.cpp) is the only code that
# sees Arrow headers, compiled as C++20 (Arrow C++ needs it; the rest stays C++17) in an object library
# whose objects join ecostat_lib, like the CUDA objects. libarrow and libparquet are linked
# by the full path of the wheel's versioned files (the wheel has no unversioned .so), as
# private dependencies of ecostat_lib: the package exports them for static consumers, and
# libecostat.so and bin/ecostat find them through their RPATH (the wheel's directory).
# Override the search with -DECOSTAT_ARROW_INCLUDE_DIR=... -DECOSTAT_ARROW_LIBRARY=...
# -DECOSTAT_PARQUET_LIBRARY=... (another Arrow C++ install; tested with 26), or pick the interpreter with
# -DPython3_EXECUTABLE=....
# Included by the top CMakeLists.txt after EcostatPackage (it extends ECOSTAT_INSTALL_RPATH and
# ecostat_shared's RPATH) and before cli/. Sets ECOSTAT_PARQUET_ENABLED.
include_guard(GLOBAL)

set(ECOSTAT_PARQUET AUTO CACHE STRING "Read Parquet input through pyarrow's Arrow C++: AUTO (when found), ON, OFF")
set_property(CACHE ECOSTAT_PARQUET PROPERTY STRINGS AUTO ON OFF)

# The versioned shared library lib<name>.so.<N> in one of `dirs` (the wheel ships no
# unversioned symlink; a system install's plain lib<name>.so is taken as well).
function(_ecostat_find_arrow_library out name dirs)
  foreach(dir IN LISTS dirs)
    file(GLOB candidates "${dir}/lib${name}.so" "${dir}/lib${name}.so.*")
    foreach(file IN LISTS candidates)
      get_filename_component(base "${file}" NAME)
      if(base MATCHES "^lib${name}\\.so(\\.[0-9]+)?$")
        set(${out} "${file}" PARENT_SCOPE)
        return()
      endif()
    endforeach()
  endforeach()
  set(${out} "" PARENT_SCOPE)
endfunction()

# Fills ECOSTAT_ARROW_INCLUDE_DIR, ECOSTAT_ARROW_LIBRARY and ECOSTAT_PARQUET_LIBRARY from
# pyarrow (unless already set); <why> says what is missing, empty when all were found.
function(_ecostat_find_pyarrow why)
  if(ECOSTAT_ARROW_INCLUDE_DIR AND ECOSTAT_ARROW_LIBRARY AND ECOSTAT_PARQUET_LIBRARY)
    set(${why} "" PARENT_SCOPE)
    return()
  endif()
  find_package(Python3 COMPONENTS Interpreter QUIET)
  if(NOT Python3_Interpreter_FOUND)
    set(${why} "no python3 found" PARENT_SCOPE)
    return()
  endif()
  execute_process(
    COMMAND "${Python3_EXECUTABLE}" -c
      "import pyarrow; print(pyarrow.__version__); print(pyarrow.get_include()); print(';'.join(pyarrow.get_library_dirs()))"
    OUTPUT_VARIABLE out ERROR_QUIET RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    set(${why} "${Python3_EXECUTABLE} has no pyarrow (python3 -m pip install pyarrow)" PARENT_SCOPE)
    return()
  endif()
  string(REPLACE "\n" ";" lines "${out}")
  list(GET lines 0 version)
  list(GET lines 1 include_dir)
  list(SUBLIST lines 2 -1 library_dirs)
  _ecostat_find_arrow_library(arrow arrow "${library_dirs}")
  _ecostat_find_arrow_library(parquet parquet "${library_dirs}")
  if(NOT EXISTS "${include_dir}/parquet/arrow/reader.h" OR NOT arrow OR NOT parquet)
    set(${why} "pyarrow ${version} has no Arrow C++ headers or libarrow/libparquet in ${library_dirs}" PARENT_SCOPE)
    return()
  endif()
  set(ECOSTAT_ARROW_INCLUDE_DIR "${include_dir}" CACHE PATH "Arrow C++ headers (pyarrow.get_include())")
  set(ECOSTAT_ARROW_LIBRARY "${arrow}" CACHE FILEPATH "libarrow (from pyarrow.get_library_dirs())")
  set(ECOSTAT_PARQUET_LIBRARY "${parquet}" CACHE FILEPATH "libparquet (from pyarrow.get_library_dirs())")
  set(ECOSTAT_PYARROW_VERSION "${version}" CACHE INTERNAL "")
  set(${why} "" PARENT_SCOPE)
endfunction()

string(TOUPPER "${ECOSTAT_PARQUET}" _ecostat_parquet_mode)
set(ECOSTAT_PARQUET_ENABLED OFF)
if(_ecostat_parquet_mode MATCHES "^(OFF|FALSE|0|NO)$")
  message(STATUS "Parquet input: off (ECOSTAT_PARQUET=${ECOSTAT_PARQUET})")
else()
  _ecostat_find_pyarrow(_ecostat_parquet_missing)
  if(NOT _ecostat_parquet_missing STREQUAL "")
    if(NOT _ecostat_parquet_mode STREQUAL "AUTO")
      message(FATAL_ERROR "ECOSTAT_PARQUET=${ECOSTAT_PARQUET} but Arrow C++ was not found: ${_ecostat_parquet_missing}. "
                          "Install pyarrow for the python3 CMake finds (or set Python3_EXECUTABLE), "
                          "or configure with -DECOSTAT_PARQUET=OFF.")
    endif()
    message(STATUS "Parquet input: off (AUTO): ${_ecostat_parquet_missing}")
  else()
    set(ECOSTAT_PARQUET_ENABLED ON)
  endif()
endif()

if(NOT ECOSTAT_PARQUET_ENABLED)
  target_sources(ecostat_lib PRIVATE ${PROJECT_SOURCE_DIR}/host/src/parquet_stub.cpp)
  return()
endif()

add_library(ecostat_parquet_objects OBJECT ${PROJECT_SOURCE_DIR}/host/src/parquet_stream.cpp
  ${PROJECT_SOURCE_DIR}/host/src/parquet_dictionary.cpp ${PROJECT_SOURCE_DIR}/host/src/recycling_pool.cpp)
set_target_properties(ecostat_parquet_objects PROPERTIES
  CXX_STANDARD 20
  CXX_STANDARD_REQUIRED ON
  CXX_EXTENSIONS OFF
  POSITION_INDEPENDENT_CODE ON)
target_include_directories(ecostat_parquet_objects PRIVATE
  ${PROJECT_SOURCE_DIR}/core/include ${PROJECT_SOURCE_DIR}/host/include)
# SYSTEM: Arrow's own warnings are not ours to fix.
target_include_directories(ecostat_parquet_objects SYSTEM PRIVATE ${ECOSTAT_ARROW_INCLUDE_DIR})
target_compile_options(ecostat_parquet_objects PRIVATE -Wall -Wextra)

target_sources(ecostat_lib PRIVATE $<TARGET_OBJECTS:ecostat_parquet_objects>)
target_link_libraries(ecostat_lib PRIVATE ${ECOSTAT_PARQUET_LIBRARY} ${ECOSTAT_ARROW_LIBRARY})
target_compile_definitions(ecostat_lib PRIVATE ECOSTAT_WITH_PARQUET=1)

# Installed binaries find the wheel's libraries where they are (the build tree's RPATH already
# names them: CMake adds the directory of every library linked by path).
get_filename_component(_ecostat_arrow_dir "${ECOSTAT_ARROW_LIBRARY}" DIRECTORY)
get_filename_component(_ecostat_parquet_dir "${ECOSTAT_PARQUET_LIBRARY}" DIRECTORY)
list(APPEND ECOSTAT_INSTALL_RPATH ${_ecostat_arrow_dir} ${_ecostat_parquet_dir})
list(REMOVE_DUPLICATES ECOSTAT_INSTALL_RPATH)
if(TARGET ecostat_shared)
  set_property(TARGET ecostat_shared APPEND PROPERTY INSTALL_RPATH ${_ecostat_arrow_dir} ${_ecostat_parquet_dir})
endif()
set(_ecostat_parquet_from "${ECOSTAT_ARROW_LIBRARY}")
if(ECOSTAT_PYARROW_VERSION)
  set(_ecostat_parquet_from "pyarrow ${ECOSTAT_PYARROW_VERSION}: ${ECOSTAT_ARROW_LIBRARY}")
endif()
message(STATUS "Parquet input: on (${_ecostat_parquet_from})")
