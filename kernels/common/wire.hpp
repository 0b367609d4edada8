// The on-wire layout of download events between host and device (plain C++, no device code).
//
// One chunk = up to kChunkEvents events, structure of arrays, each array 16-byte aligned and
// padded to a multiple of 16 events (so vector loads of the last group stay in the chunk):
//   narrow (7 B/event):  unit u32[n] | count u16[n] | month u8[n]  (month - chunk.month_base)
//   wide  (10 B/event):  unit u32[n] | count u32[n] | month u16[n] (absolute month)
// The host packer writes narrow whenever every count fits in 16 bits and the chunk's months
// span at most 256; otherwise the whole chunk is wide. Both are exact; narrow moves 30% fewer
// bytes over PCIe, which is what bounds streaming from host memory.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ecostat {
namespace wire {

enum class Format : uint32_t { narrow = 0, wide = 1 };

constexpr size_t kAlignEvents = 16;
constexpr size_t pad_events(size_t n) { return (n + kAlignEvents - 1) / kAlignEvents * kAlignEvents; }

struct Layout {
  size_t unit_off = 0, count_off = 0, month_off = 0, bytes = 0;
};

constexpr Layout layout(Format f, size_t n) {
  const size_t p = pad_events(n);
  Layout l{};
  l.unit_off = 0;
  l.count_off = p * 4;
  l.month_off = l.count_off + p * (f == Format::narrow ? 2 : 4);
  l.bytes = l.month_off + p * (f == Format::narrow ? 1 : 2);
  return l;
}
constexpr size_t bytes_per_event(Format f) { return f == Format::narrow ? 7 : 10; }

// A packed chunk in host memory (pinned for full-speed copies). The bounds are the ones the
// events were checked against: every unit < unit_bound, every month in [month_lo, month_hi].
struct Chunk {
  Format format = Format::narrow;
  uint32_t n = 0;
  uint16_t month_base = 0;          // narrow: months are stored as month - month_base
  uint16_t month_lo = 0, month_hi = 0;
  uint32_t unit_bound = 0;
  const void* data = nullptr;       // layout(format, n).bytes bytes
};

}  // namespace wire
}  // namespace ecostat
