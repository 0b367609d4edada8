// A streaming JSON writer whose bytes are exactly nlohmann::json::dump's (same indentation,
// same number and string formatting), so that a document can mix values built as a DOM with
// long arrays written row by row without ever holding them as DOM nodes. Used for the results
// document, whose share tables can hold millions of rows.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ecostat::detail {

// The text rules JsonStream writes by (and share_rows_json, which formats rows itself):
// strings that are printable ASCII without quote or backslash go as they are, anything else
// through nlohmann (escapes, U+FFFD for invalid UTF-8); doubles as dump formats them, non-finite
// ones as null. Together they give dump's bytes.
bool is_plain_json_text(std::string_view s);
std::string escaped_json_string(std::string_view s);  // with its quotes
constexpr size_t kJsonNumberRoom = 64;                // more than any u64 or double needs
// Writes v at p (kJsonNumberRoom bytes of room) and returns the end.
char* write_json_double(char* p, double v);

class JsonStream {
 public:
  using Sink = std::function<void(std::string_view)>;
  // indent < 0: compact, as dump(-1); else pretty with that many spaces per level.
  JsonStream(Sink sink, int indent);

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  void key(std::string_view k);
  void value(std::string_view s);
  void value(uint64_t v);
  void value(double v);  // non-finite -> null, as the results document writes them
  // A DOM value, dumped as nlohmann does at this depth.
  void dom_value(const nlohmann::ordered_json& v);
  // A DOM value placed as dom_value places it, but written compactly, as dump(-1): one row of
  // a table on one line.
  void compact_value(const nlohmann::ordered_json& v);
  // Open containers and the indent, for writers that format many elements themselves
  // (share_rows_json) and hand the text to append_elements.
  size_t depth() const { return counts_.size(); }
  int indent() const { return indent_; }
  // Appends `n` elements' text, formatted for the innermost array open here (its separators
  // included), to the stream.
  void append_elements(std::string_view bytes, uint64_t n);
  // Hands the buffered bytes to the sink. Not done by a destructor: a sink that throws (a full
  // disk) would throw again while the first exception unwinds.
  void flush();

 private:
  void before_value();  // the comma, newline and indentation an element or key needs
  void open(char bracket);
  void close(char bracket);
  void newline_indent(size_t depth);
  void put_string(std::string_view s);
  void maybe_flush() {
    if (buf_.size() >= kFlushBytes) flush();
  }

  static constexpr size_t kFlushBytes = size_t(1) << 20;
  Sink sink_;
  int indent_;
  std::string buf_;
  std::vector<uint64_t> counts_;  // elements written so far, per open container
  bool after_key_ = false;
};

}  // namespace ecostat::detail
