#include "json_stream.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

bool is_plain_json_text(std::string_view s) {
  size_t i = 0;
#if defined(__SSE2__)
  // 16 bytes at a time (a results document checks every key of millions of rows): plain bytes
  // are 0x20-0x7e as signed bytes (0x80-0xff are negative), neither '"' nor '\\'.
  const __m128i lo = _mm_set1_epi8(0x1f), hi = _mm_set1_epi8(0x7f), quote = _mm_set1_epi8('"'),
                backslash = _mm_set1_epi8('\\');
  for (; i + 16 <= s.size(); i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    const __m128i in_range = _mm_and_si128(_mm_cmpgt_epi8(v, lo), _mm_cmplt_epi8(v, hi));
    const __m128i special = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash));
    if (_mm_movemask_epi8(_mm_andnot_si128(special, in_range)) != 0xffff) return false;
  }
#endif
  unsigned bad = 0;
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    bad |= unsigned(c < 0x20) | unsigned(c >= 0x7f) | unsigned(c == '"') | unsigned(c == '\\');
  }
  return bad == 0;
}

std::string escaped_json_string(std::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

char* write_json_double(char* p, double v) {
  if (!std::isfinite(v)) return std::copy_n("null", 4, p);
  return nlohmann::detail::to_chars(p, p + kJsonNumberRoom, v);  // dump's own formatting
}

void JsonStream::put_string(std::string_view s) {
  if (is_plain_json_text(s)) {
    buf_ += '"';
    buf_.append(s);
    buf_ += '"';
  } else {
    buf_ += escaped_json_string(s);
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

void JsonStream::value(double v) {  // non-finite -> null, as the results document writes them
  before_value();
  char tmp[kJsonNumberRoom];
  buf_.append(tmp, write_json_double(tmp, v));
}

void JsonStream::compact_value(const json& v) {
  before_value();
  buf_ += v.dump(-1, ' ', false, json::error_handler_t::replace);
  maybe_flush();
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
