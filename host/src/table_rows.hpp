// The per-row rules of the attribution and parameters tables, shared by the CSV readers and
// the Arrow readers so that both accept, reject and store a row alike. Internal to the host
// readers.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "ecostat/records.hpp"

namespace ecostat::host::detail {

// ---- Attribution

// The fields of one attribution row, in this order; a field the input lacks is empty.
enum AttributionField { kHandle, kOrganisation, kCountry, kRegion, kOrgType, kAttributionFields };

// Column names per field (normalised: lower case), in order of preference.
inline constexpr std::initializer_list<const char*> kAttributionColumns[kAttributionFields] = {
    {"handle", "hf_org", "org", "author"},
    {"organisation", "organization", "parent", "parent_organisation", "parent_organization", "parent_org"},
    {"country"},
    {"region"},
    {"org_type", "type", "organisation_type", "organization_type"}};

// Adds a row (values trimmed; an empty value is unattributed). Returns "" when added, else the
// reject reason with *bad_field set to the field it is about: an empty handle, a value that is
// not text, a handle already in the table (the first row is kept).
std::string add_attribution_row(AttributionTable& table, const std::string_view (&fields)[kAttributionFields],
                                int* bad_field);

// ---- Parameters

// Column names (normalised), in order of preference: the id; a count in billions or a whole
// count (billions win when both are there); the active count likewise.
inline constexpr std::initializer_list<const char*> kParameterIdColumns = {"model_id", "modelid", "id", "repo", "model"};
inline constexpr std::initializer_list<const char*> kParameterBillionsColumns = {"total_params_b", "params_b",
                                                                                 "parameters_b", "total_b"};
inline constexpr std::initializer_list<const char*> kParameterWholeColumns = {
    "parameters", "total_params", "parameter_count", "safetensors_total", "total"};
inline constexpr std::initializer_list<const char*> kActiveBillionsColumns = {"active_params_b", "active_parameters_b"};
inline constexpr std::initializer_list<const char*> kActiveWholeColumns = {"active_parameters", "active_params"};

// A decimal count of billions ("671", "3.3") as an exact whole count (at most 9 decimals), or
// a whole count: "" on success, else the reason ("missing count", "negative count", ...).
std::string parse_billions(std::string_view s, uint64_t* out);
std::string parse_whole(std::string_view s, uint64_t* out);
// Why id cannot be a parameters table id ("" when it can): empty, or not text.
std::string parameter_id_problem(std::string_view id);
// Why a parsed total is unusable ("" when fine): zero (an unknown count is an absent row).
std::string parameter_total_problem(uint64_t total);
// Adds the row; false when id is in the table already (the first row is kept), with the
// reject reason in *why.
bool add_parameter_row(ParameterTable& table, std::string_view id, uint64_t total, uint64_t active,
                       std::string* why);

}  // namespace ecostat::host::detail
