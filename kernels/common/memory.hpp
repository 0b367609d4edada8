// Shared device code, part 2 (host side): owning wrappers for device and pinned memory,
// streams and events, a small pool of host threads, and staged copies between pageable host
// memory and the device through pinned buffers.
#pragma once
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <string>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "dev_common.hpp"
#include "ecostat/detail/thread_pool.hpp"

namespace ecostat {
namespace ECOSTAT_DEV_NS {

#ifndef ECOSTAT_DEV_OWN_STREAM_ORDERED_MEMORY
// Whether the current device has stream-ordered memory pools: enable_memory_pool (the backend's
// device_config.hpp) is asked once per device, and its answer kept (two threads deciding at once
// decide alike). A device that cannot be asked takes the synchronous path.
inline bool stream_ordered_memory() {
  constexpr int kMaxDevices = 64;
  static std::atomic<int> decided[kMaxDevices] = {};  // 0 unknown, 1 pools, 2 no pools
  int d = 0;
  if (get_device(&d) != kSuccess || d < 0 || d >= kMaxDevices) {
    (void)get_last_error();
    return false;
  }
  int v = decided[d].load();
  if (v == 0) {
    v = enable_memory_pool(d) ? 1 : 2;
    decided[d].store(v);
  }
  return v == 1;
}
#endif

// The device memory this process holds through DeviceMemory (every device allocation of the
// backend goes through it), and the cap ECOSTAT_DEVICE_MEMORY_LIMIT puts on it (bytes; a K, M
// or G suffix multiplies by 2^10, 2^20, 2^30; unset or 0: no cap). The cap is read at every
// allocation, so tests can set it between calls; it is how "the device is full" is tested
// without a full device.
struct DeviceMemoryBudget {
  static std::atomic<size_t>& held() {
    static std::atomic<size_t> b{0};
    return b;
  }
  static size_t limit() {
    const char* e = std::getenv("ECOSTAT_DEVICE_MEMORY_LIMIT");
    if (!e || !*e) return 0;
    char* end = nullptr;
    size_t v = std::strtoull(e, &end, 10);
    if (end && (*end == 'K' || *end == 'k')) v <<= 10;
    if (end && (*end == 'M' || *end == 'm')) v <<= 20;
    if (end && (*end == 'G' || *end == 'g')) v <<= 30;
    return v;
  }
};

// An allocation that failed, or would pass the cap, throws ecostat::DeviceOutOfMemoryError saying what
// was asked, what this process holds and what the device (or the cap) leaves free.
[[noreturn]] inline void throw_out_of_memory(size_t asked, size_t limit, const char* file, int line) {
  size_t free_b = 0, total_b = 0;
  const bool known = mem_get_info(&free_b, &total_b) == kSuccess;
  (void)get_last_error();
  std::string m = "out of device memory: asked " + std::to_string(asked) + " bytes, this process holds " +
                  std::to_string(DeviceMemoryBudget::held().load()) + " bytes";
  if (limit) m += " of ECOSTAT_DEVICE_MEMORY_LIMIT=" + std::to_string(limit);
  if (known) m += "; the device reports " + std::to_string(free_b) + " of " + std::to_string(total_b) + " bytes free";
  throw DeviceOutOfMemoryError(ECOSTAT_DEV_BACKEND, ECOSTAT_DEV_API_PREFIX "Malloc", file, line, m);
}

// Where an OwnedArray's memory comes from: device memory, or page-locked host memory (what the
// copy engines read at full speed). Each checks its own call, so errors name it.
//
// Device memory is stream-ordered when the array has a stream and the device has memory pools
// (stream_ordered_memory(), decided once per device): the block is allocated on that stream and
// its free is queued there (dev_free_async), so a free waits for nothing: the work queued on the
// stream before it still sees the block, and the pool hands the block out again afterwards.
// Without a stream, or on a device without pools, the free waits for the whole device
// (device_synchronize) and then frees, as before. `ordered` says which path an allocation took;
// its release must take the same one.
struct DeviceMemory {
  static void* allocate(size_t bytes, stream_t s, bool* ordered) {
    const size_t limit = DeviceMemoryBudget::limit();
    if (limit && DeviceMemoryBudget::held().load() + bytes > limit) throw_out_of_memory(bytes, limit, __FILE__, __LINE__);
    *ordered = s != nullptr && stream_ordered_memory();
    void* p = nullptr;
    if (!try_allocate(&p, bytes, s, *ordered)) {
      if (!*ordered) throw_out_of_memory(bytes, limit, __FILE__, __LINE__);
      // The pool keeps freed blocks (its release threshold is "never") and may not reuse a block
      // freed on another stream yet: wait for the device, give the unused blocks back, retry once.
      (void)device_synchronize();
      (void)trim_memory_pool();
      (void)get_last_error();
      if (!try_allocate(&p, bytes, s, true)) throw_out_of_memory(bytes, limit, __FILE__, __LINE__);
    }
    DeviceMemoryBudget::held() += bytes;
    return p;
  }
  // s: the stream of a stream-ordered block, nullptr for the synchronous path. The bytes count as
  // released as soon as the free is queued.
  static void release(void* p, size_t bytes, stream_t s) noexcept {
    if (s) {
      (void)dev_free_async(p, s);
    } else {
      (void)device_synchronize();  // nothing in flight may still read or write the block
      (void)dev_free(p);
    }
    DeviceMemoryBudget::held() -= bytes;
  }

