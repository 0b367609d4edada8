# EcostatPackage.cmake: the library as others use it (docs/library.md). Included by the top
# CMakeLists.txt once ecostat_lib exists; ecostat_package_files() runs at its end.
#
# - ecostat_lib (static, PIC, output libecostat.a) is the library every in-tree target links.
# - ecostat_shared (libecostat.so.<VERSION>, SONAME libecostat.so.<SOVERSION>) is that archive
#   linked whole (--whole-archive): nothing is compiled twice, and whatever the kernels/ and
#   data/ directories add to ecostat_lib (CUDA/HIP objects, the embedded sample, the stubs, their
#   link dependencies) is in both. Built when ECOSTAT_BUILD_SHARED or BUILD_SHARED_LIBS is on.
# - Names, the same in-tree (add_subdirectory/FetchContent) and installed (find_package):
#   ecostat::ecostat_static, ecostat::ecostat_shared, and ecostat::ecostat: in-tree the shared
#   library with BUILD_SHARED_LIBS, else the static one; installed, the shared one unless
#   COMPONENTS static is asked for (cmake/ecostatConfig.cmake.in).
# - Installed (ECOSTAT_INSTALL): both libraries, the public headers (core/include/ecostat,
#   host/include/ecostat/host, the generated ecostat/version_number.hpp), the CMake package in
#   <libdir>/cmake/ecostat and <libdir>/pkgconfig/ecostat.pc. cli/ installs bin/ecostat.
include_guard(GLOBAL)
include(CMakePackageConfigHelpers)

# 0.x releases may break the ABI at every minor version: the SONAME carries major.minor until 1.0.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(ECOSTAT_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  set(_ecostat_compatibility SameMinorVersion)
else()
  set(ECOSTAT_SOVERSION ${PROJECT_VERSION_MAJOR})
  set(_ecostat_compatibility SameMajorVersion)
endif()

# ecostat/version_number.hpp: the version as macros, for the installed headers (version.hpp
# includes it). Written at configure time: it changes only with project(VERSION).
configure_file(${CMAKE_CURRENT_LIST_DIR}/version_number.hpp.in
               ${PROJECT_BINARY_DIR}/include/ecostat/version_number.hpp @ONLY)

set_target_properties(ecostat_lib PROPERTIES EXPORT_NAME ecostat_static)
add_library(ecostat::ecostat_static ALIAS ecostat_lib)

if(BUILD_SHARED_LIBS)
  set(ECOSTAT_BUILD_SHARED ON)
endif()
if(ECOSTAT_BUILD_SHARED)
  add_library(ecostat_shared SHARED ${CMAKE_CURRENT_LIST_DIR}/ecostat_shared.cpp)
  set_target_properties(ecostat_shared PROPERTIES
    OUTPUT_NAME ecostat
    EXPORT_NAME ecostat_shared
    VERSION ${PROJECT_VERSION}
    SOVERSION ${ECOSTAT_SOVERSION})
  # The whole archive, so that no object is dropped for being unreferenced; its own link
  # dependencies (Threads, the CUDA/HIP runtimes, ...) follow it into the link, and stay private.
  target_link_libraries(ecostat_shared PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,ecostat_lib>"
                                       PUBLIC Threads::Threads)
  # Every symbol resolved at link time: a missing dependency is a build error, not a load error.
  target_link_options(ecostat_shared PRIVATE LINKER:--no-undefined)
  target_include_directories(ecostat_shared PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/core/include>
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/host/include>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  add_library(ecostat::ecostat_shared ALIAS ecostat_shared)
endif()

if(BUILD_SHARED_LIBS)
  add_library(ecostat::ecostat ALIAS ecostat_shared)
else()
  add_library(ecostat::ecostat ALIAS ecostat_lib)
endif()

# An installed program finds the library next to it: $ORIGIN/../lib (the relative path from
# bindir to libdir). For bin/ecostat built with BUILD_SHARED_LIBS.
file(RELATIVE_PATH _ecostat_bin_to_lib ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_LIBDIR})
set(ECOSTAT_INSTALL_RPATH "$ORIGIN/${_ecostat_bin_to_lib}")

