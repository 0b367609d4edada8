// RecyclingPool (recycling_pool.hpp): large buffers kept on free for the next row group.
#include "recycling_pool.hpp"

#include <algorithm>
#include <cstring>

namespace ecostat::host::detail {

RecyclingPool::~RecyclingPool() { ReleaseUnused(); }

// The capacity a large block is allocated with: `size` rounded up to the next of four steps per
// power of two, so that buffers of nearly the same size (a column of the next row group) fit the
// same block and a buffer grown by a quarter stays in place. The pages past `size` are address
// space only until written.
int64_t RecyclingPool::size_class(int64_t size) {
  if (size > (int64_t(1) << 40)) return size;  // no step past 1 TiB (and no overflow near 2^63)
  int shift = 0;
  while ((int64_t(4) << (shift + 1)) <= size) ++shift;  // 4 << shift <= size < 8 << shift
  const int64_t step = int64_t(1) << shift;
  return (size + step - 1) / step * step;
}

void RecyclingPool::count_allocation(int64_t size) {  // a large buffer, under mutex_
  bytes_ += size;
  total_ += size;
  ++allocations_;
}

void RecyclingPool::count_small(int64_t change, int64_t added) {
  small_bytes_ += change;
  small_total_ += added;
  ++small_allocations_;
}

arrow::Status RecyclingPool::Allocate(int64_t size, int64_t alignment, uint8_t** out) {
  if (size >= kLargeBytes) return allocate_large(size, alignment, out);
  ARROW_RETURN_NOT_OK(base_->Allocate(size, alignment, out));
  count_small(size, size);
  return arrow::Status::OK();
}

arrow::Status RecyclingPool::allocate_large(int64_t size, int64_t alignment, uint8_t** out) {
  {
    std::lock_guard lock(mutex_);
    // The smallest kept block that holds `size` and is at most half unused.
    size_t best = kept_.size();
    for (size_t i = 0; i < kept_.size(); ++i) {
      const Block& b = kept_[i];
      if (b.alignment != alignment || b.capacity < size || b.capacity - size > size / 2) continue;
      if (best == kept_.size() || b.capacity < kept_[best].capacity) best = i;
    }
    if (best < kept_.size()) {
      Block b = kept_[best];
      kept_.erase(kept_.begin() + static_cast<std::ptrdiff_t>(best));
      kept_bytes_ -= b.capacity;
      b.size = size;
      live_.emplace(b.data, b);
      ++reused_;
      count_allocation(size);
      *out = b.data;
      return arrow::Status::OK();
    }
  }
  uint8_t* p = nullptr;
  const int64_t capacity = size_class(size);
  ARROW_RETURN_NOT_OK(base_->Allocate(capacity, alignment, &p));
  std::lock_guard lock(mutex_);
  live_.emplace(p, Block{p, capacity, alignment, size});
  count_allocation(size);
  *out = p;
  return arrow::Status::OK();
}

// `buffer` must be in live_ (the caller checked, under the same lock).
void RecyclingPool::free_large(std::unique_lock<std::mutex> lock, uint8_t* buffer) {
  std::vector<Block> evicted;
  {
    const auto it = live_.find(buffer);
    const Block b = it->second;
    live_.erase(it);
    bytes_ -= b.size;
    if (readers_ > 0 && b.capacity <= keep_bytes_) {
      kept_.push_back(b);
      kept_bytes_ += b.capacity;
      while (kept_bytes_ > keep_bytes_) {
        kept_bytes_ -= kept_.front().capacity;
        evicted.push_back(kept_.front());
        kept_.erase(kept_.begin());
      }
    } else {
      evicted.push_back(b);
    }
  }
  lock.unlock();
  for (const Block& b : evicted) base_->Free(b.data, b.capacity, b.alignment);
}

void RecyclingPool::Free(uint8_t* buffer, int64_t size, int64_t alignment) {
  if (size < kLargeBytes) {
    base_->Free(buffer, size, alignment);
    small_bytes_ -= size;
    return;
  }
  std::unique_lock lock(mutex_);
  if (live_.count(buffer) == 0) {  // not ours (cannot happen through Arrow's buffers): the base's
    lock.unlock();
    return base_->Free(buffer, size, alignment);
  }
  free_large(std::move(lock), buffer);
}

arrow::Status RecyclingPool::Reallocate(int64_t old_size, int64_t new_size, int64_t alignment, uint8_t** ptr) {
  if (old_size < kLargeBytes && new_size < kLargeBytes) {
    ARROW_RETURN_NOT_OK(base_->Reallocate(old_size, new_size, alignment, ptr));
    count_small(new_size - old_size, std::max<int64_t>(new_size - old_size, 0));
    return arrow::Status::OK();
  }
  if (old_size >= kLargeBytes && new_size >= kLargeBytes) {
    std::lock_guard lock(mutex_);
    const auto it = live_.find(*ptr);
    if (it != live_.end() && new_size <= it->second.capacity) {  // in place: the block holds it
      bytes_ += new_size - it->second.size;
      it->second.size = new_size;
      return arrow::Status::OK();
    }
  }
  // Moves between the small and large paths, or out of a block too small: allocate, copy, free.
  uint8_t* moved = nullptr;
  ARROW_RETURN_NOT_OK(Allocate(new_size, alignment, &moved));
  std::memcpy(moved, *ptr, static_cast<size_t>(std::min(old_size, new_size)));
  Free(*ptr, old_size, alignment);
  *ptr = moved;
  return arrow::Status::OK();
}

void RecyclingPool::release_kept(std::vector<Block>* out) {
  out->insert(out->end(), kept_.begin(), kept_.end());
  kept_.clear();
  kept_bytes_ = 0;
}

void RecyclingPool::ReleaseUnused() {
  std::vector<Block> released;
  {
    std::lock_guard lock(mutex_);
    release_kept(&released);
  }
  for (const Block& b : released) base_->Free(b.data, b.capacity, b.alignment);
  base_->ReleaseUnused();
}

void RecyclingPool::attach() {
  std::lock_guard lock(mutex_);
  ++readers_;
}

void RecyclingPool::detach() {
  std::vector<Block> released;
  {
    std::lock_guard lock(mutex_);
    if (--readers_ == 0) release_kept(&released);
  }
  for (const Block& b : released) base_->Free(b.data, b.capacity, b.alignment);
}

int64_t RecyclingPool::bytes_allocated() const {
  std::lock_guard lock(mutex_);
  return bytes_ + small_bytes_;
}

int64_t RecyclingPool::max_memory() const { return -1; }  // not tracked across both paths

int64_t RecyclingPool::total_bytes_allocated() const {
  std::lock_guard lock(mutex_);
  return total_ + small_total_;
}

int64_t RecyclingPool::num_allocations() const {
  std::lock_guard lock(mutex_);
  return allocations_ + small_allocations_;
}

int64_t RecyclingPool::kept_bytes() const {
  std::lock_guard lock(mutex_);
  return kept_bytes_;
}

int64_t RecyclingPool::reused() const {
  std::lock_guard lock(mutex_);
  return reused_;
}

RecyclingPool& parquet_recycling_pool() {
  // Up to 1 GiB kept: a few row groups' buffers. Never destroyed: a consumer may free a batch's
  // buffers at any time, even during exit.
  static RecyclingPool* const pool = new RecyclingPool(arrow::system_memory_pool(), int64_t(1) << 30);
  return *pool;
}

}  // namespace ecostat::host::detail
