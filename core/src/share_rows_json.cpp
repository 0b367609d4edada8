#include "share_rows_json.hpp"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string_view>
#include <vector>

#include "ecostat/prefetch.hpp"

namespace ecostat::detail {
namespace {

// The fixed text around a row's values. Each row is one line: it starts where dump(indent)
// would start the array element (a new line indented `depth` levels) and is written compactly,
// as dump(-1) writes the row object, so that the millions of rows of a long table cost about
// 100 bytes each instead of 150 (docs/results-schema.md, "Layout"). The pieces between two
// values are fused (a row's close with the next row's open and key label, a month's label with
// the labels around it), so that a row is a few copies, not ten.
struct RowPieces {
  std::string first_open, next_open;  // up to the key's text: the array's first / a later row (closing the one before)
  std::string downloads, share, close;

  RowPieces(int indent, size_t depth) {
    const std::string open = (indent < 0 ? std::string() : "\n" + std::string(depth * size_t(indent), ' ')) + "{";
    first_open = open + "\"key\":";
    next_open = "}," + first_open;
    downloads = ",\"downloads\":";
    share = ",\"share\":";
    close = "}";
  }
  // From after the key to the downloads value, for rows of `month`.
  static std::string month_piece(Month month) { return ",\"month\":\"" + month_label(month) + "\",\"downloads\":"; }
};

// A growing text buffer written through a pointer (std::string's append re-checks and
// re-terminates on every call). Its string keeps its size from one use to the next, so that
// only bytes past the largest earlier use are ever zero-filled by resize: `used` says how many
// bytes are this use's text.
class TextBuffer {
 public:
  TextBuffer(std::string& text, size_t& used) : text_(text), used_out_(used) {}
  ~TextBuffer() { used_out_ = used_; }
  void reserve_more(size_t n) {
    if (used_ + n > text_.size()) text_.resize(std::max(text_.size() * 2, used_ + n + (size_t(1) << 16)));
  }
  void put(std::string_view s) {
    reserve_more(s.size());
    copy_small(&text_[used_], s.data(), s.size());
    used_ += s.size();
  }
  // n bytes from src to dst: fixed-size moves (a memcpy call each was most of a row's cost
  // when rows are a dozen pieces of 1-30 bytes), memcpy past 32 bytes.
  static void copy_small(char* dst, const char* src, size_t n) {
    if (n > 32) {
      std::memcpy(dst, src, n);
    } else if (n >= 16) {
      std::memcpy(dst, src, 16);
      std::memcpy(dst + n - 16, src + n - 16, 16);
    } else if (n >= 8) {
      std::memcpy(dst, src, 8);
      std::memcpy(dst + n - 8, src + n - 8, 8);
    } else if (n >= 4) {
      std::memcpy(dst, src, 4);
      std::memcpy(dst + n - 4, src + n - 4, 4);
    } else if (n > 0) {
      dst[0] = src[0];
      dst[n / 2] = src[n / 2];
      dst[n - 1] = src[n - 1];
    }
  }
  // Room for n bytes at cursor(), then advance_to the end of what was written there.
  char* cursor(size_t n) {
    reserve_more(n);
    return &text_[used_];
  }
  void advance_to(char* end) { used_ = size_t(end - text_.data()); }

 private:
  std::string& text_;
  size_t& used_out_;
  size_t used_ = 0;
};

// One slice of rows formatted: text[0, used).
struct SliceText {
  std::string text;
  size_t used = 0;
  std::string_view view() const { return std::string_view(text.data(), used); }
};

// A string that needs no escape, quoted.
void put_plain(TextBuffer& b, std::string_view s) {
  char* p = b.cursor(s.size() + 2);
  *p++ = '"';
  TextBuffer::copy_small(p, s.data(), s.size());
  p += s.size();
  *p++ = '"';
  b.advance_to(p);
}

// A key as JsonStream writes strings (is_plain_json_text, escaped_json_string).
void put_string(TextBuffer& b, std::string_view s) {
  if (is_plain_json_text(s))
    put_plain(b, s);
  else
    b.put(escaped_json_string(s));
}

// A table's key text when none of it needs an escape (checked once, in one pass): a row key
// inside it is written without the per-row check, which read every key byte one at a time.
// A key elsewhere (a table built by other code) is checked as before.
struct PlainKeys {
  const char* begin = nullptr;
  const char* end = nullptr;
  template <class Table>
  explicit PlainKeys(const Table& t) {
    if (t.key_text && is_plain_json_text(*t.key_text))
      begin = t.key_text->data(), end = t.key_text->data() + t.key_text->size();
  }
  void put(TextBuffer& b, std::string_view key) const {
    if (key.data() >= begin && key.data() + key.size() <= end && begin != nullptr)
      put_plain(b, key);
    else
      put_string(b, key);
  }
};

// The text of the last number written, reused while the same value repeats: rows come in share
// order, so the long tail of a table is runs of equal counts and equal shares (about 97% of the
// rows of a 2x10^7-record job repeat the row before), and formatting a double is the dearest
// part of a row. The value is compared bit for bit, so the text is always the value's own.
template <class T>
class RepeatedNumber {
 public:
  void put(TextBuffer& b, T v) {
    if (len_ == 0 || std::memcmp(&v, &last_, sizeof v) != 0) {
      char* const end = format(text_, v);
      len_ = size_t(end - text_);
      last_ = v;
    }
    b.put(std::string_view(text_, len_));
  }

