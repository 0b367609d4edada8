// Fuzzes the Arrow C Data Interface importer (host/arrow_columns.hpp). The C Data Interface
// carries no buffer sizes, so a consumer has to trust the producer's offsets: feeding it raw
// bytes as buffers would only find the harness's own overreads. Instead the input DESCRIBES a
// valid array, which the harness builds exactly as a producer would (types, nulls, slicing,
// dictionaries, string views, streams), and then checks round trips:
//  - every row read through the importer is the value or the null that was built;
//  - reading a column as the wrong type throws ArrowBatchError (and only then);
//  - dictionary codes are within the dictionary, or the cell is bad (deliberately planted
//    out-of-range codes must come back bad, never read past the dictionary);
//  - every release callback (schemas, arrays, children, dictionaries, the stream) is called
//    exactly once, also when the consumer stops a stream early with an exception.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "ecostat/host/arrow_columns.hpp"
#include "fuzz_common.hpp"

using namespace ecostat;
using namespace ecostat::host::arrow;

namespace {

// The column types the input chooses among.
enum class Kind : uint8_t {
  utf8, large_utf8, string_view, dict_i8, dict_i16, dict_i32, dict_u32,
  int32, int64, uint64, ts_ms, ts_us, date32, date64, kCount
};
bool is_dict(Kind k) { return k >= Kind::dict_i8 && k <= Kind::dict_u32; }
bool is_string(Kind k) { return k <= Kind::dict_u32; }
bool is_int(Kind k) { return k >= Kind::int32 && k <= Kind::uint64; }
bool is_day(Kind k) { return k >= Kind::ts_ms; }

// ---- Producer side: release callbacks that count, and an arena that owns every byte.

void release_array(ArrowArray* a) {
  for (int64_t i = 0; i < a->n_children; ++i)
    if (a->children[i]->release) a->children[i]->release(a->children[i]);
  if (a->dictionary && a->dictionary->release) a->dictionary->release(a->dictionary);
  ++*static_cast<int*>(a->private_data);
  a->release = nullptr;
}

void release_schema(ArrowSchema* s) {
  for (int64_t i = 0; i < s->n_children; ++i)
    if (s->children[i]->release) s->children[i]->release(s->children[i]);
  if (s->dictionary && s->dictionary->release) s->dictionary->release(s->dictionary);
  ++*static_cast<int*>(s->private_data);
  s->release = nullptr;
}

class Arena {
 public:
  // A buffer holding exactly `values` (ASan catches a read one past its end).
  template <class T>
  const void* buffer(const std::vector<T>& values) {
    if (values.empty()) return nullptr;
    auto& b = bytes_.emplace_back(values.size() * sizeof(T));
    std::memcpy(b.data(), values.data(), b.size());
    return b.data();
  }
  const void* bytes(const std::string& s) {
    if (s.empty()) return nullptr;
    return buffer(std::vector<char>(s.begin(), s.end()));
  }
  const void* bitmap(const std::vector<bool>& valid) {
    std::vector<uint8_t> bits((valid.size() + 7) / 8, 0);
    for (size_t i = 0; i < valid.size(); ++i)
      if (valid[i]) bits[i / 8] |= uint8_t(1u << (i % 8));
    return buffer(bits);
  }
  ArrowArray* array(int64_t length, int64_t offset, int64_t null_count, std::vector<const void*> buffers,
                    std::vector<ArrowArray*> children = {}, ArrowArray* dictionary = nullptr) {
    auto& bufs = buffer_lists_.emplace_back(std::move(buffers));
    auto& kids = array_children_.emplace_back(std::move(children));
    ArrowArray& a = arrays_.emplace_back();
    a.length = length;
    a.offset = offset;
    a.null_count = null_count;
    a.n_buffers = static_cast<int64_t>(bufs.size());
    a.n_children = static_cast<int64_t>(kids.size());
    a.buffers = bufs.empty() ? nullptr : bufs.data();
    a.children = kids.empty() ? nullptr : kids.data();
    a.dictionary = dictionary;
    a.release = release_array;
    a.private_data = &releases.emplace_back(0);
    return &a;
  }
  ArrowSchema* schema(const std::string& format, const char* name, std::vector<ArrowSchema*> children = {},
                      ArrowSchema* dictionary = nullptr) {
    auto& kids = schema_children_.emplace_back(std::move(children));
    ArrowSchema& s = schemas_.emplace_back();
    s.format = strings_.emplace_back(format).c_str();
    s.name = name;
    s.flags = ARROW_FLAG_NULLABLE;
    s.n_children = static_cast<int64_t>(kids.size());
    s.children = kids.empty() ? nullptr : kids.data();
    s.dictionary = dictionary;
    s.release = release_schema;
    s.private_data = &releases.emplace_back(0);
    return &s;
  }
  std::deque<int> releases;  // one counter per struct built: each must end at exactly 1

