// Cuts a top-level JSON array (the Hub API's /api/models response) into its elements as it
// streams, without parsing them: it tracks only string/escape state and nesting depth, so a
// 1 GB array costs one pass and memory for one element. Internal to the host readers.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ecostat/host/source.hpp"

namespace ecostat::host::detail {

class JsonArraySplitter {
 public:
  enum class Status {
    ok,         // an element (its text, trimmed)
    too_long,   // an element over max_element bytes: skipped whole
    empty,      // nothing between two separators ("[1,,2]", "[1,]")
    truncated,  // the input ends inside the array (inside an element or before its ']')
    trailing    // something other than another array after a closing ']': reading stops
  };
  // src must start (after blanks and a UTF-8 BOM) with '['. Several arrays one after another
  // (pages appended to one file) are read as one.
  JsonArraySplitter(ByteSource& src, size_t max_element);
  // The next element or problem; false at the end (after the last ']' and blanks). The text is
  // valid until the next call; line() is where the element or the problem starts (1-based).
  bool next(std::string_view* element, Status* status);
  uint64_t line() const { return start_line_; }
  uint64_t bytes_consumed() const { return consumed_ + pos_; }

 private:
  enum class State { outside, first, after_comma, done };
  bool fill();                 // false at the end of input
  bool skip_blanks();          // past blanks (counting lines); false at the end of input
  Status scan_element();       // from the element's first byte to its ',' or ']'

  ByteSource& src_;
  size_t max_element_;
  std::vector<char> buf_;
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false, bom_checked_ = false;
  State state_ = State::outside;
  std::string element_;
  uint64_t line_ = 1, start_line_ = 1, consumed_ = 0;
};

}  // namespace ecostat::host::detail
