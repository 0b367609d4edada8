#include "text.hpp"

#include <charconv>
#include <cstdio>
#include <cstring>

#include "ecostat/types.hpp"

namespace ecostat::host::detail {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool valid_utf8(std::string_view s) { return utf8_error_at(s) == std::string_view::npos; }

size_t utf8_error_at(std::string_view s) {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const auto* p = b;
  const auto* e = p + s.size();
  const size_t bad = std::string_view::npos;
  while (p < e) {
    if (e - p >= 8) {  // fast path: 8 ASCII bytes at once
      uint64_t w;
      std::memcpy(&w, p, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        p += 8;
        continue;
      }
    }
    const unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) n = 1, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) n = 2, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) n = 3, cp = c & 0x07;
    else return static_cast<size_t>(p - b);  // a continuation byte first, an overlong lead (C0, C1) or F5..FF
    if (e - p <= n) return static_cast<size_t>(p - b);
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return static_cast<size_t>(p - b);
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
      return static_cast<size_t>(p - b);
    p += n + 1;
  }
  return bad;
}

namespace {

// Whether any byte of w is zero / below n (n <= 128): exact for "any byte", eight at a time.
constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
inline uint64_t any_zero(uint64_t w) { return (w - kOnes) & ~w & kHigh; }
inline uint64_t any_below(uint64_t w, uint8_t n) { return (w - kOnes * n) & ~w & kHigh; }

// Non-zero when a byte of w is not printable ASCII or is ',' or '"'.
inline uint64_t unusual_id_bytes(uint64_t w) {
  return (w & kHigh) | any_below(w, 0x21) | any_zero(w ^ (kOnes * 0x7f)) | any_zero(w ^ (kOnes * ',')) |
         any_zero(w ^ (kOnes * '"'));
}

// True when unusual(w) is zero for every eight bytes w of s, eight at a time. A tail shorter
// than eight bytes is read as the last eight bytes, overlapping some already checked (one plain
// load, where a short copy into a padded word would cost a call and a stalled load per text),
// or, in a text shorter than eight bytes, padded with 'a', which every rule here takes.
template <class Unusual>
bool every_word_plain(std::string_view s, Unusual unusual) {
  uint64_t found = 0;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    found |= unusual(w);
  }
  if (i < s.size()) {
    uint64_t w = kOnes * 'a';
    if (s.size() >= 8) {
      std::memcpy(&w, s.data() + s.size() - 8, 8);
    } else {
      std::memcpy(&w, s.data(), s.size());
    }
    found |= unusual(w);
  }
  return found == 0;
}

// True when every byte is printable ASCII other than ',' and '"': the ids of nearly every
// record, accepted without the per-character checks and the UTF-8 pass.
bool plain_ascii_id(std::string_view s) {
  return every_word_plain(s, [](uint64_t w) { return unusual_id_bytes(w); });  // a lambda: inlined
}

// True when every byte is ASCII other than NUL: the usual field text, accepted in one pass
// instead of a NUL search and a UTF-8 pass.
bool plain_ascii_text(std::string_view s) {
  return every_word_plain(s, [](uint64_t w) { return (w & kHigh) | any_zero(w); });
}

}  // namespace

const char* repo_id_problem(std::string_view s) {
  if (s.empty()) return "empty";
  if (plain_ascii_id(s)) return nullptr;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u == 0) return "NUL byte";
    if (u <= 0x20 || u == 0x7f) return "blank or control character";
    if (c == ',' || c == '"') return "',' or '\"'";
  }
  if (!valid_utf8(s)) return "invalid UTF-8";
  return nullptr;
}

const char* text_problem(std::string_view s) {
  if (plain_ascii_text(s)) return nullptr;
  if (std::memchr(s.data(), 0, s.size()) != nullptr) return "NUL byte";
  if (!valid_utf8(s)) return "invalid UTF-8";
  return nullptr;
}

std::string printable(std::string_view s, size_t max) {
  std::string out;
  const bool cut = s.size() > max;
  if (cut) s = s.substr(0, max);
  static const char hex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (c >= 0x80 && i + n <= s.size() && valid_utf8(s.substr(i, n)) && c >= 0xC2) {
      out.append(s.data() + i, n);  // a whole, valid multi-byte character
      i += n;
      continue;
    }
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
    ++i;
  }
  if (cut) out += "...";
  return out;
}

