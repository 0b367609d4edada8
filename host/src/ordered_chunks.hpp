// Parsing threads that run ahead of one applying thread: text[begin, end) is cut at line ends
// into chunks of about `chunk` bytes, `threads` threads parse them (each into its own Result),
// and the caller takes the parsed chunks in text order while later ones are still being parsed.
// The repository JSON Lines reader uses it, so that its single writer (duplicate ids, exact
// sums, one dictionary) overlaps the parse instead of waiting for each wave of it. The
// downloads readers' RowsInOrder (download_chunks.hpp) runs the same scheme, plus no lookup while
// its applier inserts into the dictionary the parsers read and a stop at a record spanning
// lines; it could be moved onto this class. Internal to host/.
#pragma once
#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "mapped_file.hpp"

namespace ecostat::host::detail {

template <class Result>
class OrderedChunks {
 public:
  // parse(first, last, out) fills *out from text[first, last); out holds the result of an earlier
  // chunk (to reuse its memory), which parse must replace. It runs on the parsing threads only.
  using ParseFn = std::function<void(size_t first, size_t last, Result* out)>;

  // threads 0: no parsing threads; next() parses each chunk on the calling thread (one thread
  // then reads the text in the same chunks, with the same per-chunk work around them).
  OrderedChunks(const char* text, size_t begin, size_t end, size_t chunk, unsigned threads, ParseFn parse)
      : text_(text), end_(end), chunk_(chunk), next_begin_(begin), parse_(std::move(parse)),
        slots_(threads == 0 ? 1 : 2 * size_t(threads) + 2), inline_(threads == 0) {
    for (int i = int(slots_.size()) - 1; i >= 0; --i) free_.push_back(i);
    try {
      for (unsigned t = 0; t < threads; ++t) threads_.emplace_back([this] { parser_loop(); });
    } catch (...) {  // a thread that could not start: stop those that did
      stop();
      throw;
    }
  }
  // Stops the parsing threads (the caller may leave early, by an exception).
  ~OrderedChunks() { stop(); }
  OrderedChunks(const OrderedChunks&) = delete;
  OrderedChunks& operator=(const OrderedChunks&) = delete;

  // The next chunk in text order once it is parsed: its range and result, valid until the next
  // call. False when the text is done. A parse that threw rethrows here, in its chunk's turn.
  bool next(size_t* first, size_t* last, Result** result) {
    if (inline_) return next_inline(first, last, result);
    std::unique_lock<std::mutex> lock(mutex_);
    if (held_ >= 0) {  // the chunk handed out last time is done with: its slot is free again
      free_.push_back(held_);
      held_ = -1;
      changed_.notify_all();
    }
    changed_.wait(lock, [&] {
      return (!in_order_.empty() && slots_[size_t(in_order_.front())].ready) ||
             (in_order_.empty() && (next_begin_ >= end_ || failed_));
    });
    if (in_order_.empty()) return false;
    held_ = in_order_.front();
    in_order_.pop_front();
    Slot& slot = slots_[size_t(held_)];
    if (slot.error) std::rethrow_exception(slot.error);
    *first = slot.first, *last = slot.last, *result = &slot.result;
    return true;
  }

 private:
  struct Slot {
    Result result;
    size_t first = 0, last = 0;
    bool ready = false;
    std::exception_ptr error;
  };

  // next() without parsing threads: the one slot, cut and parsed here (a throw reaches the caller).
  bool next_inline(size_t* first, size_t* last, Result** result) {
    if (next_begin_ >= end_) return false;
    Slot& slot = slots_[0];
    slot.first = next_begin_;
    slot.last = chunk_end(text_, end_, next_begin_, chunk_);
    next_begin_ = slot.last;
    parse_(slot.first, slot.last, &slot.result);
    *first = slot.first, *last = slot.last, *result = &slot.result;
    return true;
  }

  void parser_loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      changed_.wait(lock, [&] { return stopping_ || failed_ || next_begin_ >= end_ || !free_.empty(); });
      if (stopping_ || failed_ || next_begin_ >= end_) return;
      const int i = free_.back();
      free_.pop_back();
      Slot& slot = slots_[size_t(i)];
      slot.first = next_begin_;
      slot.last = chunk_end(text_, end_, next_begin_, chunk_);
      slot.ready = false;
      slot.error = nullptr;
      next_begin_ = slot.last;
      in_order_.push_back(i);
      lock.unlock();
      try {
        parse_(slot.first, slot.last, &slot.result);
      } catch (...) {
        slot.error = std::current_exception();
      }
      lock.lock();
      slot.ready = true;
      if (slot.error) failed_ = true;  // nothing after it is wanted
      changed_.notify_all();
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  const char* const text_;
  const size_t end_, chunk_;
  size_t next_begin_;  // of the next chunk to cut
  const ParseFn parse_;
  std::vector<Slot> slots_;
  std::deque<int> in_order_;  // slots cut and not yet handed out, in text order
  std::vector<int> free_;     // slots to cut into
  int held_ = -1;             // the slot handed out by the last next()
  bool stopping_ = false, failed_ = false;
  const bool inline_;  // no parsing threads: next() parses
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable changed_;
};

}  // namespace ecostat::host::detail
