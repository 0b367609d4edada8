// Arrow C Data Interface import: typed row-wise views over the columns of a record batch, and
// a C Stream reader that releases every structure it is handed exactly once.
#include "ecostat/host/arrow_columns.hpp"

#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "text.hpp"

namespace ecostat::host::arrow {

using detail::IntType;
using detail::StringLayout;
using detail::StringValues;
using detail::Validity;

// ---- Ownership

OwnedSchema::OwnedSchema(ArrowSchema* source) {
  if (source) {
    schema_ = *source;
    source->release = nullptr;
  }
}
OwnedSchema::OwnedSchema(OwnedSchema&& other) noexcept : schema_(other.schema_) {
  other.schema_.release = nullptr;
}
OwnedSchema& OwnedSchema::operator=(OwnedSchema&& other) noexcept {
  if (this != &other) {
    reset();
    schema_ = other.schema_;
    other.schema_.release = nullptr;
  }
  return *this;
}
void OwnedSchema::reset() {
  if (schema_.release) schema_.release(&schema_);
  schema_ = ArrowSchema{};
}
ArrowSchema* OwnedSchema::out() {
  reset();
  return &schema_;
}

OwnedArray::OwnedArray(ArrowArray* source) {
  if (source) {
    array_ = *source;
    source->release = nullptr;
  }
}
OwnedArray::OwnedArray(OwnedArray&& other) noexcept : array_(other.array_) {
  other.array_.release = nullptr;
}
OwnedArray& OwnedArray::operator=(OwnedArray&& other) noexcept {
  if (this != &other) {
    reset();
    array_ = other.array_;
    other.array_.release = nullptr;
  }
  return *this;
}
void OwnedArray::reset() {
  if (array_.release) array_.release(&array_);
  array_ = ArrowArray{};
}
ArrowArray* OwnedArray::out() {
  reset();
  return &array_;
}

ArrowBatchError::ArrowBatchError(const std::string& source, uint64_t batch, const std::string& column,
                                 const std::string& reason)
    : InputError(source, 0, column, "batch " + std::to_string(batch) + ": " + reason), batch_(batch) {}

// ---- Format strings

namespace {

bool int_type_of(std::string_view f, IntType* t) {
  if (f.size() != 1) return false;
  switch (f[0]) {
    case 'c': *t = IntType::i8; return true;
    case 'C': *t = IntType::u8; return true;
    case 's': *t = IntType::i16; return true;
    case 'S': *t = IntType::u16; return true;
    case 'i': *t = IntType::i32; return true;
    case 'I': *t = IntType::u32; return true;
    case 'l': *t = IntType::i64; return true;
    case 'L': *t = IntType::u64; return true;
    default: return false;
  }
}

bool string_layout_of(std::string_view f, StringLayout* l) {
  if (f == "u") *l = StringLayout::utf8;
  else if (f == "U") *l = StringLayout::large_utf8;
  else if (f == "vu") *l = StringLayout::view;
  else return false;
  return true;
}

// A timestamp's units per day, or 0 when f is not "ts<unit>:<zone>".
int64_t timestamp_units_per_day(std::string_view f) {
  if (f.size() < 4 || f.compare(0, 2, "ts") != 0 || f[3] != ':') return 0;
  switch (f[2]) {
    case 's': return 86400LL;
    case 'm': return 86400LL * 1000;
    case 'u': return 86400LL * 1000 * 1000;
    case 'n': return 86400LL * 1000 * 1000 * 1000;
    default: return 0;
  }
}

// The Arrow type name of a format string, for messages ("" when not a common one).
const char* type_name(std::string_view f) {
  static const std::pair<const char*, const char*> names[] = {
      {"n", "null"}, {"b", "boolean"}, {"c", "int8"}, {"C", "uint8"}, {"s", "int16"},
      {"S", "uint16"}, {"i", "int32"}, {"I", "uint32"}, {"l", "int64"}, {"L", "uint64"},
      {"e", "float16"}, {"f", "float32"}, {"g", "float64"}, {"z", "binary"},
      {"Z", "large_binary"}, {"vz", "binary_view"}, {"u", "utf8"}, {"U", "large_utf8"},
      {"vu", "string_view"}, {"tdD", "date32"}, {"tdm", "date64"}, {"+l", "list"},
      {"+L", "large_list"}, {"+s", "struct"}, {"+m", "map"}};
  for (const auto& n : names)
    if (f == n.first) return n.second;
  if (f.compare(0, 2, "ts") == 0) return "timestamp";
  if (f.compare(0, 2, "tt") == 0) return "time";
  if (f.compare(0, 2, "tD") == 0) return "duration";
  if (f.compare(0, 2, "d:") == 0) return "decimal";
  return "";
}

std::string format_of(const ArrowSchema& s) { return s.format ? s.format : ""; }

// "'g' (float64)", or for a dictionary "dictionary of 'u' (utf8) with 'i' (int32) indices".
std::string describe(const ArrowSchema& s) {
  const std::string f = format_of(s);
  const char* n = type_name(f);
  std::string d = "'" + f + "'" + (*n ? std::string(" (") + n + ")" : std::string());
  if (s.dictionary) return "dictionary of " + describe(*s.dictionary) + " with " + d + " indices";
  return d;
}

int64_t floor_div(int64_t a, int64_t b) {  // b > 0
  int64_t q = a / b;
  if (a % b != 0 && a < 0) --q;
  return q;
}

bool is_signed(IntType t) {
  return t == IntType::i8 || t == IntType::i16 || t == IntType::i32 || t == IntType::i64;
}

template <class T>
T load(const void* p, int64_t i) {
  T v;
  std::memcpy(&v, static_cast<const char*>(p) + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return v;
}

int64_t read_signed(IntType t, const void* p, int64_t i) {
  switch (t) {
    case IntType::i8: return load<int8_t>(p, i);
    case IntType::i16: return load<int16_t>(p, i);
    case IntType::i32: return load<int32_t>(p, i);
    default: return load<int64_t>(p, i);
  }
}

uint64_t read_unsigned(IntType t, const void* p, int64_t i) {
  switch (t) {
    case IntType::u8: return load<uint8_t>(p, i);
    case IntType::u16: return load<uint16_t>(p, i);
    case IntType::u32: return load<uint32_t>(p, i);
    default: return load<uint64_t>(p, i);
  }
}

void set(std::string* why, std::string text) {
  if (why) *why = std::move(text);
}

constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();

}  // namespace

// ---- String values

Cell StringValues::at(int64_t i, std::string_view* out, std::string* why) const {
  const int64_t e = offset + i;
  if (layout == StringLayout::view) {
    const char* v = static_cast<const char*>(offsets_or_views) + 16 * e;
    int32_t len;
    std::memcpy(&len, v, 4);
    if (len < 0) return set(why, "string view of negative length " + std::to_string(len)), Cell::bad;
    if (len <= 12) {
      *out = std::string_view(v + 4, static_cast<size_t>(len));
      return Cell::value;
    }
    int32_t buffer, start;
    std::memcpy(&buffer, v + 8, 4);
    std::memcpy(&start, v + 12, 4);
    if (buffer < 0 || buffer >= n_view_buffers || start < 0 || !view_buffers[buffer] ||
        static_cast<int64_t>(start) + len > view_sizes[buffer]) {
      set(why, "string view outside its data buffers (buffer " + std::to_string(buffer) + ", offset " +
                   std::to_string(start) + ", length " + std::to_string(len) + ")");
      return Cell::bad;
    }
    *out = std::string_view(view_buffers[buffer] + start, static_cast<size_t>(len));
    return Cell::value;
  }
  int64_t begin, end;
  if (layout == StringLayout::utf8) {
    begin = load<int32_t>(offsets_or_views, e);
    end = load<int32_t>(offsets_or_views, e + 1);
  } else {
    begin = load<int64_t>(offsets_or_views, e);
    end = load<int64_t>(offsets_or_views, e + 1);
  }
  if (begin < 0 || end < begin || (end > begin && !data)) {
    set(why, "corrupt string offsets " + std::to_string(begin) + ".." + std::to_string(end));
    return Cell::bad;
  }
  *out = std::string_view(end > begin ? data + begin : "", static_cast<size_t>(end - begin));
  return Cell::value;
}

// ---- Record batch

RecordBatchView::RecordBatchView(const ArrowSchema& schema, const ArrowArray& array, BatchContext context)
    : schema_(&schema), array_(&array), context_(std::move(context)) {
  if (format_of(schema) != "+s")
    throw error("", "the batch's type is " + describe(schema) + ", not a struct (a record batch)");
  if (!array.release) throw error("", "the batch's ArrowArray is released");
  if (array.length < 0 || array.offset < 0)
    throw error("", "negative length or offset (" + std::to_string(array.length) + ", " +
                        std::to_string(array.offset) + ")");
  if (array.n_children != schema.n_children)
    throw error("", "the array has " + std::to_string(array.n_children) + " columns, its schema " +
                        std::to_string(schema.n_children));
  if (schema.n_children > 0 && (!schema.children || !array.children))
    throw error("", "missing children pointers");
  // A null struct row (rare: record batches export none) makes every column of that row null.
  if (array.null_count != 0 && array.n_buffers >= 1 && array.buffers && array.buffers[0])
    validity_ = Validity{static_cast<const uint8_t*>(array.buffers[0]), array.offset};
}

ArrowBatchError RecordBatchView::error(const std::string& column, const std::string& reason) const {
  return ArrowBatchError(context_.source, context_.batch, column, reason);
}

Reject RecordBatchView::reject(const RowProblem& problem) const {
  return Reject{context_.source, context_.first_row + static_cast<uint64_t>(problem.row) + 1, problem.column,
                problem.reason};
}

std::string RecordBatchView::column_name(int64_t index) const {
  const ArrowSchema* c = schema_->children[index];
  return c && c->name ? c->name : "";
}

std::string RecordBatchView::column_format(int64_t index) const {
  const ArrowSchema* c = schema_->children[index];
  return c ? format_of(*c) : "";
}

int64_t RecordBatchView::find(std::string_view aliases) const {
  while (true) {
    const size_t bar = aliases.find('|');
    const std::string_view name = aliases.substr(0, bar);
    for (int64_t i = 0; i < num_columns(); ++i) {
      const ArrowSchema* c = schema_->children[i];
      if (c && c->name && name == c->name) return i;
    }
    if (bar == std::string_view::npos) return -1;
    aliases.remove_prefix(bar + 1);
  }
}

int64_t RecordBatchView::require(std::string_view aliases) const {
  const int64_t i = find(aliases);
  if (i >= 0) return i;
  std::string names;  // "repo, repo_id or id"
  std::string_view rest = aliases;
  while (!rest.empty()) {
    const size_t bar = rest.find('|');
    if (!names.empty()) names += bar == std::string_view::npos ? " or " : ", ";
    names += std::string(rest.substr(0, bar));
    if (bar == std::string_view::npos) break;
    rest.remove_prefix(bar + 1);
  }
  const std::string first(aliases.substr(0, aliases.find('|')));
  throw error(first, "no column named " + names);
}

namespace {

// The validity bitmap of `a`, read from element `offset`.
Validity validity_of(const ArrowArray& a, int64_t offset) {
  if (a.null_count == 0 || a.n_buffers < 1 || !a.buffers || !a.buffers[0]) return {};
  return Validity{static_cast<const uint8_t*>(a.buffers[0]), offset};
}

}  // namespace

detail::ColumnSlot RecordBatchView::slot(int64_t index) const {
  if (index < 0 || index >= num_columns())
    throw error("", "no column " + std::to_string(index) + " (the batch has " + std::to_string(num_columns()) + ")");
  const ArrowSchema* s = schema_->children[index];
  const ArrowArray* a = array_->children[index];
  const std::string name = column_name(index);
  if (!s || !a || !s->format) throw error(name, "missing column schema or array");
  if (a->length < 0 || a->offset < 0) throw error(name, "negative length or offset");
  if (a->length < array_->offset + array_->length)
    throw error(name, "the column has " + std::to_string(a->length) + " rows where the batch needs " +
                          std::to_string(array_->offset + array_->length));
  if (a->null_count > 0 && (a->n_buffers < 1 || !a->buffers || !a->buffers[0]))
    throw error(name, "null_count " + std::to_string(a->null_count) + " without a validity bitmap");
  if (a->n_buffers > 0 && !a->buffers) throw error(name, "missing buffers");
  detail::ColumnSlot slot;
  slot.name = name;
  slot.format = s->format;
  slot.base = a->offset + array_->offset;
  slot.length = array_->length;
  slot.batch_validity = validity_;
  slot.validity = validity_of(*a, slot.base);
  slot.array = a;
  return slot;
}

namespace {

// The fixed-width values buffer (buffers[1]) of a primitive array.
const void* values_buffer(const ArrowArray& a, const detail::ColumnSlot& slot, const RecordBatchView& batch) {
  if (a.n_buffers != 2) throw batch.error(slot.name, "expected 2 buffers for " + slot.format + ", got " + std::to_string(a.n_buffers));
  if (!a.buffers[1] && slot.base + slot.length > 0) throw batch.error(slot.name, "missing values buffer");
  return a.buffers[1];
}

// The string values of array `a` (element `offset` is the first one handed out).
StringValues string_values(const ArrowArray& a, StringLayout layout, int64_t offset, int64_t length,
                           const std::string& column, const RecordBatchView& batch) {
  StringValues v;
  v.layout = layout;
  v.offset = offset;
  v.length = length;
  v.validity = validity_of(a, offset);
  if (layout == StringLayout::view) {
    // validity, views, the variadic data buffers, then one int64 size per data buffer.
    if (a.n_buffers < 3 || !a.buffers) throw batch.error(column, "a string_view array needs at least 3 buffers, got " + std::to_string(a.n_buffers));
    v.offsets_or_views = a.buffers[1];
    v.n_view_buffers = a.n_buffers - 3;
    v.view_buffers = reinterpret_cast<const char* const*>(a.buffers + 2);
    v.view_sizes = static_cast<const int64_t*>(a.buffers[a.n_buffers - 1]);
    if (v.n_view_buffers > 0 && !v.view_sizes) throw batch.error(column, "missing the variadic buffer sizes");
  } else {
    if (a.n_buffers != 3 || !a.buffers) throw batch.error(column, "a string array needs 3 buffers, got " + std::to_string(a.n_buffers));
    v.offsets_or_views = a.buffers[1];
    v.data = static_cast<const char*>(a.buffers[2]);
  }
  if (!v.offsets_or_views && offset + length > 0)
    throw batch.error(column, layout == StringLayout::view ? "missing views buffer" : "missing offsets buffer");
  return v;
}

const char* kStringTypes = "utf8, large_utf8, string_view or a dictionary of them";

}  // namespace

StringColumn RecordBatchView::strings(int64_t index) const {
  StringColumn c;
  c.slot_ = slot(index);
  const ArrowSchema& s = *schema_->children[index];
  const ArrowArray& a = *c.slot_.array;
  StringLayout layout;
  if (!s.dictionary) {
    if (!string_layout_of(c.slot_.format, &layout))
      throw error(c.slot_.name, "Arrow type " + describe(s) + " where a string is required (" + kStringTypes + ")");
    c.values_ = string_values(a, layout, c.slot_.base, c.slot_.length, c.slot_.name, *this);
    return c;
  }
  if (!int_type_of(c.slot_.format, &c.index_type_) || !s.dictionary->format ||
      !string_layout_of(s.dictionary->format, &layout))
    throw error(c.slot_.name, "Arrow type " + describe(s) + " where a string is required (" + kStringTypes + ")");
  if (!a.dictionary) throw error(c.slot_.name, "dictionary-encoded column without its dictionary array");
  const ArrowArray& d = *a.dictionary;
  if (d.length < 0 || d.offset < 0) throw error(c.slot_.name, "dictionary of negative length or offset");
  c.dictionary_ = true;
  c.indices_ = values_buffer(a, c.slot_, *this);
  c.values_ = string_values(d, layout, d.offset, d.length, c.slot_.name, *this);
  return c;
}

IntColumn RecordBatchView::integers(int64_t index) const {
  IntColumn c;
  c.slot_ = slot(index);
  const ArrowSchema& s = *schema_->children[index];
  if (s.dictionary || !int_type_of(c.slot_.format, &c.type_))
    throw error(c.slot_.name, "Arrow type " + describe(s) + " where an integer is required (int8..int64, uint8..uint64)");
  c.values_ = values_buffer(*c.slot_.array, c.slot_, *this);
  return c;
}

bool StringColumn::same_dictionary_values(const StringColumn& other) const {
  if (!dictionary_ || !other.dictionary_ || values_.length != other.values_.length) return false;
  const detail::StringValues& a = values_;
  const detail::StringValues& b = other.values_;
  if (a.layout == b.layout && a.layout != detail::StringLayout::view && !a.validity.bits && !b.validity.bits) {
    // Offsets then bytes, compared as blocks (memcmp) instead of one entry at a time.
    const size_t width = a.layout == detail::StringLayout::utf8 ? 4 : 8;
    auto offset_at = [&](const detail::StringValues& v, int64_t i) {
      return width == 4 ? int64_t(load<int32_t>(v.offsets_or_views, v.offset + i))
                        : load<int64_t>(v.offsets_or_views, v.offset + i);
    };
    const int64_t a0 = offset_at(a, 0), b0 = offset_at(b, 0);
    const int64_t a1 = offset_at(a, a.length), b1 = offset_at(b, b.length);
    if (a1 - a0 != b1 - b0 || a0 < 0 || b0 < 0 || a1 < a0) return false;
    if (a0 == b0 && std::memcmp(static_cast<const char*>(a.offsets_or_views) + width * size_t(a.offset),
                                static_cast<const char*>(b.offsets_or_views) + width * size_t(b.offset),
                                width * size_t(a.length + 1)) != 0)
      return false;
    if (a0 != b0)
      for (int64_t i = 1; i < a.length; ++i)
        if (offset_at(a, i) - a0 != offset_at(b, i) - b0) return false;
    return a1 == a0 || (a.data && b.data && std::memcmp(a.data + a0, b.data + b0, size_t(a1 - a0)) == 0);
  }
  for (int64_t i = 0; i < a.length; ++i) {  // other layouts, or nulls in a dictionary: entry by entry
    std::string_view x, y;
    const Cell cx = a.at(i, &x, nullptr), cy = b.at(i, &y, nullptr);
    if (cx != cy || (cx == Cell::value && x != y)) return false;
  }
  return true;
}

FloatColumn RecordBatchView::floats(int64_t index) const {
  FloatColumn c;
  c.slot_ = slot(index);
  const ArrowSchema& s = *schema_->children[index];
  if (s.dictionary || (c.slot_.format != "f" && c.slot_.format != "g"))
    throw error(c.slot_.name, "Arrow type " + describe(s) + " where a floating-point number is required (float32, float64)");
  c.single_ = c.slot_.format == "f";
  c.values_ = values_buffer(*c.slot_.array, c.slot_, *this);
  return c;
}

Cell FloatColumn::get(int64_t row, double* out) const {
  if (slot_.is_null(row)) return Cell::null;
  const int64_t i = slot_.base + row;
  *out = single_ ? double(static_cast<const float*>(values_)[i]) : static_cast<const double*>(values_)[i];
  return Cell::value;
}

DayColumn RecordBatchView::days(int64_t index) const {
  DayColumn c;
  c.slot_ = slot(index);
  const ArrowSchema& s = *schema_->children[index];
  const std::string& f = c.slot_.format;
  StringLayout layout;
  if (s.dictionary || string_layout_of(f, &layout)) {
    try {
      c.strings_ = strings(index);
    } catch (const ArrowBatchError&) {
      throw error(c.slot_.name, "Arrow type " + describe(s) + " where a date is required (date32, date64, "
                                "timestamp, or ISO date strings)");
    }
    c.kind_ = DayColumn::Kind::string;
    return c;
  }
  if (f == "tdD") {
    c.kind_ = DayColumn::Kind::date32;
  } else if (f == "tdm") {
    c.kind_ = DayColumn::Kind::date64;
    c.units_per_day_ = 86400LL * 1000;
  } else if (const int64_t units = timestamp_units_per_day(f)) {
    c.kind_ = DayColumn::Kind::timestamp;
    c.units_per_day_ = units;
  } else {
    throw error(c.slot_.name, "Arrow type " + describe(s) + " where a date is required (date32, date64, "
                              "timestamp, or ISO date strings)");
  }
  c.values_ = values_buffer(*c.slot_.array, c.slot_, *this);
  return c;
}

// ---- Column views

Cell StringColumn::code(int64_t row, int64_t* out, std::string* why) const {
  if (slot_.is_null(row)) return Cell::null;
  int64_t k;
  if (is_signed(index_type_)) {
    k = read_signed(index_type_, indices_, slot_.base + row);
  } else {
    const uint64_t u = read_unsigned(index_type_, indices_, slot_.base + row);
    k = u > static_cast<uint64_t>(kMaxInt64) ? -1 : static_cast<int64_t>(u);
  }
  if (k < 0 || k >= values_.length) {
    set(why, "dictionary index " + std::to_string(k) + " outside the dictionary (" +
                 std::to_string(values_.length) + " entries)");
    return Cell::bad;
  }
  *out = k;
  return Cell::value;
}

Cell StringColumn::dictionary_entry(int64_t code, std::string_view* out, std::string* why) const {
  if (code < 0 || code >= values_.length) {
    set(why, "dictionary index " + std::to_string(code) + " outside the dictionary (" +
                 std::to_string(values_.length) + " entries)");
    return Cell::bad;
  }
  if (!values_.validity.valid(code)) return Cell::null;
  return values_.at(code, out, why);
}

Cell StringColumn::get(int64_t row, std::string_view* out, std::string* why) const {
  if (!dictionary_) {
    if (slot_.is_null(row)) return Cell::null;
    return values_.at(row, out, why);
  }
  int64_t k;
  const Cell c = code(row, &k, why);
  return c == Cell::value ? dictionary_entry(k, out, why) : c;
}

bool StringColumn::is_null(int64_t row) const {
  std::string_view ignored;
  return get(row, &ignored) == Cell::null;
}

bool IntColumn::is_null(int64_t row) const { return slot_.is_null(row); }
bool IntColumn::is_unsigned() const { return !is_signed(type_); }

Cell IntColumn::get_int64(int64_t row, int64_t* out, std::string* why) const {
  if (slot_.is_null(row)) return Cell::null;
  if (is_signed(type_)) {
    *out = read_signed(type_, values_, slot_.base + row);
    return Cell::value;
  }
  const uint64_t u = read_unsigned(type_, values_, slot_.base + row);
  if (u > static_cast<uint64_t>(kMaxInt64)) {
    set(why, "value " + std::to_string(u) + " above the int64 range");
    return Cell::bad;
  }
  *out = static_cast<int64_t>(u);
  return Cell::value;
}

Cell IntColumn::get_uint64(int64_t row, uint64_t* out, std::string* why) const {
  if (slot_.is_null(row)) return Cell::null;
  if (!is_signed(type_)) {
    *out = read_unsigned(type_, values_, slot_.base + row);
    return Cell::value;
  }
  const int64_t s = read_signed(type_, values_, slot_.base + row);
  if (s < 0) {
    set(why, "negative value " + std::to_string(s));
    return Cell::bad;
  }
  *out = static_cast<uint64_t>(s);
  return Cell::value;
}

bool DayColumn::is_null(int64_t row) const {
  return kind_ == Kind::string ? strings_.is_null(row) : slot_.is_null(row);
}

Cell DayColumn::get(int64_t row, int32_t* day, std::string* why) const {
  if (kind_ == Kind::string) {
    std::string_view text;
    const Cell c = strings_.get(row, &text, why);
    if (c != Cell::value) return c;
    const auto status = ecostat::host::detail::parse_day(text, std::numeric_limits<int32_t>::min(),
                                                         std::numeric_limits<int32_t>::max(), day);
    if (status == ecostat::host::detail::DateStatus::ok) return Cell::value;
    set(why, "not a date: '" + ecostat::host::detail::printable(text) + "'");
    return Cell::bad;
  }
  if (slot_.is_null(row)) return Cell::null;
  if (kind_ == Kind::date32) {
    *day = load<int32_t>(values_, slot_.base + row);
    return Cell::value;
  }
  const int64_t v = load<int64_t>(values_, slot_.base + row);
  const int64_t d = floor_div(v, units_per_day_);
  if (d < std::numeric_limits<int32_t>::min() || d > std::numeric_limits<int32_t>::max()) {
    set(why, "date out of range: " + std::to_string(v) + " (" + slot_.format + ")");
    return Cell::bad;
  }
  *day = static_cast<int32_t>(d);
  return Cell::value;
}

// ---- Stream

ArrowStreamReader::ArrowStreamReader(ArrowArrayStream* stream, std::string name)
    : source_("arrow:" + name) {
  if (!stream || !stream->release) throw InputError(source_, 0, "", "the Arrow stream is already released");
  holder_.stream = *stream;
  stream->release = nullptr;  // moved: this reader releases it
  ArrowArrayStream* s = &holder_.stream;
  if (!s->get_schema || !s->get_next) throw InputError(source_, 0, "", "the Arrow stream has no callbacks");
  if (const int rc = s->get_schema(s, schema_.out())) fail("get_schema", rc);
  if (!schema_.valid()) throw InputError(source_, 0, "", "get_schema returned a released schema");
  if (format_of(schema_.get()) != "+s")
    throw InputError(source_, 0, "", "the stream's type is " + describe(schema_.get()) +
                                         ", not a struct (record batches)");
}

void ArrowStreamReader::fail(const char* call, int code) {
  ArrowArrayStream* s = &holder_.stream;
  const char* message = s->get_last_error ? s->get_last_error(s) : nullptr;
  throw InputError(source_, 0, "", std::string(call) + " failed: " + (message ? message : "no message") +
                                       " (error " + std::to_string(code) + ": " + std::strerror(code) + ")");
}

bool ArrowStreamReader::next(OwnedArray* out, BatchContext* context) {
  ArrowArray* raw = out->out();  // the previous batch is released here
  if (ended_) return false;
  ArrowArrayStream* s = &holder_.stream;
  if (const int rc = s->get_next(s, raw)) {
    raw->release = nullptr;  // an error leaves nothing to release
    fail("get_next", rc);
  }
  if (!raw->release) {
    ended_ = true;
    return false;
  }
  if (context) *context = BatchContext{source_, batches_, rows_};
  ++batches_;
  rows_ += static_cast<uint64_t>(raw->length > 0 ? raw->length : 0);
  return true;
}

uint64_t for_each_batch(ArrowArrayStream* stream, const std::string& name,
                        const std::function<void(const RecordBatchView&)>& fn) {
  ArrowStreamReader reader(stream, name);
  OwnedArray batch;
  BatchContext context;
  while (reader.next(&batch, &context)) fn(RecordBatchView(reader.schema(), batch.get(), context));
  return reader.batches_read();
}

}  // namespace ecostat::host::arrow
