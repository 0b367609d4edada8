// `ecostat bench --stages dictionary_lookup`: the repository-id lookup the downloads readers make
// for every record (Dictionary::find_many, as the chunk parser calls it), alone, and the memory
// floor under it: the rate at which one thread can read random 64-byte lines from a table of the
// dictionary's size. A lookup of ids in random order reads two such lines, one after the other
// (its slot, then the id's bytes the slot points to), so the stage's fraction of that rate says
// how far the lookup is from what the memory allows (docs/benchmarks.md, "Where issue 11's
// targets stand, and why the rest are missed": 25% at 500,000 ids).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ecostat/dictionary.hpp"
#include "ecostat/records.hpp"  // EventBatch

namespace ecostat::host {
class Generator;
}

namespace ecostat::cli {

// Nanoseconds per random 64-byte line read by one thread from a table of `bytes` (allocated as
// the dictionary's tables are: HugePageAllocator), each read issued `ahead` reads after its
// prefetch: the best of `rounds` passes of `reads` reads.
double random_line_ns(size_t bytes, size_t reads, unsigned rounds = 3, size_t ahead = 16);

class DictionaryLookupBench {
 public:
  // The dictionary of every generated model id, and the ids of the first `max_lookups` events
  // in event order, laid end to end in one buffer as a chunk's rows lie in the file.
  DictionaryLookupBench(const host::Generator& gen, const std::vector<EventBatch>& batches, size_t max_lookups);
  // Looks up every id, in blocks of about a 4 MiB chunk's rows.
  void run();
  // Empty when every lookup found the event's unit, else what differed.
  std::string check() const;
  size_t lookups() const { return views_.size(); }
  // Bytes of the dictionary's slots and arena (Dictionary::lookup_bytes).
  size_t table_bytes() const { return ids_.lookup_bytes(); }

 private:
  Dictionary ids_;
  std::string text_;                     // the looked-up ids, end to end
  std::vector<std::string_view> views_;  // into text_
  std::vector<uint32_t> want_, got_;
};

}  // namespace ecostat::cli