 private:
  std::deque<std::vector<uint8_t>> bytes_;
  std::deque<std::vector<const void*>> buffer_lists_;
  std::deque<std::vector<ArrowArray*>> array_children_;
  std::deque<std::vector<ArrowSchema*>> schema_children_;
  std::deque<ArrowSchema> schemas_;
  std::deque<ArrowArray> arrays_;
  std::deque<std::string> strings_;
};

// ---- What was built: per physical element of the column, the truth the reads must match.

struct Batch {
  ArrowArray* array = nullptr;  // the struct (record batch)
  int64_t rows = 0;
  int64_t batch_offset = 0;   // the struct's offset
  int64_t column_offset = 0;  // the column's own offset
  std::vector<bool> struct_valid;   // per struct element
  std::vector<bool> valid;          // per column element (physical index)
  std::vector<std::string> text;    // string kinds: per element (dictionary: unused)
  std::vector<int64_t> raw;         // int/day kinds: the stored bits; dictionary: the code
  std::vector<std::string> dict;    // dictionary entries (logical)
  std::vector<bool> dict_valid;
  // Physical element of row r.
  int64_t element(int64_t r) const { return column_offset + batch_offset + r; }
  bool row_null(int64_t r) const {
    return !struct_valid[static_cast<size_t>(batch_offset + r)] || !valid[static_cast<size_t>(element(r))];
  }
};

std::string take_string(FuzzedDataProvider& in) {
  const size_t n = in.ConsumeIntegralInRange<size_t>(0, in.ConsumeBool() ? 4 : 24);
  return in.ConsumeBytesAsString(n);
}

// A validity bitmap over `n` elements, of which [from, to) are the array's; returns
// null_count as exported (0 with no bitmap, -1 unknown, or exact) and the bitmap buffer.
const void* make_validity(FuzzedDataProvider& in, Arena& arena, std::vector<bool>& valid, int64_t from,
                          int64_t to, int64_t* null_count) {
  const int mode = in.ConsumeIntegralInRange(0, 3);
  const size_t n = valid.size();
  if (mode == 0) {  // no nulls, no bitmap (elements outside the array may be anything)
    for (size_t i = 0; i < n; ++i) valid[i] = true;
    *null_count = 0;
    return nullptr;
  }
  int64_t nulls = 0;
  const uint8_t density = in.ConsumeIntegral<uint8_t>();
  for (size_t i = 0; i < n; ++i) {
    valid[i] = mode == 3 || in.ConsumeIntegral<uint8_t>() >= density / 2;
    if (!valid[i] && static_cast<int64_t>(i) >= from && static_cast<int64_t>(i) < to) ++nulls;
  }
  *null_count = mode == 1 ? -1 : nulls;  // mode 3: an all-valid bitmap with null_count 0
  return arena.bitmap(valid);
}

// Offsets (int32 or int64) of `values`, starting at a non-zero base sometimes, and the data.
template <class Offset>
std::vector<const void*> string_buffers(FuzzedDataProvider& in, Arena& arena, const void* validity,
                                        const std::vector<std::string>& values) {
  std::string data(in.ConsumeIntegralInRange<size_t>(0, 3), '#');
  std::vector<Offset> offsets;
  for (const auto& v : values) {
    offsets.push_back(static_cast<Offset>(data.size()));
    data += v;
  }
  offsets.push_back(static_cast<Offset>(data.size()));
  return {validity, arena.buffer(offsets), arena.bytes(data)};
}

// string_view: 16-byte views, inline up to 12 bytes, else in one of the variadic buffers.
std::vector<const void*> view_buffers(FuzzedDataProvider& in, Arena& arena, const void* validity,
                                      const std::vector<std::string>& values) {
  const int n_data = in.ConsumeIntegralInRange(1, 3);
  std::vector<std::string> data(static_cast<size_t>(n_data));
  std::vector<uint8_t> views(values.size() * 16, 0);
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& v = values[i];
    uint8_t* view = &views[i * 16];
    const int32_t len = static_cast<int32_t>(v.size());
    std::memcpy(view, &len, 4);
    if (v.size() <= 12) {
      std::memcpy(view + 4, v.data(), v.size());
      continue;
    }
    const int32_t buf = in.ConsumeIntegralInRange(0, n_data - 1);
    std::string& d = data[static_cast<size_t>(buf)];
    d.append(in.ConsumeIntegralInRange<size_t>(0, 2), '#');
    const int32_t start = static_cast<int32_t>(d.size());
    d += v;
    std::memcpy(view + 4, v.data(), 4);
    std::memcpy(view + 8, &buf, 4);
    std::memcpy(view + 12, &start, 4);
  }
  std::vector<const void*> bufs{validity, arena.buffer(views)};
  std::vector<int64_t> sizes;
  for (const auto& d : data) {
    bufs.push_back(arena.bytes(d));
    sizes.push_back(static_cast<int64_t>(d.size()));
  }
  bufs.push_back(arena.buffer(sizes));
  return bufs;
}

