// A small Arrow C Stream exporter for the results tables the Python module hands out: a
// table of a few flat columns (utf8, uint64, float64), exported as an ArrowArrayStream of one
// record batch. No libarrow: the ABI structs are ecostat/host/arrow_c.hpp's.
#pragma once
#include <cstdint>
#include <string>
#include <deque>
#include <vector>

#include "ecostat/host/arrow_c.hpp"

namespace ecostat::python {

struct ExportColumn {
  enum class Type { utf8, uint64, float64 };
  std::string name;
  Type type;
  std::vector<std::string> strings;  // utf8
  std::vector<uint64_t> integers;    // uint64
  std::vector<double> reals;         // float64 (NaN stays NaN: no validity bitmap)
  size_t size() const;
};

class ExportTable {
 public:
  ExportColumn& utf8(const std::string& name) { return add(name, ExportColumn::Type::utf8); }
  ExportColumn& uint64(const std::string& name) { return add(name, ExportColumn::Type::uint64); }
  ExportColumn& float64(const std::string& name) { return add(name, ExportColumn::Type::float64); }
  const std::deque<ExportColumn>& columns() const { return columns_; }
  // Rows of the batch; throws std::logic_error when the columns differ in length.
  int64_t rows() const;

 private:
  ExportColumn& add(const std::string& name, ExportColumn::Type type);
  std::deque<ExportColumn> columns_;  // a deque: references from utf8()/uint64()/float64() stay valid
};

// Moves the table into a stream (one batch; its schema a struct of the columns). The caller
// owns the stream and releases it (or hands it to a consumer that does).
ArrowArrayStream export_stream(ExportTable table);

}  // namespace ecostat::python
