// The thread pool when the system refuses threads, and the backend choice from ECOSTAT_BACKEND.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <cstdlib>
#include <numeric>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "ecostat/backend.hpp"
#include "ecostat/detail/thread_pool.hpp"
#include "ecostat/errors.hpp"

using ecostat::detail::ThreadPool;

namespace {

// Starts `allowed` threads, then fails as pthread_create does at a thread or memory limit.
ThreadPool::Spawner failing_after(unsigned allowed) {
  auto started = std::make_shared<unsigned>(0);
  return [started, allowed](std::function<void()> body) {
    if (*started >= allowed) throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again));
    ++*started;
    return std::thread(std::move(body));
  };
}

uint64_t parallel_sum(ThreadPool& pool, size_t n) {
  std::vector<uint64_t> part(n);
  pool.run(n, [&](size_t i, unsigned w) {
    REQUIRE(w < pool.size());
    part[i] = i;
  });
  return std::accumulate(part.begin(), part.end(), uint64_t(0));
}

}  // namespace

TEST_CASE("ThreadPool runs with the threads it got when the system refuses more", "[thread_pool]") {
  ThreadPool pool(64, failing_after(3));
  CHECK(pool.requested() == 64);
  CHECK(pool.size() == 4);  // the caller and the 3 started
  for (int round = 0; round < 20; ++round) CHECK(parallel_sum(pool, 10000) == 10000ull * 9999 / 2);
}

TEST_CASE("ThreadPool refused every thread runs on the calling thread", "[thread_pool]") {
  ThreadPool pool(8, failing_after(0));
  CHECK(pool.size() == 1);
  CHECK(parallel_sum(pool, 1000) == 1000ull * 999 / 2);
}

TEST_CASE("ThreadPool gives the threads asked for when the system allows them", "[thread_pool]") {
  ThreadPool pool(4);
  CHECK(pool.size() == 4);
  CHECK(parallel_sum(pool, 5000) == 5000ull * 4999 / 2);
}

namespace {
struct EnvBackend {
  explicit EnvBackend(const char* value) { ::setenv("ECOSTAT_BACKEND", value, 1); }
  ~EnvBackend() { ::unsetenv("ECOSTAT_BACKEND"); }
};
}  // namespace

TEST_CASE("ECOSTAT_BACKEND decides when no backend is named, an unknown one is a usage error", "[backend]") {
  {
    EnvBackend env("bogus");
    CHECK_THROWS_AS(ecostat::select_backend("", 1), ecostat::UsageError);
    CHECK_THROWS_WITH(ecostat::select_backend("", 1), Catch::Contains("ECOSTAT_BACKEND"));
    CHECK(ecostat::select_backend("cpu", 1)->info().name == "cpu");  // a named backend wins
  }
  {
    EnvBackend env("cpu");
    CHECK(ecostat::select_backend("", 2)->info().name == "cpu");
  }
}