template <class T>
const void* fixed_values(Arena& arena, const std::vector<int64_t>& raw) {
  std::vector<T> v;
  for (int64_t r : raw) v.push_back(static_cast<T>(r));
  return arena.buffer(v);
}

// The dictionary (utf8 values, own offset and nulls) and per-element codes; a valid row
// sometimes carries a code outside the dictionary, which must read back as bad.
ArrowArray* make_dictionary(FuzzedDataProvider& in, Arena& arena, Kind kind, Batch& b) {
  const int64_t max_entries = kind == Kind::dict_i8 ? 127 : 40;
  const int64_t entries = in.ConsumeIntegralInRange<int64_t>(0, std::min<int64_t>(max_entries, 12));
  const int64_t dict_offset = in.ConsumeIntegralInRange<int64_t>(0, 3);
  std::vector<std::string> all(static_cast<size_t>(dict_offset + entries));
  for (auto& s : all) s = take_string(in);
  std::vector<bool> all_valid(all.size(), true);
  int64_t null_count = 0;
  const void* validity = make_validity(in, arena, all_valid, dict_offset, dict_offset + entries, &null_count);
  b.dict.assign(all.begin() + dict_offset, all.end());
  b.dict_valid.assign(all_valid.begin() + dict_offset, all_valid.end());
  const bool plant_bad = in.ConsumeBool();
  for (size_t i = 0; i < b.raw.size(); ++i) {
    const bool out_of_range = entries == 0 || (plant_bad && in.ConsumeIntegralInRange(0, 7) == 0);
    if (!out_of_range) {
      b.raw[i] = in.ConsumeIntegralInRange<int64_t>(0, entries - 1);
    } else if (kind == Kind::dict_u32) {
      b.raw[i] = in.ConsumeIntegralInRange<int64_t>(entries, std::numeric_limits<uint32_t>::max());
    } else {
      const int64_t lo = kind == Kind::dict_i8 ? -128 : kind == Kind::dict_i16 ? -32768 : INT32_MIN;
      const int64_t hi = kind == Kind::dict_i8 ? 127 : kind == Kind::dict_i16 ? 32767 : INT32_MAX;
      b.raw[i] = in.ConsumeBool() ? in.ConsumeIntegralInRange<int64_t>(lo, -1)
                                  : in.ConsumeIntegralInRange<int64_t>(std::min(entries, hi), hi);
    }
  }
  return arena.array(entries, dict_offset, null_count, string_buffers<int32_t>(in, arena, validity, all));
}

