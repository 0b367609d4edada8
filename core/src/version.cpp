// The build's version and commit, from the header cmake/EcostatVersion.cmake generates.
#include "ecostat/version.hpp"

#include "ecostat_version.h"

namespace ecostat {

const char* version() { return ECOSTAT_VERSION; }
const char* commit() { return ECOSTAT_COMMIT; }

}  // namespace ecostat
