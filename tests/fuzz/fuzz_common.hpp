// Shared pieces of the reader fuzz targets: a byte source that hands out the input in small,
// irregular chunks (so line and record boundaries fall everywhere), a check that aborts with a
// message (libFuzzer then saves the input), and the exception policy every target enforces.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "ecostat/errors.hpp"
#include "ecostat/host/readers.hpp"
#include "ecostat/host/rejects.hpp"
#include "ecostat/host/source.hpp"

namespace fuzz {

// Aborts (a crash libFuzzer records, with the input) when an invariant does not hold.
#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

// Serves the input in chunks of 1, 7, 64 and 4096 bytes in turn: the readers must not depend
// on where a read() call ends.
class ChunkedSource : public ecostat::host::ByteSource {
 public:
  ChunkedSource(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  size_t read(char* out, size_t n) override {
    static const size_t kChunks[] = {1, 7, 64, 4096};
    size_t take = kChunks[turn_++ % 4];
    if (take > n) take = n;
    if (take > size_ - pos_) take = size_ - pos_;
    if (take) std::memcpy(out, data_ + pos_, take);
    pos_ += take;
    return take;
  }
  const std::string& name() const override { return name_; }
  size_t size_hint() const override { return size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  size_t turn_ = 0;
  std::string name_ = "fuzz-input";
};

// Limits small enough that the fuzzer reaches the "line too long" and "record too long" paths,
// and duplicate download rows rejected rather than counted.
inline ecostat::host::ReadOptions small_limits() {
  ecostat::host::ReadOptions o;
  o.max_line = 200;
  o.max_record = 600;
  o.progress_every = 64;
  o.duplicates = ecostat::host::DuplicatePolicy::reject;  // download rows: the stricter policy
  return o;
}

// Progress calls must move forward and stay within the input.
struct ProgressCheck {
  uint64_t last = 0;
  void operator()(uint64_t done, uint64_t total) {
    FUZZ_CHECK(done >= last);
    FUZZ_CHECK(total == 0 || done <= total);
    last = done;
  }
};

// The outcome of one read: the stats when it returned, or that it threw the documented
// InputError. Any other exception is a bug: reported and aborted on here.
struct Outcome {
  bool threw_input_error = false;
  ecostat::host::ReadStats stats;
  uint64_t logged_rejects = 0;
};

template <class ReadFn>
Outcome run_read(bool strict, ReadFn&& read) {
  Outcome out;
  ecostat::host::RejectLog rejects(strict);
  try {
    out.stats = read(rejects);
  } catch (const ecostat::InputError&) {
    out.threw_input_error = true;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "undocumented exception escaped a reader (%s): %s\n", strict ? "strict" : "lenient",
                 e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "a non-std exception escaped a reader\n");
    std::abort();
  }
  out.logged_rejects = rejects.total();
  return out;
}

// The invariants every reader promises (docs/input-formats.md): each record read is accepted
// or rejected, every rejection is in the log, and --strict fails exactly when a lenient run
// would have rejected something.
inline void check_reconciles(const Outcome& lenient, const Outcome& strict) {
  if (!lenient.threw_input_error) {
    const auto& s = lenient.stats;
    FUZZ_CHECK(s.read == s.accepted + s.rejected);
    FUZZ_CHECK(lenient.logged_rejects == s.rejected);
  }
  if (!strict.threw_input_error) {
    const auto& s = strict.stats;
    FUZZ_CHECK(s.read == s.accepted + s.rejected);
    FUZZ_CHECK(s.rejected == 0);
    FUZZ_CHECK(strict.logged_rejects == 0);
    // Strict and lenient read the same records when nothing is rejected.
    FUZZ_CHECK(!lenient.threw_input_error);
    FUZZ_CHECK(lenient.stats.rejected == 0);
    FUZZ_CHECK(lenient.stats.read == s.read && lenient.stats.accepted == s.accepted);
  } else {
    // Strict throws only for what a lenient run rejects, or for a whole-file error.
    FUZZ_CHECK(lenient.threw_input_error || lenient.stats.rejected > 0);
  }
}

// The entry point every reader's target shares: read the input lenient and strict, with the
// default limits and with small ones; each lenient/strict pair must reconcile.
// read_once(strict, options) reads `data` once and returns its Outcome.
template <class ReadOnce>
void check_all_modes(ReadOnce read_once) {
  for (const ecostat::host::ReadOptions& options : {ecostat::host::ReadOptions{}, small_limits()})
    check_reconciles(read_once(false, options), read_once(true, options));
}

}  // namespace fuzz
