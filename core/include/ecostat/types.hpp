// Basic value types shared by every layer: relations, repository kinds, months, u128.
#pragma once
#include <cstdint>
#include <string>

namespace ecostat {

using u128 = unsigned __int128;  // exact sums of products (Gini, HHI) on every backend

// How a derivative relates to its base model (PRODUCT.md, "Lineage").
enum class Relation : uint8_t { finetune = 0, adapter = 1, quantized = 2, merge = 3, unknown = 4 };
constexpr int kRelationCount = 5;
const char* relation_name(Relation r);
// Parses "finetune", "adapter", "quantized" (also "quantization"), "merge"; else unknown.
Relation parse_relation(const std::string& s, bool* recognised = nullptr);

enum class RepoKind : uint8_t { model = 0, dataset = 1, space = 2, unknown = 3 };
const char* repo_kind_name(RepoKind k);
RepoKind parse_repo_kind(const std::string& s, bool* recognised = nullptr);

// Calendar months as a dense u16: months since 1970-01 (0 = 1970-01).
using Month = uint16_t;
constexpr Month month_of(int year, int month1to12) { return Month((year - 1970) * 12 + (month1to12 - 1)); }
std::string month_label(Month m);  // "2024-05"

// Days since 1970-01-01 (proleptic Gregorian); kNoDay when absent.
constexpr int32_t kNoDay = INT32_MIN;
int32_t days_from_civil(int y, unsigned m, unsigned d);
void civil_from_days(int32_t day, int* y, unsigned* m, unsigned* d);  // the inverse
std::string iso_date(int32_t day);  // "YYYY-MM-DD"
Month month_of_day(int32_t day);
// Parses "YYYY-MM-DD" optionally followed by a time ("T..." or " ..."); false when malformed.
bool parse_date(const char* s, size_t len, int32_t* day_out);

// A plausible-date window bound as --min-date/--max-date give it: "YYYY-MM-DD" between
// 1970-01-01 and 7431-03-31. Throws UsageError naming `what` otherwise.
int32_t parse_window_day(const std::string& s, const char* what);

constexpr uint32_t kNone = 0xffffffffu;  // absent dense id

}  // namespace ecostat
