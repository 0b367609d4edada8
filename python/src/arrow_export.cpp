// The exporter of arrow_export.hpp. Ownership follows the C Data Interface: every struct
// handed out has its own release callback; the batch's buffers live in one holder shared by
// the parent array and its children, so a consumer may move a child out and release the
// parent first (the data stays until the last of them is released).
#include "arrow_export.hpp"

#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>

namespace ecostat::python {

size_t ExportColumn::size() const {
  switch (type) {
    case Type::utf8: return strings.size();
    case Type::uint64: return integers.size();
    case Type::float64: return reals.size();
  }
  return 0;
}

ExportColumn& ExportTable::add(const std::string& name, ExportColumn::Type type) {
  columns_.push_back(ExportColumn{name, type, {}, {}, {}});
  return columns_.back();
}

int64_t ExportTable::rows() const {
  if (columns_.empty()) return 0;
  const size_t n = columns_.front().size();
  for (const auto& c : columns_)
    if (c.size() != n) throw std::logic_error("export table: column '" + c.name + "' has another length");
  return static_cast<int64_t>(n);
}

namespace {

const char* format_of(ExportColumn::Type t) {
  switch (t) {
    case ExportColumn::Type::utf8: return "u";
    case ExportColumn::Type::uint64: return "L";
    case ExportColumn::Type::float64: return "g";
  }
  return "n";
}

// ---- schema --------------------------------------------------------------------------------
struct SchemaData {
  std::string format, name;
  std::vector<ArrowSchema*> children;
};

void release_schema(ArrowSchema* schema) {
  auto* data = static_cast<SchemaData*>(schema->private_data);
  for (ArrowSchema* child : data->children) {
    if (child->release) child->release(child);
    delete child;
  }
  delete data;
  schema->release = nullptr;
}

void fill_schema(ArrowSchema* out, const std::string& format, const std::string& name, int64_t flags) {
  auto* data = new SchemaData{format, name, {}};
  *out = ArrowSchema{};
  out->format = data->format.c_str();
  out->name = data->name.c_str();
  out->flags = flags;
  out->private_data = data;
  out->release = release_schema;
}

void export_schema(const ExportTable& table, ArrowSchema* out) {
  fill_schema(out, "+s", "", 0);
  auto* data = static_cast<SchemaData*>(out->private_data);
  for (const auto& column : table.columns()) {
    auto* child = new ArrowSchema;
    fill_schema(child, format_of(column.type), column.name, 0);  // not nullable: no nulls
    data->children.push_back(child);
  }
  out->n_children = static_cast<int64_t>(data->children.size());
  out->children = data->children.data();
}

// ---- the batch ------------------------------------------------------------------------------
struct ColumnBuffers {
  std::vector<int32_t> offsets;  // utf8
  std::string bytes;             // utf8
  std::vector<const void*> pointers;
};

struct BatchData {
  std::shared_ptr<const ExportTable> table;
  std::vector<ColumnBuffers> columns;
  std::vector<ArrowArray> children;
  std::vector<ArrowArray*> child_pointers;
  std::vector<const void*> struct_buffers{nullptr};
};

using BatchHandle = std::shared_ptr<BatchData>;

void release_child(ArrowArray* array) {
  delete static_cast<BatchHandle*>(array->private_data);
  array->release = nullptr;
}

void release_batch(ArrowArray* array) {
  auto* handle = static_cast<BatchHandle*>(array->private_data);
  for (ArrowArray* child : (*handle)->child_pointers)
    if (child->release) child->release(child);
  delete handle;
  array->release = nullptr;
}

void fill_buffers(const ExportColumn& column, ColumnBuffers& b) {
  b.pointers.push_back(nullptr);  // no validity bitmap: no nulls
  switch (column.type) {
    case ExportColumn::Type::utf8: {
      b.offsets.reserve(column.strings.size() + 1);
      b.offsets.push_back(0);
      for (const auto& s : column.strings) {
        if (b.bytes.size() + s.size() > size_t(std::numeric_limits<int32_t>::max()))
          throw std::length_error("export table: column '" + column.name + "' holds more than 2 GiB of text");
        b.bytes += s;
        b.offsets.push_back(static_cast<int32_t>(b.bytes.size()));
      }
      b.pointers.push_back(b.offsets.data());
      b.pointers.push_back(b.bytes.data());
      break;
    }
    case ExportColumn::Type::uint64: b.pointers.push_back(column.integers.data()); break;
    case ExportColumn::Type::float64: b.pointers.push_back(column.reals.data()); break;
  }
  // An empty vector's data() may be null; consumers expect data buffers to be non-null.
  static const int64_t empty_buffer[1] = {0};
  for (size_t i = 1; i < b.pointers.size(); ++i)
    if (!b.pointers[i]) b.pointers[i] = empty_buffer;
}

void export_batch(const std::shared_ptr<const ExportTable>& table, ArrowArray* out) {
  const int64_t rows = table->rows();
  auto data = std::make_shared<BatchData>();
  data->table = table;
  const size_t n = table->columns().size();
  data->columns.resize(n);
  data->children.resize(n);
  for (size_t i = 0; i < n; ++i) {
    fill_buffers(table->columns()[i], data->columns[i]);
    ArrowArray& child = data->children[i];
    child = ArrowArray{};
    child.length = rows;
    child.n_buffers = static_cast<int64_t>(data->columns[i].pointers.size());
    child.buffers = data->columns[i].pointers.data();
    child.private_data = new BatchHandle(data);
    child.release = release_child;
    data->child_pointers.push_back(&child);
  }
  *out = ArrowArray{};
  out->length = rows;
  out->n_buffers = 1;
  out->buffers = data->struct_buffers.data();
  out->n_children = static_cast<int64_t>(n);
  out->children = data->child_pointers.data();
  out->private_data = new BatchHandle(data);
  out->release = release_batch;
}

// ---- the stream -----------------------------------------------------------------------------
struct StreamData {
  std::shared_ptr<const ExportTable> table;
  bool batch_given = false;
  std::string last_error;
};

// The callbacks return errno values and never throw across the C boundary.
int stream_get_schema(ArrowArrayStream* stream, ArrowSchema* out) {
  auto* data = static_cast<StreamData*>(stream->private_data);
  try {
    export_schema(*data->table, out);
    return 0;
  } catch (const std::exception& e) {
    data->last_error = e.what();
    return ENOMEM;
  }
}

int stream_get_next(ArrowArrayStream* stream, ArrowArray* out) {
  auto* data = static_cast<StreamData*>(stream->private_data);
  try {
    if (data->batch_given) {
      *out = ArrowArray{};  // released: the end of the stream
      return 0;
    }
    export_batch(data->table, out);
    data->batch_given = true;
    return 0;
  } catch (const std::exception& e) {
    data->last_error = e.what();
    return EINVAL;
  }
}

const char* stream_last_error(ArrowArrayStream* stream) {
  auto* data = static_cast<StreamData*>(stream->private_data);
  return data->last_error.empty() ? nullptr : data->last_error.c_str();
}

void stream_release(ArrowArrayStream* stream) {
  delete static_cast<StreamData*>(stream->private_data);
  stream->release = nullptr;
}

}  // namespace

ArrowArrayStream export_stream(ExportTable table) {
  table.rows();  // checks the columns' lengths now rather than in get_next
  ArrowArrayStream stream{};
  stream.get_schema = stream_get_schema;
  stream.get_next = stream_get_next;
  stream.get_last_error = stream_last_error;
  stream.release = stream_release;
  stream.private_data = new StreamData{std::make_shared<const ExportTable>(std::move(table)), false, {}};
  return stream;
}

}  // namespace ecostat::python
