// OrderedChunks (host/src/ordered_chunks.hpp): parsing threads ahead of one applying thread.
// The chunks come back in text order, cut at line ends, covering the text once; a parse that
// throws surfaces in its chunk's turn, after every chunk before it; a caller that leaves early
// stops the threads (no hang, no use of a freed result).
#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

#include "ordered_chunks.hpp"

using ecostat::host::detail::OrderedChunks;

namespace {

std::string numbered_lines(int n) {
  std::string text;
  for (int i = 0; i < n; ++i) text += "line " + std::to_string(i) + "\n";
  return text;
}

struct Parsed {
  std::string text;
  int uses = 0;  // how many chunks this result object held: slots are reused
};

}  // namespace

TEST_CASE("ordered chunks: every line once, in order, for any threads and chunk size", "[parallel]") {
  const std::string text = numbered_lines(5000) + "no final newline";
  for (unsigned threads : {1u, 2u, 5u})
    for (size_t chunk : {size_t(1), size_t(7), size_t(1000), size_t(1) << 20}) {
      INFO(threads << " threads, chunks of " << chunk << " bytes");
      std::atomic<int> parses{0};
      OrderedChunks<Parsed> chunks(text.data(), 0, text.size(), chunk, threads,
                                   [&](size_t first, size_t last, Parsed* out) {
                                     out->text.assign(text, first, last - first);
                                     ++out->uses;
                                     ++parses;
                                   });
      std::string joined;
      size_t first = 0, last = 0, expect_first = 0, n = 0;
      int most_uses = 0;
      Parsed* p = nullptr;
      while (chunks.next(&first, &last, &p)) {
        CHECK(first == expect_first);
        CHECK(last > first);
        CHECK((last == text.size() || text[last - 1] == '\n'));  // cut at a line end
        CHECK(p->text == text.substr(first, last - first));
        joined += p->text;
        expect_first = last;
        most_uses = std::max(most_uses, p->uses);
        ++n;
      }
      CHECK(joined == text);
      CHECK(parses == int(n));
      CHECK_FALSE(chunks.next(&first, &last, &p));  // stays done
      if (n > 2 * threads + 2) CHECK(most_uses > 1);  // the slots were reused, not grown
    }
}

TEST_CASE("ordered chunks: a failed parse surfaces in its turn, and leaving early stops the threads", "[parallel]") {
  const std::string text = numbered_lines(2000);
  const size_t bad_at = text.find("line 1000\n");
  for (unsigned threads : {1u, 2u, 4u}) {
    INFO(threads << " threads");
    OrderedChunks<Parsed> chunks(text.data(), 0, text.size(), 64, threads, [&](size_t first, size_t last, Parsed* out) {
      if (first <= bad_at && bad_at < last) throw std::runtime_error("bad chunk");
      out->text.assign(text, first, last - first);
    });
    size_t first = 0, last = 0, delivered = 0;
    Parsed* p = nullptr;
    bool threw = false;
    try {
      while (chunks.next(&first, &last, &p)) delivered = last;
    } catch (const std::runtime_error& e) {
      threw = std::string(e.what()) == "bad chunk";
    }
    CHECK(threw);
    CHECK(delivered <= bad_at);  // every chunk before the bad one, none after it
    CHECK(delivered + 64 + 10 > bad_at);
  }
  // The caller stops after one chunk: the destructor stops and joins the parsers.
  for (int round = 0; round < 20; ++round) {
    OrderedChunks<Parsed> chunks(text.data(), 0, text.size(), 16, 3, [&](size_t first, size_t last, Parsed* out) {
      out->text.assign(text, first, last - first);
      std::this_thread::yield();
    });
    size_t first = 0, last = 0;
    Parsed* p = nullptr;
    REQUIRE(chunks.next(&first, &last, &p));
    CHECK(first == 0);
  }
}