 private:
  static char* format(char* p, uint64_t v) { return std::to_chars(p, p + kJsonNumberRoom, v).ptr; }
  static char* format(char* p, double v) { return write_json_double(p, v); }
  T last_{};
  size_t len_ = 0;
  char text_[kJsonNumberRoom];
};

// Rows come in share order, so their keys lie all over the key strings: each key's bytes are
// fetched this many rows ahead, or every row waits for a cache miss.
constexpr size_t kKeyPrefetchRows = 16;

template <class Row>
void prefetch_key(const std::vector<Row>& rows, size_t i, size_t end) {
  if (i < end && rows[i].key.data() != nullptr) prefetch_for_read(rows[i].key.data());
}

void format_rows(SliceText& out, const RowPieces& p, const PlainKeys& plain, const ShareTable& t, size_t begin,
                 size_t end) {
  TextBuffer b(out.text, out.used);
  RepeatedNumber<uint64_t> downloads;
  RepeatedNumber<double> share;
  for (size_t i = begin; i < end; ++i) {
    prefetch_key(t.rows, i + kKeyPrefetchRows, end);
    const ShareRow& row = t.rows[i];
    b.put(i == 0 ? p.first_open : p.next_open), plain.put(b, row.key);
    b.put(p.downloads), downloads.put(b, row.downloads);
    b.put(p.share), share.put(b, row.share);
  }
  if (end == t.rows.size() && end > begin) b.put(p.close);  // the last row's; the others close at the next
}

void format_rows(SliceText& out, const RowPieces& p, const PlainKeys& plain, const ShareMonthTable& t, size_t begin,
                 size_t end) {
  TextBuffer b(out.text, out.used);
  Month last = 0;
  std::string month_piece;  // made once per run of rows of one month
  RepeatedNumber<uint64_t> downloads;
  RepeatedNumber<double> share;
  for (size_t i = begin; i < end; ++i) {
    prefetch_key(t.rows, i + kKeyPrefetchRows, end);
    const ShareMonthRow& row = t.rows[i];
    if (month_piece.empty() || row.month != last) month_piece = RowPieces::month_piece(row.month), last = row.month;
    b.put(i == 0 ? p.first_open : p.next_open), plain.put(b, row.key);
    b.put(month_piece), downloads.put(b, row.downloads);
    b.put(p.share), share.put(b, row.share);
  }
  if (end == t.rows.size() && end > begin) b.put(p.close);  // the last row's; the others close at the next
}

template <class Table>
void stream_rows(JsonStream& out, const Table& t, ThreadPool* pool) {
  const size_t n = t.rows.size(), slices = (n + kShareRowsPerSlice - 1) / kShareRowsPerSlice;
  const RowPieces pieces(out.indent(), out.depth());
  const PlainKeys plain(t);
  auto begin_of = [&](size_t s) { return s * kShareRowsPerSlice; };
  auto end_of = [&](size_t s) { return std::min(n, (s + 1) * kShareRowsPerSlice); };
  if (pool == nullptr || pool->size() < 2 || slices < 2) {
    SliceText text;
    for (size_t s = 0; s < slices; ++s) {
      format_rows(text, pieces, plain, t, begin_of(s), end_of(s));
      out.append_elements(text.view(), end_of(s) - begin_of(s));
    }
    return;
  }
  // Each thread formats the next slice into a buffer of its own, then appends it as soon as the
  // slice before it is appended: one thread's formatting overlaps another's write, and a slice
  // is written by the thread whose cache still holds it. The pool hands out slices in order,
  // so the one whose turn it is is always being formatted or waiting to be appended.
  std::vector<SliceText> text(pool->size());
  std::mutex m;
  std::condition_variable turn;
  size_t appended = 0;  // slices appended so far
  bool failed = false;  // a task threw: the others stop waiting for their turn
  pool->run(slices, [&](size_t s, unsigned w) {
    try {
      format_rows(text[w], pieces, plain, t, begin_of(s), end_of(s));
      {
        std::unique_lock<std::mutex> lk(m);
        turn.wait(lk, [&] { return appended == s || failed; });
        if (failed) return;
      }
      out.append_elements(text[w].view(), end_of(s) - begin_of(s));  // alone: the others wait for their turn
      std::lock_guard<std::mutex> lk(m);
      ++appended;
    } catch (...) {
      std::lock_guard<std::mutex> lk(m);
      failed = true;
      turn.notify_all();
      throw;
    }
    turn.notify_all();
  });
}

}  // namespace

void stream_share_rows(JsonStream& out, const ShareTable& t, ThreadPool* pool) { stream_rows(out, t, pool); }
void stream_share_rows(JsonStream& out, const ShareMonthTable& t, ThreadPool* pool) { stream_rows(out, t, pool); }

}  // namespace ecostat::detail
