// Shared device code, part 2 (host side): owning wrappers for device and pinned memory,
// streams and events, a small pool of host threads, and staged copies between pageable host
// memory and the device through pinned buffers.
#pragma once
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "dev_common.hpp"

namespace ecostat {
namespace ECOSTAT_DEV_NS {

// Device memory that only grows. reserve_discard(n) keeps the old contents only when no
// reallocation is needed. Freeing first waits for the device (explicitly, whatever the
// runtime's free does), so nothing in flight can still use the old block.
template <class T>
class DeviceArray {
 public:
  DeviceArray() = default;
  explicit DeviceArray(size_t n) { reserve_discard(n); }
  ~DeviceArray() { release(); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  DeviceArray(DeviceArray&& o) noexcept : p_(o.p_), cap_(o.cap_) { o.p_ = nullptr, o.cap_ = 0; }
  DeviceArray& operator=(DeviceArray&& o) noexcept {
    if (this != &o) {
      release();
      p_ = o.p_, cap_ = o.cap_;
      o.p_ = nullptr, o.cap_ = 0;
    }
    return *this;
  }
  T* reserve_discard(size_t n) {
    if (n > cap_) {
      release();
      void* p = nullptr;
      ECOSTAT_CHECK(dev_malloc(&p, n * sizeof(T)));
      p_ = static_cast<T*>(p);
      cap_ = n;
    }
    return p_;
  }
  void release() noexcept {
    if (p_) {
      (void)device_synchronize();
      (void)dev_free(p_);
    }
    p_ = nullptr, cap_ = 0;
  }
  T* data() const { return p_; }
  size_t capacity() const { return cap_; }
  size_t bytes() const { return cap_ * sizeof(T); }

 private:
  T* p_ = nullptr;
  size_t cap_ = 0;
};

// Page-locked host memory (what the copy engines read at full speed).
template <class T>
class PinnedArray {
 public:
  PinnedArray() = default;
  ~PinnedArray() { release(); }
  PinnedArray(const PinnedArray&) = delete;
  PinnedArray& operator=(const PinnedArray&) = delete;
  PinnedArray(PinnedArray&& o) noexcept : p_(o.p_), cap_(o.cap_) { o.p_ = nullptr, o.cap_ = 0; }
  PinnedArray& operator=(PinnedArray&& o) noexcept {
    if (this != &o) {
      release();
      p_ = o.p_, cap_ = o.cap_;
      o.p_ = nullptr, o.cap_ = 0;
    }
    return *this;
  }
  T* reserve_discard(size_t n) {
    if (n > cap_) {
      release();
      void* p = nullptr;
      ECOSTAT_CHECK(host_alloc_pinned(&p, n * sizeof(T)));
      p_ = static_cast<T*>(p);
      cap_ = n;
    }
    return p_;
  }
  void release() noexcept {
    if (p_) {
      (void)device_synchronize();  // no copy in flight reads or writes it
      (void)host_free_pinned(p_);
    }
    p_ = nullptr, cap_ = 0;
  }
  T* data() const { return p_; }
  size_t capacity() const { return cap_; }

 private:
  T* p_ = nullptr;
  size_t cap_ = 0;
};

class Stream {
 public:
  Stream() { ECOSTAT_CHECK(stream_create(&s_)); }
  ~Stream() {
    if (s_) (void)stream_destroy(s_);
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  stream_t get() const { return s_; }
  void sync() const { ECOSTAT_CHECK(stream_synchronize(s_)); }

 private:
  stream_t s_ = nullptr;
};

class Event {
 public:
  explicit Event(bool timed = false) {
    if (timed)
      ECOSTAT_CHECK(event_create_timed(&e_));
    else
      ECOSTAT_CHECK(event_create(&e_));
  }
  ~Event() {
    if (e_) (void)event_destroy(e_);
  }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  event_t get() const { return e_; }
  void record(stream_t s) {
    ECOSTAT_CHECK(event_record(e_, s));
    recorded_ = true;
  }
  // Waits for the last record (returns at once when never recorded).
  void sync() const {
    if (recorded_) ECOSTAT_CHECK(event_synchronize(e_));
  }
  bool recorded() const { return recorded_; }

 private:
  event_t e_ = nullptr;
  bool recorded_ = false;
};

// A persistent pool of host threads: run(n, fn) calls fn(0..n-1) on the workers and the
// calling thread, returns when all are done, and rethrows the first exception.
class HostWorkers {
 public:
  explicit HostWorkers(unsigned threads) : n_(std::max(1u, threads)) {
    for (unsigned w = 1; w < n_; ++w) threads_.emplace_back([this] { loop(); });
  }
  ~HostWorkers() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  HostWorkers(const HostWorkers&) = delete;
  HostWorkers& operator=(const HostWorkers&) = delete;
  unsigned size() const { return n_; }