 private:
  static bool try_allocate(void** p, size_t bytes, stream_t s, bool ordered) {
    *p = nullptr;
    const dev_error_t e = ordered ? dev_malloc_async(p, bytes, s) : dev_malloc(p, bytes);
    if (e == kSuccess) return true;
    (void)get_last_error();
    return false;
  }
};
// Pinned host memory is freed after waiting for the device: the runtime's pinned free
// synchronises anyway, and these buffers (staging, the accumulator's ring) are long-lived.
struct PinnedHostMemory {
  static void* allocate(size_t bytes, stream_t, bool* ordered) {
    *ordered = false;
    void* p = nullptr;
    ECOSTAT_CHECK(host_alloc_pinned(&p, bytes));
    return p;
  }
  static void release(void* p, size_t, stream_t) noexcept {
    (void)device_synchronize();
    (void)host_free_pinned(p);
  }
};

// Memory that only grows. reserve_discard(n) keeps the old contents only when no
// reallocation is needed.
//
// The stream rule (device memory): an array with a stream (the constructor's, or set_stream)
// is allocated on it and freed on it, stream-ordered, with no device-wide wait. Its owner must
// make sure that every use of the block on another stream is ordered before the free, i.e. that
// the array's stream waits (stream_wait_event) for the other stream's last use, and that work on
// another stream starts only after the allocation (an event recorded on the array's stream
// after reserve_discard). An array without a stream frees after device_synchronize().
template <class T, class Memory>
class OwnedArray {
 public:
  OwnedArray() = default;
  explicit OwnedArray(size_t n, stream_t s = nullptr) : s_(s) { reserve_discard(n); }
  ~OwnedArray() { release(); }
  OwnedArray(const OwnedArray&) = delete;
  OwnedArray& operator=(const OwnedArray&) = delete;
  OwnedArray(OwnedArray&& o) noexcept : p_(o.p_), cap_(o.cap_), s_(o.s_), ordered_(o.ordered_) {
    o.p_ = nullptr, o.cap_ = 0, o.ordered_ = false;
  }
  OwnedArray& operator=(OwnedArray&& o) noexcept {
    if (this != &o) {
      release();
      p_ = o.p_, cap_ = o.cap_, s_ = o.s_, ordered_ = o.ordered_;
      o.p_ = nullptr, o.cap_ = 0, o.ordered_ = false;
    }
    return *this;
  }
  // The stream the next allocation and every later free are queued on. Changing it while the
  // array holds memory is allowed once the new stream is ordered after every use on the old
  // one (it waits for an event recorded there after the last use).
  void set_stream(stream_t s) { s_ = s; }
  stream_t stream() const { return s_; }
  T* reserve_discard(size_t n) {
    if (n > cap_) {
      release();
      p_ = static_cast<T*>(Memory::allocate(n * sizeof(T), s_, &ordered_));
      cap_ = n;
    }
    return p_;
  }
  void release() noexcept {
    if (p_) Memory::release(p_, cap_ * sizeof(T), ordered_ ? s_ : nullptr);
    p_ = nullptr, cap_ = 0, ordered_ = false;
  }
  T* data() const { return p_; }
  size_t capacity() const { return cap_; }
  size_t bytes() const { return cap_ * sizeof(T); }

 private:
  T* p_ = nullptr;
  size_t cap_ = 0;
  stream_t s_ = nullptr;
  bool ordered_ = false;  // allocated on s_ from the pool: freed there
};

template <class T>
using DeviceArray = OwnedArray<T, DeviceMemory>;
template <class T>
using PinnedArray = OwnedArray<T, PinnedHostMemory>;

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

// The host threads that pack and stage batches: the project's thread pool, plus the
// single-index run() the device code uses and a multi-threaded copy.
class HostWorkers : public ::ecostat::detail::ThreadPool {
 public:
  explicit HostWorkers(unsigned threads) : ::ecostat::detail::ThreadPool(std::max(1u, threads)) {}

