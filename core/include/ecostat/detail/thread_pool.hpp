// A small persistent thread pool (the CPU backend's workers, and the GPU backends' host-side
// packing and staging threads): run(n_tasks, fn) hands task indices
// 0..n_tasks-1 to the pool's workers (the calling thread is worker 0) and returns when every
// task is done. The first exception thrown by a task is rethrown by run() once all workers
// have stopped. Calls from several threads are serialised; a call from inside a task runs
// its tasks inline on the calling worker (no deadlock, no oversubscription).
// When the system refuses a thread (std::system_error: thread or memory limits) the pool runs
// with the threads it got; size() tells how many, requested() how many were asked for.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace ecostat::detail {

class ThreadPool {
 public:
  using Task = std::function<void(size_t task, unsigned worker)>;
  // Starts one worker thread; tests pass one that fails to simulate a system limit.
  using Spawner = std::function<std::thread(std::function<void()> body)>;

  explicit ThreadPool(unsigned threads, const Spawner& spawn = {}) : requested_(threads == 0 ? 1 : threads) {
    workers_.reserve(requested_ - 1);
    for (unsigned w = 1; w < requested_; ++w) {
      std::function<void()> body = [this, w] { loop(w); };
      try {
        workers_.push_back(spawn ? spawn(std::move(body)) : std::thread(std::move(body)));
      } catch (const std::system_error&) {
        break;  // no more threads to be had: run with those already started
      }
    }
    n_ = 1 + static_cast<unsigned>(workers_.size());
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  unsigned size() const { return n_; }            // threads working, the caller's included
  unsigned requested() const { return requested_; }

  void run(size_t n_tasks, const Task& fn) {
    if (n_tasks == 0) return;
    if (n_ == 1 || n_tasks == 1 || in_task_) {  // inline: single thread, single task or nested
      unsigned w = in_task_ ? current_worker_ : 0;
      for (size_t i = 0; i < n_tasks; ++i) fn(i, w);
      return;
    }
    std::lock_guard<std::mutex> serial(run_m_);
    {
      std::lock_guard<std::mutex> lk(m_);
      fn_ = &fn;
      n_tasks_ = n_tasks;
      next_.store(0, std::memory_order_relaxed);
      error_ = nullptr;
      busy_ = n_ - 1;
      ++generation_;
    }
    cv_.notify_all();
    work(0);
    std::unique_lock<std::mutex> lk(m_);
    done_cv_.wait(lk, [this] { return busy_ == 0; });
    fn_ = nullptr;
    if (error_) {
      std::exception_ptr e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);
    }
  }

 private:
  void work(unsigned w) {
    in_task_ = true;
    current_worker_ = w;
    for (;;) {
      size_t i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= n_tasks_) break;
      try {
        (*fn_)(i, w);
      } catch (...) {
        std::lock_guard<std::mutex> lk(m_);
        if (!error_) error_ = std::current_exception();
        next_.store(n_tasks_, std::memory_order_relaxed);  // stop handing out tasks
      }
    }
    in_task_ = false;
  }
  void loop(unsigned w) {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      work(w);
      {
        std::lock_guard<std::mutex> lk(m_);
        if (--busy_ == 0) done_cv_.notify_one();
      }
    }
  }

  unsigned requested_, n_ = 1;
  std::vector<std::thread> workers_;
  std::mutex m_, run_m_;
  std::condition_variable cv_, done_cv_;
  const Task* fn_ = nullptr;
  size_t n_tasks_ = 0;
  std::atomic<size_t> next_{0};
  std::exception_ptr error_;
  unsigned busy_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  static inline thread_local bool in_task_ = false;
  static inline thread_local unsigned current_worker_ = 0;
};

}  // namespace ecostat::detail