  void run(size_t n_tasks, const std::function<void(size_t)>& fn) {
    if (n_tasks == 0) return;
    if (n_ == 1 || n_tasks == 1) {
      for (size_t i = 0; i < n_tasks; ++i) fn(i);
      return;
    }
    std::lock_guard<std::mutex> serial(run_m_);
    {
      std::lock_guard<std::mutex> lk(m_);
      fn_ = &fn;
      n_tasks_ = n_tasks;
      next_.store(0);
      error_ = nullptr;
      busy_ = n_ - 1;
      ++generation_;
    }
    cv_.notify_all();
    work();
    std::unique_lock<std::mutex> lk(m_);
    done_.wait(lk, [this] { return busy_ == 0; });
    fn_ = nullptr;
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

  // Copies bytes with several threads when it is large (pageable <-> pinned staging).
  void copy(void* dst, const void* src, size_t bytes) {
    const size_t per = size_t(4) << 20;
    const size_t tasks = std::min<size_t>(n_, std::max<size_t>(1, bytes / per));
    if (tasks <= 1) {
      std::memcpy(dst, src, bytes);
      return;
    }
    run(tasks, [&](size_t t) {
      const size_t b = bytes * t / tasks, e = bytes * (t + 1) / tasks;
      std::memcpy(static_cast<char*>(dst) + b, static_cast<const char*>(src) + b, e - b);
    });
  }

 private:
  void work() {
    for (;;) {
      const size_t i = next_.fetch_add(1);
      if (i >= n_tasks_) return;
      try {
        (*fn_)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lk(m_);
        if (!error_) error_ = std::current_exception();
        next_.store(n_tasks_);
      }
    }
  }
  void loop() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      work();
      {
        std::lock_guard<std::mutex> lk(m_);
        if (--busy_ == 0) done_.notify_all();
      }
    }
  }

  unsigned n_;
  std::vector<std::thread> threads_;
  std::mutex m_, run_m_;
  std::condition_variable cv_, done_;
  const std::function<void(size_t)>* fn_ = nullptr;
  size_t n_tasks_ = 0;
  std::atomic<size_t> next_{0};
  std::exception_ptr error_;
  unsigned busy_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

// Copies between pageable host memory (std::vector) and the device through two pinned
// buffers, so that the host-side memcpy of one piece overlaps the DMA of the other. Small
// copies go straight through the runtime.
class Staging {
 public:
  static constexpr size_t kPiece = size_t(32) << 20;
  static constexpr size_t kDirect = size_t(256) << 10;

  // dst (device) <- src (host). Returns once src may be reused; the copy is ordered on s and
  // stays asynchronous (a copy from pageable memory would make the runtime wait for s first).
  void upload(void* dst, const void* src, size_t bytes, stream_t s, HostWorkers& w) {
    if (bytes == 0) return;
    ensure();
    for (size_t off = 0, i = 0; off < bytes; off += kPiece, ++i) {
      const size_t len = std::min(kPiece, bytes - off), b = i & 1;
      ev_[b].sync();  // the DMA that last read buf_[b] is done
      w.copy(buf_[b].data(), static_cast<const char*>(src) + off, len);
      ECOSTAT_CHECK(memcpy_h2d_async(static_cast<char*>(dst) + off, buf_[b].data(), len, s));
      ev_[b].record(s);
    }
  }
  // dst (host) <- src (device), after the work already queued on s. Synchronous.
  void download(void* dst, const void* src, size_t bytes, stream_t s, HostWorkers& w) {
    if (bytes == 0) return;
    if (bytes <= kDirect) {
      ECOSTAT_CHECK(memcpy_d2h_async(dst, src, bytes, s));
      ECOSTAT_CHECK(stream_synchronize(s));
      return;
    }
    ensure();
    const size_t pieces = div_up(bytes, kPiece);
    auto enqueue = [&](size_t i) {
      const size_t off = i * kPiece, len = std::min(kPiece, bytes - off), b = i & 1;
      ev_[b].sync();  // a previous upload may still read this buffer
      ECOSTAT_CHECK(memcpy_d2h_async(buf_[b].data(), static_cast<const char*>(src) + off, len, s));
      ev_[b].record(s);
    };
    enqueue(0);
    for (size_t i = 0; i < pieces; ++i) {
      if (i + 1 < pieces) enqueue(i + 1);
      const size_t off = i * kPiece, len = std::min(kPiece, bytes - off), b = i & 1;
      ev_[b].sync();
      w.copy(static_cast<char*>(dst) + off, buf_[b].data(), len);
    }
  }

 private:
  void ensure() {
    if (!buf_[0].data()) {
      buf_[0].reserve_discard(kPiece);
      buf_[1].reserve_discard(kPiece);
    }
  }
  PinnedArray<uint8_t> buf_[2];
  Event ev_[2];
};

}  // namespace ECOSTAT_DEV_NS
}  // namespace ecostat