namespace {

bool two_digits(const char* p, int* v) {
  if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9') return false;
  *v = (p[0] - '0') * 10 + (p[1] - '0');
  return true;
}

// "HH:MM[:SS[.fraction]][Z|+HH:MM|+HHMM|+HH]" exactly (what follows 'T' or ' ').
bool valid_time(std::string_view t) {
  int h, m, sec;
  if (t.size() < 5 || !two_digits(t.data(), &h) || t[2] != ':' || !two_digits(t.data() + 3, &m) || h > 23 || m > 59)
    return false;
  t.remove_prefix(5);
  if (!t.empty() && t[0] == ':') {
    if (t.size() < 3 || !two_digits(t.data() + 1, &sec) || sec > 60) return false;
    t.remove_prefix(3);
    if (!t.empty() && t[0] == '.') {
      size_t n = 1;
      while (n < t.size() && t[n] >= '0' && t[n] <= '9') ++n;
      if (n == 1) return false;
      t.remove_prefix(n);
    }
  }
  if (t.empty() || t == "Z") return true;
  if (t[0] != '+' && t[0] != '-') return false;
  t.remove_prefix(1);
  int zh, zm;
  if (t.size() == 2) return two_digits(t.data(), &zh) && zh <= 23;
  if (t.size() == 4) return two_digits(t.data(), &zh) && two_digits(t.data() + 2, &zm) && zh <= 23 && zm <= 59;
  if (t.size() == 5)
    return two_digits(t.data(), &zh) && t[2] == ':' && two_digits(t.data() + 3, &zm) && zh <= 23 && zm <= 59;
  return false;
}

}  // namespace

DateStatus parse_day(std::string_view s, int32_t min_day, int32_t max_day, int32_t* day, Month* month) {
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return DateStatus::malformed;
  int y1, y2, m, d;
  if (!two_digits(s.data(), &y1) || !two_digits(s.data() + 2, &y2) || !two_digits(s.data() + 5, &m) ||
      !two_digits(s.data() + 8, &d))
    return DateStatus::malformed;
  if (s.size() > 10 && ((s[10] != 'T' && s[10] != ' ') || !valid_time(s.substr(11)))) return DateStatus::malformed;
  const int y = y1 * 100 + y2;
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap)) return DateStatus::malformed;
  const int32_t v = days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  if (v < min_day || v > max_day) return DateStatus::out_of_range;
  *day = v;
  if (month) *month = month_of(y, m);  // from the text: no civil_from_days per record
  return DateStatus::ok;
}

namespace {
constexpr int64_t kMsPerDay = 86400000;
int64_t floor_days(int64_t ms) { return ms / kMsPerDay - (ms % kMsPerDay < 0 ? 1 : 0); }
}  // namespace

DateStatus day_from_epoch_ms(int64_t ms, int32_t min_day, int32_t max_day, int32_t* day) {
  const int64_t d = floor_days(ms);
  if (d < min_day || d > max_day) return DateStatus::out_of_range;
  *day = static_cast<int32_t>(d);
  return DateStatus::ok;
}

bool parse_epoch_ms(std::string_view s, int64_t* ms) {
  s = trim(s);
  if (s.empty() || s.size() > 20) return false;
  const char* b = s.data();
  const char* e = b + s.size();
  if (*b == '-' && b + 1 < e && b[1] >= '0' && b[1] <= '9') {
    // from_chars takes the sign itself
  } else if (*b < '0' || *b > '9') {
    return false;
  }
  auto r = std::from_chars(b, e, *ms);
  return r.ec == std::errc() && r.ptr == e;
}

std::string epoch_ms_out_of_range(std::string_view text, int64_t ms, int32_t min_day, int32_t max_day) {
  const int64_t d = floor_days(ms);
  const std::string as_day = (d >= INT32_MIN && d <= INT32_MAX && d >= -719528 && d <= 2932896)
                                 ? day_label(static_cast<int32_t>(d))
                                 : std::string("beyond year 9999");
  return "date out of range: '" + printable(text) + "' read as epoch milliseconds: " + as_day + " (outside " +
         day_label(min_day) + ".." + day_label(max_day) + ")";
}

std::string day_label(int32_t day) { return iso_date(day); }

std::string date_out_of_range(std::string_view text, int32_t min_day, int32_t max_day) {
  return "date out of range: '" + printable(text) + "' (outside " + day_label(min_day) + ".." + day_label(max_day) +
         ")";
}