set(ECOSTAT_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ecostat)
if(ECOSTAT_INSTALL)
  set(_ecostat_targets ecostat_lib)
  if(ECOSTAT_BUILD_SHARED)
    list(APPEND _ecostat_targets ecostat_shared)
  endif()
  install(TARGETS ${_ecostat_targets} EXPORT ecostatTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Development
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  # Public headers: every header under core/include/ecostat (detail/ included: public headers
  # use it) and host/include/ecostat/host (the readers, the sample, the generator).
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/core/include/ecostat ${PROJECT_SOURCE_DIR}/host/include/ecostat
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")
  install(FILES ${PROJECT_BINARY_DIR}/include/ecostat/version_number.hpp
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ecostat)
  install(EXPORT ecostatTargets NAMESPACE ecostat:: DESTINATION ${ECOSTAT_CMAKE_INSTALL_DIR})
endif()

# For one link dependency of the static library (an entry of ecostat_lib's LINK_LIBRARIES),
# appends what its consumers need: to <cmake_var> a find_dependency() line for the package
# config, to <requires_var>/<libs_var> a pkg-config module/flags for ecostat.pc.
function(_ecostat_static_dependency dep cmake_var requires_var libs_var)
  set(cmake_lines ${${cmake_var}})
  set(requires ${${requires_var}})
  set(libs ${${libs_var}})
  if(dep MATCHES "^::@" OR dep MATCHES "^\\$<BUILD_INTERFACE:")
    return()  # directory markers; header-only build-time dependencies
  elseif(dep STREQUAL "Threads::Threads")
    list(APPEND libs -pthread)
  elseif(dep MATCHES "^CUDA::(.*)$")
    set(name ${CMAKE_MATCH_1})
    list(APPEND cmake_lines "  find_dependency(CUDAToolkit)")
    # The target is not visible here (kernels/cuda found it); CUDAToolkit caches the file.
    if(CUDA_${name}_LIBRARY)
      list(APPEND libs ${CUDA_${name}_LIBRARY})
    else()
      list(APPEND libs -l${name})
    endif()
    if(name MATCHES "_static$")
      list(APPEND libs -ldl -lrt -pthread)
    endif()
  elseif(dep STREQUAL "ZLIB::ZLIB")
    list(APPEND cmake_lines "  find_dependency(ZLIB)")
    list(APPEND requires zlib)
  elseif(dep MATCHES "^zstd::")
    list(APPEND cmake_lines "  find_dependency(zstd)")
    list(APPEND requires libzstd)
  elseif(TARGET ${dep})
    # Any other imported target (e.g. PkgConfig::X): recreated in the package config from the
    # files it names here, so the installed package does not need the same find module.
    get_target_property(location ${dep} IMPORTED_LOCATION)
    get_target_property(interface ${dep} INTERFACE_LINK_LIBRARIES)
    set(files "")
    foreach(item IN ITEMS ${location} ${interface})
      if(item AND NOT item MATCHES "-NOTFOUND$")
        list(APPEND files ${item})
      endif()
    endforeach()
    list(JOIN files " " files_text)
    list(APPEND cmake_lines
      "  if(NOT TARGET ${dep})"
      "    add_library(${dep} INTERFACE IMPORTED)"
      "    set_target_properties(${dep} PROPERTIES INTERFACE_LINK_LIBRARIES \"${files}\")"
      "  endif()")
    list(APPEND libs ${files})
  elseif(IS_ABSOLUTE "${dep}")
    list(APPEND libs ${dep})  # a library file, e.g. the HIP runtime: the export names it as is
  elseif(dep MATCHES "^-")
    list(APPEND libs ${dep})
  elseif(dep MATCHES "^[A-Za-z0-9_.+-]+$")
    list(APPEND libs -l${dep})
  else()
    message(WARNING "ecostat package: no rule for the link dependency '${dep}' of ecostat_lib "
                    "(cmake/EcostatPackage.cmake): static consumers of the installed package may not link")
  endif()
  set(${cmake_var} ${cmake_lines} PARENT_SCOPE)
  set(${requires_var} ${requires} PARENT_SCOPE)
  set(${libs_var} ${libs} PARENT_SCOPE)
endfunction()

# Writes ecostatConfig.cmake, ecostatConfigVersion.cmake and ecostat.pc and installs them.
# Called at the end of the top CMakeLists.txt, when every directory has added its sources and
# link dependencies to ecostat_lib and said which backends are compiled in.
function(ecostat_package_files)
  if(NOT ECOSTAT_INSTALL)
    return()
  endif()
  set(ECOSTAT_PACKAGE_BACKENDS cpu)
  if(ECOSTAT_CUDA_ENABLED)
    list(APPEND ECOSTAT_PACKAGE_BACKENDS cuda)
  endif()
  if(ECOSTAT_HIP_ENABLED)
    list(APPEND ECOSTAT_PACKAGE_BACKENDS hip)
  endif()
  list(JOIN ECOSTAT_PACKAGE_BACKENDS ", " ECOSTAT_PACKAGE_BACKENDS_TEXT)

  set(cmake_lines "")
  set(requires "")
  set(libs "")
  get_target_property(deps ecostat_lib LINK_LIBRARIES)
  foreach(dep IN LISTS deps)
    _ecostat_static_dependency("${dep}" cmake_lines requires libs)
  endforeach()
  list(REMOVE_DUPLICATES cmake_lines)
  list(REMOVE_DUPLICATES requires)
  list(REMOVE_DUPLICATES libs)
  if(NOT cmake_lines)
    set(cmake_lines "  # none beyond Threads")
  endif()
  list(JOIN cmake_lines "\n" ECOSTAT_PACKAGE_STATIC_DEPENDENCIES)
  list(JOIN requires " " ECOSTAT_PC_REQUIRES_PRIVATE)
  list(JOIN libs " " ECOSTAT_PC_LIBS_PRIVATE)
  if(ECOSTAT_BUILD_SHARED)
    set(ECOSTAT_BUILD_SHARED ON)
  else()
    set(ECOSTAT_BUILD_SHARED OFF)
  endif()

  set(dir ${PROJECT_BINARY_DIR}/package)
  configure_package_config_file(${CMAKE_CURRENT_FUNCTION_LIST_DIR}/ecostatConfig.cmake.in
    ${dir}/ecostatConfig.cmake INSTALL_DESTINATION ${ECOSTAT_CMAKE_INSTALL_DIR})
  write_basic_package_version_file(${dir}/ecostatConfigVersion.cmake
    VERSION ${PROJECT_VERSION} COMPATIBILITY ${_ecostat_compatibility})
  install(FILES ${dir}/ecostatConfig.cmake ${dir}/ecostatConfigVersion.cmake
          DESTINATION ${ECOSTAT_CMAKE_INSTALL_DIR})

  # pkg-config: paths relative to the .pc file unless the install dirs are absolute.
  set(pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
    set(ECOSTAT_PC_PREFIX_FROM_PCDIR "")
    set(ECOSTAT_PC_LIBDIR ${CMAKE_INSTALL_FULL_LIBDIR})
    set(ECOSTAT_PC_INCLUDEDIR ${CMAKE_INSTALL_FULL_INCLUDEDIR})
  else()
    file(RELATIVE_PATH ECOSTAT_PC_PREFIX_FROM_PCDIR /prefix/${pc_dir} /prefix)
    string(REGEX REPLACE "/$" "" ECOSTAT_PC_PREFIX_FROM_PCDIR "${ECOSTAT_PC_PREFIX_FROM_PCDIR}")
    set(ECOSTAT_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
    set(ECOSTAT_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
  endif()
  configure_file(${CMAKE_CURRENT_FUNCTION_LIST_DIR}/ecostat.pc.in ${dir}/ecostat.pc @ONLY)
  install(FILES ${dir}/ecostat.pc DESTINATION ${pc_dir})
endfunction()
