#include "json_stream.hpp"

#include <charconv>
#include <cmath>

namespace ecostat::detail {

using json = nlohmann::ordered_json;

JsonStream::JsonStream(Sink sink, int indent) : sink_(std::move(sink)), indent_(indent) {
  buf_.reserve(kFlushBytes + 4096);
}

void JsonStream::flush() {
  if (!buf_.empty()) sink_(buf_);
  buf_.clear();
}

void JsonStream::append_elements(std::string_view bytes, uint64_t n) {
  flush();
  if (!bytes.empty()) sink_(bytes);
  counts_.back() += n;
}

void JsonStream::newline_indent(size_t depth) {
  if (indent_ < 0) return;
  buf_ += '\n';
  buf_.append(depth * size_t(indent_), ' ');
}

void JsonStream::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (counts_.empty()) return;
  if (counts_.back()++ > 0) buf_ += ',';
  newline_indent(counts_.size());
}

void JsonStream::open(char bracket) {
  before_value();
  buf_ += bracket;
  counts_.push_back(0);
}

// A non-empty container closes on a new line, an empty one right after its opening bracket
// ("[]", "{}"), as dump writes them.
void JsonStream::close(char bracket) {
  const bool any = counts_.back() > 0;
  counts_.pop_back();
  if (any) newline_indent(counts_.size());
  buf_ += bracket;
  maybe_flush();
}

void JsonStream::key(std::string_view k) {
  before_value();
  put_string(k);
  buf_ += indent_ < 0 ? ":" : ": ";
  after_key_ = true;
}

// Printable ASCII without quote or backslash is written as is; anything else (escapes, UTF-8,
// invalid bytes replaced by U+FFFD) goes through nlohmann, so the bytes are always dump's.
void JsonStream::put_string(std::string_view s) {
  bool plain = true;
  for (unsigned char c : s) plain &= (c >= 0x20 && c < 0x7f && c != '"' && c != '\\');
  if (plain) {
    buf_ += '"';
    buf_.append(s);
    buf_ += '"';
  } else {
    buf_ += json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

void JsonStream::value(std::string_view s) {
  before_value();
  put_string(s);
  maybe_flush();
}

void JsonStream::value(uint64_t v) {
  before_value();
  char tmp[24];
  auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
  buf_.append(tmp, r.ptr);
}

void JsonStream::value(double v) {
  before_value();
  if (!std::isfinite(v)) {
    buf_ += "null";
    return;
  }
  char tmp[64];
  char* end = nlohmann::detail::to_chars(tmp, tmp + sizeof tmp, v);  // dump's own formatting
  buf_.append(tmp, end);
}

void JsonStream::dom_value(const json& v) {
  before_value();
  const std::string text = v.dump(indent_, ' ', false, json::error_handler_t::replace);
  if (indent_ < 0 || counts_.empty()) {
    buf_ += text;
  } else {  // dump indents from depth 0: shift every line (strings hold no raw newline)
    const std::string shift = "\n" + std::string(counts_.size() * size_t(indent_), ' ');
    for (char c : text) {
      if (c == '\n')
        buf_ += shift;
      else
        buf_ += c;
    }
  }
  maybe_flush();
}

}  // namespace ecostat::detail