  void run(size_t n_tasks, const std::function<void(size_t)>& fn) {
    ::ecostat::detail::ThreadPool::run(n_tasks, [&fn](size_t task, unsigned) { fn(task); });
  }

  // Copies bytes with several threads when it is large (pageable <-> pinned staging).
  void copy(void* dst, const void* src, size_t bytes) {
    const size_t per = size_t(4) << 20;
    const size_t tasks = std::min<size_t>(size(), std::max<size_t>(1, bytes / per));
    if (tasks <= 1) {
      std::memcpy(dst, src, bytes);
      return;
    }
    run(tasks, [&](size_t t) {
      const size_t b = bytes * t / tasks, e = bytes * (t + 1) / tasks;
      std::memcpy(static_cast<char*>(dst) + b, static_cast<const char*>(src) + b, e - b);
    });
  }
};

// Copies between pageable host memory (std::vector) and the device through two pinned
// buffers, so that the host-side memcpy of one piece overlaps the DMA of the other. The buffers
// take turns across calls too, so that back-to-back uploads (a graph's three arrays) overlap as
// well. Small downloads go straight through the runtime.
class Staging {
 public:
  static constexpr size_t kPiece = size_t(32) << 20;     // the pinned buffers' size
  static constexpr size_t kMinPiece = size_t(4) << 20;
  static constexpr size_t kDirect = size_t(256) << 10;

  // The pieces of a copy of `total` bytes: a quarter of it, between 4 MB and 32 MB, so that a
  // copy of a few MB (2.2M u64 values: 17 MB) is four pieces whose host copies and DMAs overlap,
  // not one piece copied and then sent.
  static size_t piece_for(size_t total) {
    constexpr size_t kAlign = size_t(64) << 10;
    const size_t quarter = (total / 4 + kAlign - 1) / kAlign * kAlign;
    return std::min(kPiece, std::max(kMinPiece, quarter));
  }

  // dst (device) <- src (host). Returns once src may be reused; the copy is ordered on s and
  // stays asynchronous (a copy from pageable memory would make the runtime wait for s first).
  void upload(void* dst, const void* src, size_t bytes, stream_t s, HostWorkers& w) {
    if (bytes == 0) return;
    ensure();
    const size_t piece = piece_for(bytes);
    for (size_t off = 0; off < bytes; off += piece) {
      const size_t len = std::min(piece, bytes - off), b = turn_++ & 1;
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
    download_all({Transfer{dst, src, bytes}}, s, w);
  }
  // Several downloads in one pipeline (a month table's months, a result's arrays): the DMA of
  // the next piece, which may belong to the next transfer, overlaps the host copy of this one,
  // where one download() per transfer would wait for each DMA in turn. Synchronous.
  struct Transfer {
    void* dst;
    const void* src;
    size_t bytes;
  };
  void download_all(const std::vector<Transfer>& transfers, stream_t s, HostWorkers& w) {
    struct Piece {
      char* dst;
      const char* src;
      size_t len;
    };
    size_t total = 0;
    for (const Transfer& t : transfers) total += t.bytes;
    const size_t piece = piece_for(total);
    std::vector<Piece> pieces;
    for (const Transfer& t : transfers)
      for (size_t off = 0; off < t.bytes; off += piece)
        pieces.push_back({static_cast<char*>(t.dst) + off, static_cast<const char*>(t.src) + off,
                          std::min(piece, t.bytes - off)});
    if (pieces.empty()) return;
    ensure();
    const size_t first = turn_;  // piece i uses buffer (first + i) & 1
    turn_ += pieces.size();
    auto enqueue = [&](size_t i) {
      const size_t b = (first + i) & 1;
      ev_[b].sync();  // a previous upload may still read this buffer
      ECOSTAT_CHECK(memcpy_d2h_async(buf_[b].data(), pieces[i].src, pieces[i].len, s));
      ev_[b].record(s);
    };
    enqueue(0);
    for (size_t i = 0; i < pieces.size(); ++i) {
      if (i + 1 < pieces.size()) enqueue(i + 1);
      const size_t b = (first + i) & 1;
      ev_[b].sync();
      w.copy(pieces[i].dst, buf_[b].data(), pieces[i].len);
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
  size_t turn_ = 0;  // the next piece's buffer is turn_ & 1
};

}  // namespace ECOSTAT_DEV_NS
}  // namespace ecostat