const char* format_of(Kind k, FuzzedDataProvider& in) {
  static const char* const zones[] = {"", "UTC", "Europe/Paris", "+07:30"};
  static std::string ts;
  switch (k) {
    case Kind::utf8: return "u";
    case Kind::large_utf8: return "U";
    case Kind::string_view: return "vu";
    case Kind::dict_i8: return "c";
    case Kind::dict_i16: return "s";
    case Kind::dict_i32: return "i";
    case Kind::dict_u32: return "I";
    case Kind::int32: return "i";
    case Kind::int64: return "l";
    case Kind::uint64: return "L";
    case Kind::ts_ms:
    case Kind::ts_us:
      ts = std::string(k == Kind::ts_ms ? "tsm:" : "tsu:") + zones[in.ConsumeIntegralInRange(0, 3)];
      return ts.c_str();
    case Kind::date32: return "tdD";
    case Kind::date64: return "tdm";
    default: return "?";
  }
}

// Builds one record batch (a one-column struct) of `kind` from the input.
Batch make_batch(FuzzedDataProvider& in, Arena& arena, Kind kind) {
  Batch b;
  b.rows = in.ConsumeIntegralInRange<int64_t>(0, 40);
  b.batch_offset = in.ConsumeIntegralInRange<int64_t>(0, 9);
  b.column_offset = in.ConsumeIntegralInRange<int64_t>(0, 9);
  const int64_t struct_len = b.batch_offset + b.rows;
  // The column covers the struct's elements, sometimes more (a longer child is valid).
  const int64_t column_len = struct_len + in.ConsumeIntegralInRange<int64_t>(0, 3);
  const size_t elements = static_cast<size_t>(b.column_offset + column_len);
  b.valid.assign(elements, true);
  int64_t null_count = 0;
  const void* validity = make_validity(in, arena, b.valid, b.column_offset, b.column_offset + column_len, &null_count);

  std::vector<const void*> buffers;
  ArrowArray* dictionary = nullptr;
  if (is_string(kind) && !is_dict(kind)) {
    b.text.resize(elements);
    for (auto& s : b.text) s = take_string(in);
    if (kind == Kind::utf8) buffers = string_buffers<int32_t>(in, arena, validity, b.text);
    else if (kind == Kind::large_utf8) buffers = string_buffers<int64_t>(in, arena, validity, b.text);
    else buffers = view_buffers(in, arena, validity, b.text);
  } else {
    b.raw.resize(elements);
    if (is_dict(kind)) {
      dictionary = make_dictionary(in, arena, kind, b);
    } else {
      for (auto& r : b.raw) r = in.ConsumeIntegral<int64_t>();
    }
    const void* values = nullptr;
    switch (kind) {
      case Kind::dict_i8: values = fixed_values<int8_t>(arena, b.raw); break;
      case Kind::dict_i16: values = fixed_values<int16_t>(arena, b.raw); break;
      case Kind::dict_i32: case Kind::int32: case Kind::date32:
        for (auto& r : b.raw) r = static_cast<int32_t>(r);
        values = fixed_values<int32_t>(arena, b.raw);
        break;
      case Kind::dict_u32: values = fixed_values<uint32_t>(arena, b.raw); break;
      default: values = fixed_values<int64_t>(arena, b.raw); break;
    }
    buffers = {validity, values};
  }
  ArrowArray* column = arena.array(column_len, b.column_offset, null_count, buffers, {}, dictionary);

  // The struct's own validity: usually none, as record batches export it.
  b.struct_valid.assign(static_cast<size_t>(struct_len), true);
  int64_t struct_nulls = 0;
  const void* struct_bits = nullptr;
  if (in.ConsumeIntegralInRange(0, 3) == 0)
    struct_bits = make_validity(in, arena, b.struct_valid, b.batch_offset, struct_len, &struct_nulls);
  b.array = arena.array(b.rows, b.batch_offset, struct_nulls, {struct_bits}, {column});
  return b;
}

