// The results tables the Python module exports as Arrow (Results.table(name) and friends):
// which exist for a Results and how each is laid out (docs/python.md, "Tables").
#pragma once
#include <string>
#include <vector>

#include "arrow_export.hpp"
#include "ecostat/engine.hpp"

namespace ecostat::python {

// Every table name of these results, in the results document's order: share.<group>,
// share.<group>_x_month, share.<group>_x_year, concentration, concentration_within.<group>,
// lorenz.<unit>, lineage.families, lineage.derivatives_by_organisation, lineage.derivatives_by_tag.
std::vector<std::string> table_names(const Results& r);

// The table of that name; throws std::out_of_range (a KeyError in Python) naming the tables
// there are when there is none.
ExportTable results_table(const Results& r, const std::string& name);

}  // namespace ecostat::python
