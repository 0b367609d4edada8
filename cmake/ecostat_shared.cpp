// The shared library's own translation unit. Everything else in libecostat.so is the static
// library (ecostat_lib) linked whole: the C++ objects, the embedded sample and the CUDA/HIP
// backend objects are compiled once and go into both (cmake/EcostatPackage.cmake).
#include "ecostat/version_number.hpp"

namespace ecostat::detail {
// The header version this library was built with (also keeps the file from being empty).
extern const char* const shared_library_header_version;
const char* const shared_library_header_version = ECOSTAT_VERSION_STRING;
}  // namespace ecostat::detail
