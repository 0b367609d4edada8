// repo_id_problem accepts plain ASCII ids eight bytes at a time, and text_problem plain ASCII
// text the same way; every byte value at every position of texts of every length around the
// word size must get the per-character answer.
#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "text.hpp"

using ecostat::host::detail::repo_id_problem;
using ecostat::host::detail::text_problem;
using ecostat::host::detail::valid_utf8;

namespace {

// The rule, one character at a time (as the reader checked every id before the fast path).
const char* reference_problem(std::string_view s) {
  if (s.empty()) return "empty";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u == 0) return "NUL byte";
    if (u <= 0x20 || u == 0x7f) return "blank or control character";
    if (c == ',' || c == '"') return "',' or '\"'";
  }
  if (!valid_utf8(s)) return "invalid UTF-8";
  return nullptr;
}

// text_problem's rule without its fast path: no NUL, then valid UTF-8.
const char* reference_text_problem(std::string_view s) {
  for (const char c : s)
    if (c == 0) return "NUL byte";
  if (!valid_utf8(s)) return "invalid UTF-8";
  return nullptr;
}

std::string answer(const char* p) { return p ? p : "ok"; }

}  // namespace

TEST_CASE("repo id check: every byte at every position equals the per-character rule", "[text][downloads]") {
  for (size_t len = 1; len <= 19; ++len) {
    for (size_t pos = 0; pos < len; ++pos) {
      for (int b = 0; b < 256; ++b) {
        std::string id(len, 'm');
        id[pos] = static_cast<char>(b);
        INFO("length " << len << ", byte " << b << " at " << pos);
        REQUIRE(answer(repo_id_problem(id)) == answer(reference_problem(id)));
      }
    }
  }
  CHECK(repo_id_problem("org/model-7b") == nullptr);
  CHECK(repo_id_problem("org/caf\xc3\xa9") == nullptr);  // UTF-8 takes the slow path, still fine
  CHECK(answer(repo_id_problem("org/caf\xc3")) == "invalid UTF-8");
}

TEST_CASE("repo id check: random ids equal the per-character rule", "[text][downloads]") {
  std::mt19937 rng(11);
  const std::string alphabet = std::string("abcXYZ019/-_.") + ",\" \t\x7f\x01" + "\xc3\xa9\xff";
  for (int i = 0; i < 200000; ++i) {
    std::string id(rng() % 40, ' ');
    for (char& c : id) c = rng() % 8 ? alphabet[rng() % 13] : alphabet[rng() % alphabet.size()];
    INFO(id);
    REQUIRE(answer(repo_id_problem(id)) == answer(reference_problem(id)));
  }
}

TEST_CASE("text check: every byte at every position equals the per-character rule", "[text][repo_reader]") {
  CHECK(answer(text_problem("")) == "ok");
  for (size_t len = 1; len <= 19; ++len) {
    for (size_t pos = 0; pos < len; ++pos) {
      for (int b = 0; b < 256; ++b) {
        std::string text(len, 't');
        text[pos] = static_cast<char>(b);
        INFO("length " << len << ", byte " << b << " at " << pos);
        REQUIRE(answer(text_problem(text)) == answer(reference_text_problem(text)));
      }
    }
  }
  CHECK(answer(text_problem("sentence-transformers")) == "ok");
  CHECK(answer(text_problem(std::string("region:us\0", 10))) == "NUL byte");
  CHECK(answer(text_problem("caf\xc3\xa9 latte")) == "ok");
  CHECK(answer(text_problem("caf\xc3 latte")) == "invalid UTF-8");
}