NumStatus parse_count(std::string_view s, uint64_t* out) {
  if (!s.empty() && (s.front() == ' ' || s.back() == ' ' || s.front() == '\t' || s.back() == '\t')) s = trim(s);
  if (s.empty()) return NumStatus::empty;
  const char* b = s.data();
  const char* e = b + s.size();
  if (*b == '-') {
    // "-0" is zero; anything else with a leading minus is negative (when it is a number).
    uint64_t v = 0;
    auto r = std::from_chars(b + 1, e, v);
    if (r.ec == std::errc::invalid_argument || b + 1 == e) return NumStatus::invalid;
    if (r.ec == std::errc() && r.ptr == e && v == 0) {
      *out = 0;
      return NumStatus::ok;
    }
    return NumStatus::negative;
  }
  if (*b < '0' || *b > '9') return NumStatus::invalid;
  auto r = std::from_chars(b, e, *out);
  if (r.ec == std::errc::result_out_of_range) {
    const char* p = b;
    while (p < e && *p >= '0' && *p <= '9') ++p;
    return (p == e || *p == '.') ? NumStatus::overflow : NumStatus::invalid;
  }
  if (r.ptr == e) return NumStatus::ok;
  if (*r.ptr == '.') {
    const char* p = r.ptr + 1;
    if (p == e) return NumStatus::invalid;  // "12."
    bool zeros = true;
    for (; p < e; ++p) {
      if (*p < '0' || *p > '9') return NumStatus::invalid;
      if (*p != '0') zeros = false;
    }
    return zeros ? NumStatus::ok : NumStatus::not_integer;
  }
  if (*r.ptr == 'e' || *r.ptr == 'E') return NumStatus::not_integer;
  return NumStatus::invalid;
}

const char* num_status_text(NumStatus s) {
  switch (s) {
    case NumStatus::ok: return "ok";
    case NumStatus::empty: return "empty";
    case NumStatus::negative: return "negative";
    case NumStatus::not_integer: return "not an integer";
    case NumStatus::overflow: return "overflows 64 bits";
    default: return "not a number";
  }
}

namespace {

void append_utf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool hex_value(std::string_view s, size_t n, uint32_t* out) {
  if (s.size() < n) return false;
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
    else return false;
  }
  *out = v;
  return true;
}

void skip_blanks(std::string_view* s) {
  while (!s->empty() && (s->front() == ' ' || s->front() == '\t' || s->front() == '\n' || s->front() == '\r'))
    s->remove_prefix(1);
}

// A quoted string at the front of *s (quote ' or "), escapes decoded; advances *s past it.
bool quoted_string(std::string_view* s, std::string* out) {
  if (s->empty() || (s->front() != '\'' && s->front() != '"')) return false;
  const char q = s->front();
  s->remove_prefix(1);
  out->clear();
  while (!s->empty()) {
    const char c = s->front();
    s->remove_prefix(1);
    if (c == q) return true;
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (s->empty()) return false;
    const char e = s->front();
    s->remove_prefix(1);
    uint32_t cp = 0;
    switch (e) {
      case 'n': out->push_back('\n'); break;
      case 't': out->push_back('\t'); break;
      case 'r': out->push_back('\r'); break;
      case '0': out->push_back('\0'); break;
      case 'x':
        if (!hex_value(*s, 2, &cp)) return false;
        s->remove_prefix(2);
        append_utf8(out, cp);
        break;
      case 'u':
        if (!hex_value(*s, 4, &cp)) return false;
        s->remove_prefix(4);
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          // A high surrogate must pair with a low one (JSON's way to write U+10000 and above).
          uint32_t low = 0;
          if (s->size() < 6 || (*s)[0] != '\\' || (*s)[1] != 'u' || !hex_value(s->substr(2), 4, &low) ||
              low < 0xDC00 || low > 0xDFFF)
            return false;
          s->remove_prefix(6);
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return false;  // a lone low surrogate is no character: it would make invalid UTF-8
        }
        append_utf8(out, cp);
        break;
      case 'U':
        if (!hex_value(*s, 8, &cp) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        s->remove_prefix(8);
        append_utf8(out, cp);
        break;
      default: out->push_back(e); break;  // \\ \' \" and anything else taken literally
    }
  }
  return false;
}

// Removes matching surrounding quotes of a YAML scalar ('' inside single quotes is one quote).
std::string yaml_unquote(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    std::string out;
    std::string_view s = v;
    if (quoted_string(&s, &out) && trim(s).empty()) return out;
    return std::string(v.substr(1, v.size() - 2));
  }
  if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') {
    std::string out;
    for (size_t i = 1; i + 1 < v.size(); ++i) {
      out.push_back(v[i]);
      if (v[i] == '\'' && i + 2 < v.size() && v[i + 1] == '\'') ++i;
    }
    return out;
  }
  return std::string(v);
}

