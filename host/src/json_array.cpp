#include "json_array.hpp"

#include <cstring>

namespace ecostat::host::detail {

namespace {
constexpr size_t kChunk = 1u << 20;
bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
}  // namespace

JsonArraySplitter::JsonArraySplitter(ByteSource& src, size_t max_element)
    : src_(src), max_element_(max_element), buf_(kChunk) {}

bool JsonArraySplitter::fill() {
  if (pos_ < end_) return true;
  if (eof_) return false;
  consumed_ += end_;
  pos_ = 0;
  end_ = src_.read(buf_.data(), buf_.size());
  if (end_ == 0) eof_ = true;
  if (!bom_checked_ && end_ > 0) {
    // A UTF-8 BOM can only open the input. (A chunk shorter than 3 bytes at the start would
    // hide it; sources hand out whole chunks there.)
    bom_checked_ = true;
    if (end_ >= 3 && std::memcmp(buf_.data(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;
  }
  return !eof_;
}

bool JsonArraySplitter::skip_blanks() {
  for (;;) {
    if (!fill()) return false;
    while (pos_ < end_ && blank(buf_[pos_])) {
      if (buf_[pos_] == '\n') ++line_;
      ++pos_;
    }
    if (pos_ < end_) return true;
  }
}

// Scans one element from its first byte up to (not past) the ',' or ']' that ends it at depth
// 0, appending its bytes to element_ while it is not too long.
JsonArraySplitter::Status JsonArraySplitter::scan_element() {
  element_.clear();
  bool too_long = false, in_string = false, escape = false;
  size_t depth = 0;
  for (;;) {
    if (!fill()) return Status::truncated;
    const char* b = buf_.data();
    const size_t seg = pos_;
    size_t i = pos_;
    bool ended = false;
    for (; i < end_; ++i) {
      const char c = b[i];
      if (c == '\n') ++line_;
      if (in_string) {
        if (escape) escape = false;
        else if (c == '\\') escape = true;
        else if (c == '"') in_string = false;
        continue;
      }
      if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (depth == 0) {  // the array's ']' (a stray '}' is left for the JSON parser to reject)
          if (c == ']') {
            ended = true;
            break;
          }
        } else {
          --depth;
        }
      } else if (c == ',' && depth == 0) {
        ended = true;
        break;
      }
    }
    if (!too_long) {
      if (element_.size() + (i - seg) > max_element_) {
        too_long = true;
        element_.clear();
        element_.shrink_to_fit();
      } else {
        element_.append(b + seg, i - seg);
      }
    }
    pos_ = i;
    if (ended) return too_long ? Status::too_long : Status::ok;
  }
}

bool JsonArraySplitter::next(std::string_view* element, Status* status) {
  *element = std::string_view();
  for (;;) {
    switch (state_) {
      case State::done:
        return false;
      case State::outside: {
        if (!skip_blanks()) {
          state_ = State::done;
          return false;
        }
        start_line_ = line_;
        if (buf_[pos_] != '[') {
          state_ = State::done;
          *status = Status::trailing;
          return true;
        }
        ++pos_;
        state_ = State::first;
        if (!skip_blanks()) break;  // reported as truncated below
        if (buf_[pos_] == ']') {     // an empty array
          ++pos_;
          state_ = State::outside;
        }
        continue;
      }
      case State::first:
      case State::after_comma:
        break;
    }
    // At an element (state first or after_comma).
    if (!skip_blanks()) {
      start_line_ = line_;
      state_ = State::done;
      *status = Status::truncated;
      return true;
    }
    start_line_ = line_;
    if (buf_[pos_] == ',' || buf_[pos_] == ']') {  // nothing before the separator
      state_ = buf_[pos_] == ',' ? State::after_comma : State::outside;
      ++pos_;
      *status = Status::empty;
      return true;
    }
    *status = scan_element();
    if (*status == Status::truncated) {
      state_ = State::done;
      return true;
    }
    state_ = buf_[pos_] == ',' ? State::after_comma : State::outside;
    ++pos_;
    if (*status == Status::ok) {
      size_t n = element_.size();
      while (n > 0 && blank(element_[n - 1])) --n;
      *element = std::string_view(element_.data(), n);
    }
    return true;
  }
}

}  // namespace ecostat::host::detail
