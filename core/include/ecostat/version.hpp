// The ecostat version (project(VERSION) in CMakeLists.txt) and the git commit it was built
// from ("unknown" when built outside a git checkout).
#pragma once

#include "ecostat/version_number.hpp"  // ECOSTAT_VERSION_MAJOR/MINOR/PATCH/STRING (generated)

namespace ecostat {

const char* version();
const char* commit();

}  // namespace ecostat
