// The bytes a downloads line is cut at ('\n', ',' and '"'), found 64 at a time: the chunk parser
// (download_chunks.cpp) takes each line's end and cells from these positions instead of a
// memchr per line and a split per record. SSE2 where the target has it (every x86-64), a plain
// loop elsewhere; both give the same positions. Internal to host/.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ecostat::host::detail {

class SeparatorScan {
 public:
  // Scans data[begin, end). Reads nothing outside it (a mapped file may end right after it).
  SeparatorScan(const char* data, size_t begin, size_t end)
      : data_(data), end_(end), base_(begin < end ? begin : end) {
    if (base_ < end_) load();
  }

  // The position of the next '\n', ',' or '"', or end when none is left.
  size_t next() {
    while (mask_ == 0) {
      if (end_ - base_ <= kBlock) return end_;
      base_ += kBlock;
      load();
    }
    const size_t at = base_ + static_cast<size_t>(__builtin_ctzll(mask_));
    mask_ &= mask_ - 1;
    return at;
  }

 private:
  static constexpr size_t kBlock = 64;

  void load() {
    const size_t n = end_ - base_;
    if (n >= kBlock) {
      mask_ = block_mask(data_ + base_);
    } else {  // the last block: a copy padded with bytes that are no separator
      char pad[kBlock] = {};
      std::memcpy(pad, data_ + base_, n);
      mask_ = block_mask(pad);
    }
  }

  static uint64_t block_mask(const char* p) {
#if defined(__SSE2__)
    const __m128i nl = _mm_set1_epi8('\n'), comma = _mm_set1_epi8(','), quote = _mm_set1_epi8('"');
    uint64_t m = 0;
    for (int i = 0; i < 4; ++i) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
      const __m128i hit =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, nl), _mm_cmpeq_epi8(v, comma)), _mm_cmpeq_epi8(v, quote));
      m |= uint64_t{static_cast<uint16_t>(_mm_movemask_epi8(hit))} << (16 * i);
    }
    return m;
#else
    uint64_t m = 0;
    for (size_t i = 0; i < kBlock; ++i)
      if (p[i] == '\n' || p[i] == ',' || p[i] == '"') m |= uint64_t{1} << i;
    return m;
#endif
  }

  const char* data_;
  const size_t end_;
  size_t base_;
  uint64_t mask_ = 0;
};

}  // namespace ecostat::host::detail
