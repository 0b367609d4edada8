// The ecostat version (project(VERSION) in CMakeLists.txt) and the git commit it was built
// from ("unknown" when built outside a git checkout).
#pragma once

namespace ecostat {

const char* version();
const char* commit();

}  // namespace ecostat
