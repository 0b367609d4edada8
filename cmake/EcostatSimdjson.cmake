# The JSON Lines repository reader's fast path through simdjson's On-Demand API
# (host/src/repo_json_fast.cpp; docs/input-formats.md). ECOSTAT_SIMDJSON = AUTO | ON | OFF:
#   AUTO  uses simdjson when its CMake package (Debian: libsimdjson-dev) or pkg-config module
#         is found; otherwise every record goes through the nlohmann DOM path (same results).
#   ON    the same, but not finding it is a configure error.
#   OFF   the DOM path only.
# Include BEFORE EcostatParquet: pyarrow's libparquet/libarrow export their own, newer copy of
# five simdjson symbols; linked first, libsimdjson is where the dynamic linker binds this
# file's calls (repo_json_fast.cpp also checks the binding at run time and stays off if not).
# simdjson is a private dependency of ecostat_lib, linked by the full path of its library file
# so that the installed package (cmake/EcostatPackage.cmake) names the file for static
# consumers. Included by the top CMakeLists.txt once ecostat_lib exists. Sets
# ECOSTAT_SIMDJSON_ENABLED.
include_guard(GLOBAL)

set(ECOSTAT_SIMDJSON AUTO CACHE STRING "Parse repository JSON Lines with simdjson: AUTO (when found), ON, OFF")
set_property(CACHE ECOSTAT_SIMDJSON PROPERTY STRINGS AUTO ON OFF)

target_sources(ecostat_lib PRIVATE ${PROJECT_SOURCE_DIR}/host/src/repo_json_fast.cpp)
set(ECOSTAT_SIMDJSON_ENABLED OFF)

# Fills ECOSTAT_SIMDJSON_INCLUDE_DIR, ECOSTAT_SIMDJSON_LIBRARY and ECOSTAT_SIMDJSON_DEFINITIONS
# from simdjson's CMake package, else from pkg-config.
function(_ecostat_find_simdjson)
  find_package(simdjson CONFIG QUIET)
  if(TARGET simdjson::simdjson)
    get_target_property(location simdjson::simdjson LOCATION)  # the imported file, any configuration
    get_target_property(include simdjson::simdjson INTERFACE_INCLUDE_DIRECTORIES)
    get_target_property(defs simdjson::simdjson INTERFACE_COMPILE_DEFINITIONS)
    if(location AND include)
      if(NOT defs)
        set(defs "")
      endif()
      set(ECOSTAT_SIMDJSON_LIBRARY "${location}" PARENT_SCOPE)
      set(ECOSTAT_SIMDJSON_INCLUDE_DIR "${include}" PARENT_SCOPE)
      set(ECOSTAT_SIMDJSON_DEFINITIONS "${defs}" PARENT_SCOPE)
      set(ECOSTAT_SIMDJSON_VERSION "${simdjson_VERSION}" PARENT_SCOPE)
      return()
    endif()
  endif()
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(_ecostat_sj QUIET simdjson)
    if(_ecostat_sj_FOUND)
      find_library(lib NAMES simdjson HINTS ${_ecostat_sj_LIBRARY_DIRS} NO_CACHE)
      set(defs "")
      foreach(flag IN LISTS _ecostat_sj_CFLAGS_OTHER)
        if(flag MATCHES "^-D(.*)$")
          list(APPEND defs ${CMAKE_MATCH_1})
        endif()
      endforeach()
      if(lib)
        set(ECOSTAT_SIMDJSON_LIBRARY "${lib}" PARENT_SCOPE)
        set(ECOSTAT_SIMDJSON_INCLUDE_DIR "${_ecostat_sj_INCLUDE_DIRS}" PARENT_SCOPE)
        set(ECOSTAT_SIMDJSON_DEFINITIONS "${defs}" PARENT_SCOPE)
        set(ECOSTAT_SIMDJSON_VERSION "${_ecostat_sj_VERSION}" PARENT_SCOPE)
      endif()
    endif()
  endif()
endfunction()

string(TOUPPER "${ECOSTAT_SIMDJSON}" _ecostat_simdjson_mode)
if(_ecostat_simdjson_mode MATCHES "^(OFF|FALSE|0|NO)$")
  message(STATUS "simdjson JSON Lines fast path: off (ECOSTAT_SIMDJSON=${ECOSTAT_SIMDJSON})")
else()
  _ecostat_find_simdjson()
  if(ECOSTAT_SIMDJSON_LIBRARY)
    set(ECOSTAT_SIMDJSON_ENABLED ON)
    message(STATUS "simdjson JSON Lines fast path: on (simdjson ${ECOSTAT_SIMDJSON_VERSION}, ${ECOSTAT_SIMDJSON_LIBRARY})")
  elseif(_ecostat_simdjson_mode MATCHES "^(ON|TRUE|1|YES)$")
    message(FATAL_ERROR "ECOSTAT_SIMDJSON=ON but simdjson was not found (Debian: apt-get install libsimdjson-dev)")
  else()
    message(STATUS "simdjson JSON Lines fast path: off (simdjson not found; Debian: libsimdjson-dev)")
  endif()
endif()

if(ECOSTAT_SIMDJSON_ENABLED)
  # Only the fast path's translation unit sees simdjson's headers and definitions.
  set_property(SOURCE ${PROJECT_SOURCE_DIR}/host/src/repo_json_fast.cpp TARGET_DIRECTORY ecostat_lib APPEND PROPERTY
               COMPILE_DEFINITIONS ECOSTAT_HAVE_SIMDJSON=1 ${ECOSTAT_SIMDJSON_DEFINITIONS})
  # The compiler's own directories (/usr/include) stay out: -I/usr/include breaks #include_next.
  set(_ecostat_sj_includes ${ECOSTAT_SIMDJSON_INCLUDE_DIR})
  list(REMOVE_ITEM _ecostat_sj_includes ${CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES})
  if(_ecostat_sj_includes)
    set_property(SOURCE ${PROJECT_SOURCE_DIR}/host/src/repo_json_fast.cpp TARGET_DIRECTORY ecostat_lib APPEND PROPERTY
                 INCLUDE_DIRECTORIES ${_ecostat_sj_includes})
  endif()
  target_link_libraries(ecostat_lib PRIVATE ${ECOSTAT_SIMDJSON_LIBRARY})
endif()
