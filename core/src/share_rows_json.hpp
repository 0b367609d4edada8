// The rows of the results document's share tables as JSON text: millions of rows, about 100
// bytes each, so they are formatted with precomputed separators into one buffer instead of
// through JsonStream's per-value bookkeeping, in slices on several threads. Each row is one
// line, nlohmann's compact dump of the row object, where the pretty dump would start the
// element; with indent < 0 the bytes are exactly the compact dump's.
#pragma once
#include <cstddef>
#include <string>

#include "ecostat/detail/thread_pool.hpp"
#include "ecostat/engine.hpp"
#include "json_stream.hpp"

namespace ecostat::detail {

// Rows per slice: about 400 KB of text, so that a slice is still in the cache of the thread that
// formatted it when that thread writes it, and a task's overhead is still nothing. A table of
// at most this many rows is one slice, which no second thread helps.
constexpr size_t kShareRowsPerSlice = size_t(1) << 12;

// Writes t.rows as the elements of the (empty) array open innermost in `out`. With a pool of
// more than one thread, each thread formats a slice and appends it in its turn, so that
// formatting and writing overlap; the bytes do not depend on the thread count.
void stream_share_rows(JsonStream& out, const ShareTable& t, ThreadPool* pool);
void stream_share_rows(JsonStream& out, const ShareMonthTable& t, ThreadPool* pool);

}  // namespace ecostat::detail
