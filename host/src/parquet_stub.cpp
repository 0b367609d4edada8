// Parquet in a build without it (ECOSTAT_PARQUET=OFF, or AUTO without pyarrow's Arrow C++):
// every entry point says so. The real reader: parquet_stream.cpp.
#include "ecostat/errors.hpp"
#include "ecostat/host/parquet.hpp"

namespace ecostat::host {

bool parquet_supported() { return false; }

void open_parquet_stream(const std::string& path, unsigned /*threads*/, ArrowArrayStream* /*out*/) {
  throw InputError(path, 0, "", kParquetNotBuilt);
}

void open_parquet_stream(const std::string& path, unsigned /*threads*/, ArrowArrayStream* /*out*/, int /*first*/,
                         int /*end*/) {
  throw InputError(path, 0, "", kParquetNotBuilt);
}

ParquetShape parquet_shape(const std::string& path) { throw InputError(path, 0, "", kParquetNotBuilt); }

}  // namespace ecostat::host
