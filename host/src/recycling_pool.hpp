// An Arrow memory pool that hands the large buffers one Parquet row group freed to the next.
//
// Why: a row group's column buffers are tens of MB each (five of 34-64 MB for a 1M-row group of
// download records). The C library's allocator maps and unmaps the larger ones (past its mmap
// threshold, at most 32 MB); Arrow's default pool (mimalloc) purges them. Either way every row
// group faults in fresh pages that the kernel zeroes: a downloads-only run over 2x10^7 records
// mapped 9.2 GB in maps of 1 MiB or more (4.2 GB with this pool), and page zeroing was 23% of its
// samples (9%). docs/benchmarks.md, "Parquet buffers kept for the next row group".
//
// How: buffers of kLargeBytes or more are kept on free, while at least one reader is attached,
// up to keep_bytes; an allocation takes the smallest kept block that holds it and wastes at most
// half of it. Smaller buffers go straight to the base pool. A block is never shared: it is kept
// only once it is freed. When the last reader detaches, the kept blocks go back to the base pool,
// and the buffers freed after that (batches a consumer still holds) go straight back too.
#pragma once

#include <arrow/memory_pool.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace ecostat::host::detail {

class RecyclingPool final : public arrow::MemoryPool {
 public:
  static constexpr int64_t kLargeBytes = int64_t(1) << 20;

  RecyclingPool(arrow::MemoryPool* base, int64_t keep_bytes) : base_(base), keep_bytes_(keep_bytes) {}
  ~RecyclingPool() override;
  RecyclingPool(const RecyclingPool&) = delete;
  RecyclingPool& operator=(const RecyclingPool&) = delete;

  arrow::Status Allocate(int64_t size, int64_t alignment, uint8_t** out) override;
  arrow::Status Reallocate(int64_t old_size, int64_t new_size, int64_t alignment, uint8_t** ptr) override;
  void Free(uint8_t* buffer, int64_t size, int64_t alignment) override;
  void ReleaseUnused() override;

  int64_t bytes_allocated() const override;
  int64_t max_memory() const override;
  int64_t total_bytes_allocated() const override;
  int64_t num_allocations() const override;
  std::string backend_name() const override { return "recycling(" + base_->backend_name() + ")"; }

  // A reader starts (blocks freed from now on are kept) or ends (the last one's end releases them).
  void attach();
  void detach();

  int64_t kept_bytes() const;
  int64_t reused() const;  // allocations served by a kept block

 private:
  struct Block {
    uint8_t* data;
    int64_t capacity;  // the size the base pool allocated
    int64_t alignment;
    int64_t size;      // handed out: the size asked (counted in bytes_allocated)
  };

  arrow::Status allocate_large(int64_t size, int64_t alignment, uint8_t** out);
  void free_large(std::unique_lock<std::mutex> lock, uint8_t* buffer);
  void count_allocation(int64_t size);
  void count_small(int64_t change, int64_t added);
  static int64_t size_class(int64_t size);
  void release_kept(std::vector<Block>* out);

  arrow::MemoryPool* const base_;
  const int64_t keep_bytes_;
  mutable std::mutex mutex_;
  // Large buffers handed out, by address: their capacity (a kept block may be larger than asked).
  std::unordered_map<uint8_t*, Block> live_;
  std::vector<Block> kept_;  // oldest first
  int64_t kept_bytes_ = 0;
  int readers_ = 0;
  int64_t bytes_ = 0, total_ = 0, allocations_ = 0, reused_ = 0;  // large buffers
  std::atomic<int64_t> small_bytes_{0}, small_total_{0}, small_allocations_{0};  // the others
};

// The pool the Parquet readers use (a process-wide instance over the C library's allocator).
RecyclingPool& parquet_recycling_pool();

}  // namespace ecostat::host::detail