// ---- Consumer side: the checks.

// Runs `read`, which must throw ArrowBatchError (a wrong-typed read); anything else aborts.
template <class Fn>
void expect_batch_error(const char* what, Fn&& read) {
  try {
    read();
  } catch (const ArrowBatchError&) {
    return;
  }
  std::fprintf(stderr, "reading the column as %s did not throw ArrowBatchError\n", what);
  std::abort();
}

int64_t floor_day(int64_t v, int64_t units) {
  return v / units - (v % units < 0 ? 1 : 0);  // C++ division truncates toward zero
}

void check_strings(const RecordBatchView& view, const Batch& b, Kind kind) {
  const StringColumn col = view.strings(0);
  FUZZ_CHECK(col.length() == b.rows);
  FUZZ_CHECK(col.is_dictionary() == is_dict(kind));
  if (is_dict(kind)) {
    FUZZ_CHECK(col.dictionary_size() == static_cast<int64_t>(b.dict.size()));
    for (size_t k = 0; k < b.dict.size(); ++k) {
      std::string_view s;
      const Cell c = col.dictionary_entry(static_cast<int64_t>(k), &s);
      FUZZ_CHECK(c == (b.dict_valid[k] ? Cell::value : Cell::null));
      if (c == Cell::value) FUZZ_CHECK(s == b.dict[k]);
    }
    std::string_view ignored;
    FUZZ_CHECK(col.dictionary_entry(-1, &ignored) == Cell::bad);
    FUZZ_CHECK(col.dictionary_entry(col.dictionary_size(), &ignored) == Cell::bad);
  }
  for (int64_t r = 0; r < b.rows; ++r) {
    std::string_view s;
    std::string why;
    const Cell c = col.get(r, &s, &why);
    if (b.row_null(r)) {
      FUZZ_CHECK(c == Cell::null);
      FUZZ_CHECK(col.is_null(r));
      continue;
    }
    const size_t e = static_cast<size_t>(b.element(r));
    if (!is_dict(kind)) {
      FUZZ_CHECK(c == Cell::value);
      FUZZ_CHECK(s == b.text[e]);
      continue;
    }
    const int64_t k = b.raw[e];
    int64_t code = -2;
    const Cell cc = col.code(r, &code);
    if (k < 0 || k >= static_cast<int64_t>(b.dict.size())) {
      FUZZ_CHECK(cc == Cell::bad && c == Cell::bad && !why.empty());
      continue;
    }
    FUZZ_CHECK(cc == Cell::value && code == k);
    const size_t kk = static_cast<size_t>(k);
    FUZZ_CHECK(c == (b.dict_valid[kk] ? Cell::value : Cell::null));
    if (c == Cell::value) FUZZ_CHECK(s == b.dict[kk]);
  }
  // Dates from strings: each row is a day, bad (not a date) or null exactly as the string.
  const DayColumn days = view.days(0);
  for (int64_t r = 0; r < b.rows; ++r) {
    std::string_view s;
    int32_t day;
    const Cell sc = col.get(r, &s);
    const Cell dc = days.get(r, &day);
    FUZZ_CHECK(sc == Cell::value ? dc != Cell::null : dc == sc);
  }
  expect_batch_error("integers", [&] { view.integers(0); });
}

