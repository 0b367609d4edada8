// A read prefetch the compiler keeps. GCC 12 deletes a __builtin_prefetch whose address comes
// from a load inside an inlined lambda (it sees no effect); Dictionary::find_many's arena
// prefetch was silently gone that way. An asm statement is never removed.
#pragma once

namespace ecostat {

inline void prefetch_for_read(const void* p) {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

}  // namespace ecostat