// Strips a trailing " # comment" from an unquoted YAML value.
std::string_view yaml_strip_comment(std::string_view v) {
  if (!v.empty() && (v.front() == '"' || v.front() == '\'')) return v;
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] == '#' && (i == 0 || v[i - 1] == ' ' || v[i - 1] == '\t')) return trim(v.substr(0, i));
  return v;
}

bool yaml_null(std::string_view v) { return v.empty() || v == "null" || v == "~" || v == "Null" || v == "NULL"; }

void yaml_add(std::string_view v, std::vector<std::string>* ids) {
  v = trim(yaml_strip_comment(trim(v)));
  if (yaml_null(v)) return;
  std::string s = yaml_unquote(v);
  if (!yaml_null(s)) ids->push_back(std::move(s));
}

// Flow list "[a, 'b', "c"]" (no nesting).
void yaml_flow_list(std::string_view v, std::vector<std::string>* ids) {
  v = trim(v);
  if (v.size() < 2 || v.front() != '[') return;
  v.remove_prefix(1);
  const size_t close = v.rfind(']');
  if (close != std::string_view::npos) v = v.substr(0, close);
  while (!v.empty()) {
    skip_blanks(&v);
    if (v.empty()) break;
    std::string item;
    if (v.front() == '"' || v.front() == '\'') {
      std::string_view probe = v;
      if (v.front() == '"' && quoted_string(&probe, &item)) {
        v = probe;
        if (!yaml_null(item)) ids->push_back(item);
      } else {
        const size_t end = v.find(v.front(), 1);
        const size_t stop = end == std::string_view::npos ? v.size() : end + 1;
        yaml_add(v.substr(0, stop), ids);
        v.remove_prefix(stop);
      }
      const size_t comma = v.find(',');
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    } else {
      const size_t comma = v.find(',');
      yaml_add(v.substr(0, comma), ids);
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
}

}  // namespace

bool parse_python_string_list(std::string_view s, std::vector<std::string>* out) {
  out->clear();
  s = trim(s);
  if (s.size() < 2 || s.front() != '[' || s.back() != ']') return false;
  s.remove_prefix(1);
  s.remove_suffix(1);
  std::string item;
  for (;;) {
    skip_blanks(&s);
    if (s.empty()) return true;  // "[]" or a trailing comma
    if (!quoted_string(&s, &item)) return false;
    out->push_back(item);
    skip_blanks(&s);
    if (s.empty()) return true;
    if (s.front() != ',') return false;
    s.remove_prefix(1);
  }
}

void yaml_base_models(std::string_view yaml, std::vector<std::string>* ids, std::string* relation) {
  bool in_list = false;  // inside the block list under a top-level `base_model:`
  while (!yaml.empty()) {
    size_t nl = yaml.find('\n');
    std::string_view line = yaml.substr(0, nl);
    yaml.remove_prefix(nl == std::string_view::npos ? yaml.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view t = trim(line);
    if (in_list) {
      if (t.empty() || t.front() == '#') continue;
      if (t.front() == '-' && (t.size() == 1 || t[1] == ' ' || t[1] == '\t')) {
        yaml_add(t.substr(1), ids);
        continue;
      }
      if (line.front() == ' ' || line.front() == '\t') continue;  // continuation of an item
      in_list = false;  // a new top-level key ends the list
    }
    if (line.empty() || line.front() == ' ' || line.front() == '\t' || line.front() == '#') continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (key == "base_model" || key == "\"base_model\"" || key == "'base_model'") {
      const std::string_view v = yaml_strip_comment(value);
      if (v.empty()) in_list = true;
      else if (v.front() == '[') yaml_flow_list(v, ids);
      else yaml_add(v, ids);
    } else if (key == "base_model_relation" && relation) {
      *relation = yaml_unquote(yaml_strip_comment(value));
    }
  }
}

std::string normalise_repo_ref(std::string_view s) {
  s = trim(s);
  for (std::string_view prefix : {"https://huggingface.co/", "http://huggingface.co/", "huggingface.co/",
                                  "https://hf.co/", "hf.co/"}) {
    if (s.substr(0, prefix.size()) == prefix) {
      s.remove_prefix(prefix.size());
      break;
    }
  }
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return std::string(s);
}

}  // namespace ecostat::host::detail