void check_integers(const RecordBatchView& view, const Batch& b, Kind kind) {
  const IntColumn col = view.integers(0);
  FUZZ_CHECK(col.length() == b.rows);
  FUZZ_CHECK(col.is_unsigned() == (kind == Kind::uint64));
  for (int64_t r = 0; r < b.rows; ++r) {
    int64_t i = 0;
    uint64_t u = 0;
    const Cell ci = col.get_int64(r, &i);
    const Cell cu = col.get_uint64(r, &u);
    FUZZ_CHECK(col.is_null(r) == b.row_null(r));
    if (b.row_null(r)) {
      FUZZ_CHECK(ci == Cell::null && cu == Cell::null);
      continue;
    }
    const int64_t raw = b.raw[static_cast<size_t>(b.element(r))];
    if (kind == Kind::uint64) {
      FUZZ_CHECK(cu == Cell::value && u == static_cast<uint64_t>(raw));
      FUZZ_CHECK(raw < 0 ? ci == Cell::bad : (ci == Cell::value && i == raw));
    } else {
      FUZZ_CHECK(ci == Cell::value && i == raw);
      FUZZ_CHECK(raw < 0 ? cu == Cell::bad : (cu == Cell::value && u == static_cast<uint64_t>(raw)));
    }
  }
  expect_batch_error("strings", [&] { view.strings(0); });
  expect_batch_error("days", [&] { view.days(0); });
}

void check_days(const RecordBatchView& view, const Batch& b, Kind kind) {
  const DayColumn col = view.days(0);
  FUZZ_CHECK(col.length() == b.rows);
  const int64_t units = kind == Kind::ts_ms || kind == Kind::date64 ? 86400000LL
                        : kind == Kind::ts_us                     ? 86400000000LL
                                                                  : 1;
  for (int64_t r = 0; r < b.rows; ++r) {
    int32_t day = 0;
    std::string why;
    const Cell c = col.get(r, &day, &why);
    FUZZ_CHECK(col.is_null(r) == b.row_null(r));
    if (b.row_null(r)) {
      FUZZ_CHECK(c == Cell::null);
      continue;
    }
    const int64_t want = floor_day(b.raw[static_cast<size_t>(b.element(r))], units);
    if (want < INT32_MIN || want > INT32_MAX) {
      FUZZ_CHECK(c == Cell::bad && !why.empty());
    } else {
      FUZZ_CHECK(c == Cell::value && day == want);
    }
  }
  expect_batch_error("strings", [&] { view.strings(0); });
  expect_batch_error("integers", [&] { view.integers(0); });
}

void check_batch(const RecordBatchView& view, const Batch& b, Kind kind) {
  FUZZ_CHECK(view.num_rows() == b.rows && view.num_columns() == 1);
  FUZZ_CHECK(view.find("missing|col") == 0);
  expect_batch_error("a missing column", [&] { view.require("missing|other"); });
  if (is_string(kind)) check_strings(view, b, kind);
  else if (is_int(kind)) check_integers(view, b, kind);
  else check_days(view, b, kind);
  // A bad cell of row r is a reject at the global line first_row + r + 1.
  if (b.rows > 0) {
    const host::Reject rej = view.reject(RowProblem{b.rows - 1, "col", "why"});
    FUZZ_CHECK(rej.line == view.context().first_row + static_cast<uint64_t>(b.rows));
  }
}

// ---- A C Stream over the batches built: hands each out once; its release releases the
// schema and the batches never handed out.

struct StreamState {
  ArrowSchema* schema = nullptr;
  std::vector<Batch>* batches = nullptr;
  size_t next = 0;
  int fail_at = -1;  // get_next fails (EIO) at this batch, -1: never
  int* released = nullptr;
};

int stream_get_schema(ArrowArrayStream* s, ArrowSchema* out) {
  auto* st = static_cast<StreamState*>(s->private_data);
  FUZZ_CHECK(st->schema->release);  // asked once: moved out the first time
  *out = *st->schema;
  st->schema->release = nullptr;
  return 0;
}

int stream_get_next(ArrowArrayStream* s, ArrowArray* out) {
  auto* st = static_cast<StreamState*>(s->private_data);
  if (static_cast<int>(st->next) == st->fail_at) return EIO;
  if (st->next == st->batches->size()) {
    out->release = nullptr;
    return 0;
  }
  ArrowArray* a = (*st->batches)[st->next++].array;
  *out = *a;
  a->release = nullptr;
  return 0;
}

