#include "share_rows_json.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>
#include <vector>


namespace ecostat::detail {
namespace {

// The fixed text around a row's values. Each row is one line: it starts where dump(indent)
// would start the array element (a new line indented `depth` levels) and is written compactly,
// as dump(-1) writes the row object, so that the millions of rows of a long table cost about
// 100 bytes each instead of 150 (docs/results-schema.md, "Layout").
struct RowPieces {
  std::string first_open, next_open;  // before the '{' of the array's first / a later element
  std::string key, month, downloads, share, close;

  RowPieces(int indent, size_t depth) {
    first_open = (indent < 0 ? std::string() : "\n" + std::string(depth * size_t(indent), ' ')) + "{";
    next_open = "," + first_open;
    key = "\"key\":";
    month = ",\"month\":";
    downloads = ",\"downloads\":";
    share = ",\"share\":";
    close = "}";
  }
};

// A growing text buffer written through a pointer (std::string's append re-checks and
// re-terminates on every call).
class TextBuffer {
 public:
  explicit TextBuffer(std::string& text) : text_(text) { text_.clear(); }
  ~TextBuffer() { text_.resize(used_); }
  void reserve_more(size_t n) {
    if (used_ + n > text_.size()) text_.resize(std::max(text_.size() * 2, used_ + n + (size_t(1) << 16)));
  }
  void put(std::string_view s) {
    reserve_more(s.size());
    std::memcpy(&text_[used_], s.data(), s.size());
    used_ += s.size();
  }
  // Room for n bytes at cursor(), then advance_to the end of what was written there.
  char* cursor(size_t n) {
    reserve_more(n);
    return &text_[used_];
  }
  void advance_to(char* end) { used_ = size_t(end - text_.data()); }

 private:
  std::string& text_;
  size_t used_ = 0;
};

// A key as JsonStream writes strings (is_plain_json_text, escaped_json_string).
void put_string(TextBuffer& b, std::string_view s) {
  if (is_plain_json_text(s)) {
    char* p = b.cursor(s.size() + 2);
    *p++ = '"';
    std::memcpy(p, s.data(), s.size());
    p += s.size();
    *p++ = '"';
    b.advance_to(p);
  } else {
    b.put(escaped_json_string(s));
  }
}

void put_number(TextBuffer& b, uint64_t v) {
  char* p = b.cursor(kJsonNumberRoom);
  b.advance_to(std::to_chars(p, p + kJsonNumberRoom, v).ptr);
}

void put_number(TextBuffer& b, double v) { b.advance_to(write_json_double(b.cursor(kJsonNumberRoom), v)); }

void format_rows(std::string& text, const RowPieces& p, const ShareTable& t, size_t begin, size_t end) {
  TextBuffer b(text);
  for (size_t i = begin; i < end; ++i) {
    const ShareRow& row = t.rows[i];
    b.put(i == 0 ? p.first_open : p.next_open), b.put(p.key), put_string(b, row.key);
    b.put(p.downloads), put_number(b, row.downloads);
    b.put(p.share), put_number(b, row.share);
    b.put(p.close);
  }
}

void format_rows(std::string& text, const RowPieces& p, const ShareMonthTable& t, size_t begin, size_t end) {
  TextBuffer b(text);
  Month last = 0;
  std::string label;  // the month as a JSON string, made once per run of rows of one month
  for (size_t i = begin; i < end; ++i) {
    const ShareMonthRow& row = t.rows[i];
    if (label.empty() || row.month != last) label = "\"" + month_label(row.month) + "\"", last = row.month;
    b.put(i == 0 ? p.first_open : p.next_open), b.put(p.key), put_string(b, row.key);
    b.put(p.month), b.put(label);
    b.put(p.downloads), put_number(b, row.downloads);
    b.put(p.share), put_number(b, row.share);
    b.put(p.close);
  }
}

template <class Table>
void stream_rows(JsonStream& out, const Table& t, ThreadPool* pool) {
  const size_t n = t.rows.size(), slices = (n + kShareRowsPerSlice - 1) / kShareRowsPerSlice;
  const RowPieces pieces(out.indent(), out.depth());
  const size_t wave = pool ? 2 * size_t(pool->size()) : 1;
  std::vector<std::string> text(std::min(wave, slices));
  auto slice_end = [&](size_t s) { return std::min(n, (s + 1) * kShareRowsPerSlice); };
  for (size_t first = 0; first < slices; first += wave) {
    const size_t m = std::min(wave, slices - first);
    auto format = [&](size_t i, unsigned) { format_rows(text[i], pieces, t, (first + i) * kShareRowsPerSlice, slice_end(first + i)); };
    if (pool && m > 1)
      pool->run(m, format);
    else
      for (size_t i = 0; i < m; ++i) format(i, 0);
    for (size_t i = 0; i < m; ++i) out.append_elements(text[i], slice_end(first + i) - (first + i) * kShareRowsPerSlice);
  }
}

}  // namespace

void stream_share_rows(JsonStream& out, const ShareTable& t, ThreadPool* pool) { stream_rows(out, t, pool); }
void stream_share_rows(JsonStream& out, const ShareMonthTable& t, ThreadPool* pool) { stream_rows(out, t, pool); }

}  // namespace ecostat::detail
