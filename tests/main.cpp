#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "support/temp_files.hpp"

namespace {

// A failed test case keeps the files it wrote (support/temp_files.hpp) for inspection.
struct KeepFilesOfFailedTests : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testCaseEnded(const Catch::TestCaseStats& stats) override {
    if (stats.totals.assertions.failed > 0) ecostat::test::TempDirs::instance().keep();
    TestEventListenerBase::testCaseEnded(stats);
  }
};

}  // namespace

CATCH_REGISTER_LISTENER(KeepFilesOfFailedTests)