const char* stream_last_error(ArrowArrayStream*) { return "planted failure"; }

void stream_release(ArrowArrayStream* s) {
  auto* st = static_cast<StreamState*>(s->private_data);
  if (st->schema->release) st->schema->release(st->schema);
  for (auto& b : *st->batches)
    if (b.array->release) b.array->release(b.array);
  ++*st->released;
  s->release = nullptr;
}

struct StopEarly {};

void run_stream(FuzzedDataProvider& in, Arena& arena, ArrowSchema* schema, std::vector<Batch>& batches,
                Kind kind) {
  StreamState st;
  st.schema = schema;
  st.batches = &batches;
  st.released = &arena.releases.emplace_back(0);
  const int ending = in.ConsumeIntegralInRange(0, 3);  // 0: a failing get_next, 1: a throwing consumer
  const int at = in.ConsumeIntegralInRange(0, static_cast<int>(batches.size()));
  if (ending == 0) st.fail_at = at;
  ArrowArrayStream stream{stream_get_schema, stream_get_next, stream_last_error, stream_release, &st};
  size_t seen = 0;
  uint64_t rows_before = 0;
  try {
    const uint64_t n = for_each_batch(&stream, "fuzz", [&](const RecordBatchView& view) {
      if (ending == 1 && static_cast<int>(seen) == at) throw StopEarly{};
      FUZZ_CHECK(seen < batches.size());
      FUZZ_CHECK(view.context().source == "arrow:fuzz");
      FUZZ_CHECK(view.context().batch == seen && view.context().first_row == rows_before);
      check_batch(view, batches[seen], kind);
      rows_before += static_cast<uint64_t>(batches[seen].rows);
      ++seen;
    });
    FUZZ_CHECK(st.fail_at < 0 || st.fail_at >= static_cast<int>(batches.size()));
    FUZZ_CHECK(n == batches.size() && seen == batches.size());
  } catch (const StopEarly&) {
    FUZZ_CHECK(ending == 1 && static_cast<int>(seen) == at);
  } catch (const InputError& e) {
    FUZZ_CHECK(static_cast<int>(seen) == st.fail_at);
    FUZZ_CHECK(std::string(e.what()).find("planted failure") != std::string::npos);
  }
  FUZZ_CHECK(stream.release == nullptr);  // moved into the reader
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Arena arena;
  const Kind kind = static_cast<Kind>(in.ConsumeIntegralInRange<int>(0, static_cast<int>(Kind::kCount) - 1));
  const bool as_stream = in.ConsumeBool();
  const size_t n_batches = as_stream ? in.ConsumeIntegralInRange<size_t>(1, 3) : 1;

  const char* format = format_of(kind, in);
  ArrowSchema* dict_schema = is_dict(kind) ? arena.schema("u", nullptr) : nullptr;
  ArrowSchema* column_schema = arena.schema(format, "col", {}, dict_schema);
  ArrowSchema* schema = arena.schema("+s", "", {column_schema});

  std::vector<Batch> batches;
  for (size_t i = 0; i < n_batches; ++i) batches.push_back(make_batch(in, arena, kind));

  if (as_stream) {
    run_stream(in, arena, schema, batches, kind);
  } else {
    // Owned (moved) as a consumer holds them; released when the owners go out of scope.
    OwnedSchema owned_schema(schema);
    OwnedArray owned_array(batches[0].array);
    FUZZ_CHECK(!schema->release && !batches[0].array->release);
    try {
      check_batch(RecordBatchView(owned_schema.get(), owned_array.get()), batches[0], kind);
    } catch (const ArrowBatchError& e) {
      std::fprintf(stderr, "a valid batch was refused: %s\n", e.what());
      std::abort();
    }
  }
  for (int released : arena.releases) FUZZ_CHECK(released == 1);
  return 0;
}
