// Small text parsers shared by the readers: counts, Python-repr lists, the base_model entries
// of a model card's YAML front matter, Hub id normalisation. Internal to the host readers.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ecostat/types.hpp"

namespace ecostat::host::detail {

std::string_view trim(std::string_view s);

enum class NumStatus { ok, empty, negative, not_integer, overflow, invalid };
// Non-negative decimal integer; surrounding blanks allowed; "123.0" / "123.000" (a float
// export of an integer column) accepted as 123; "+5", "1e3", "0x10" are invalid.
NumStatus parse_count(std::string_view s, uint64_t* out);
const char* num_status_text(NumStatus s);  // "negative", "not an integer", ...

// A Python repr (or JSON) list of strings: "['a', \"b\", 'it\\'s']". Escapes \\ \' \" \n \t
// \r \xNN \uNNNN \UNNNNNNNN are decoded (as UTF-8). False when s is not such a list.
bool parse_python_string_list(std::string_view s, std::vector<std::string>* out);

// From the YAML text of a model card (front matter, with or without the '---' lines), the
// top-level `base_model:` entry (a scalar, a flow list [a, b] or a block list of `- item`
// lines) and `base_model_relation:`. Ids are appended in listed order; null/~ are skipped.
void yaml_base_models(std::string_view yaml, std::vector<std::string>* ids, std::string* relation);

// UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates (U+D800..U+DFFF), nothing
// above U+10FFFF. Pure ASCII is checked 8 bytes at a time (the common case costs little).
bool valid_utf8(std::string_view s);
// The offset of the first byte that makes s invalid UTF-8, or npos when it is valid.
size_t utf8_error_at(std::string_view s);

// Why s cannot be a repository id, or nullptr when it can. Hub ids are non-empty ASCII-ish
// names without blanks, control characters (NUL, newline, ...), ',' or '"' (which no Hub id
// holds and which would break CSV outputs), and valid UTF-8. The repository and download
// readers share this rule, so an id one reader rejects the other rejects too.
const char* repo_id_problem(std::string_view s);

// Why a free-text value (author, tag, organisation, country, ...) is unusable, or nullptr:
// invalid UTF-8 or a NUL byte.
const char* text_problem(std::string_view s);

// s for a reject message: bytes that are not printable UTF-8 shown as \xNN, cut after max
// bytes with "...", so a message is always valid UTF-8 whatever the input held.
std::string printable(std::string_view s, size_t max = 80);

enum class DateStatus { ok, malformed, out_of_range };
// A date "YYYY-MM-DD" (years 0000-9999, a real calendar day), optionally followed by 'T' or
// ' ' and a time "HH:MM[:SS[.fraction]]" with an optional zone "Z", "+HH:MM", "+HHMM" or
// "+HH" (the time is checked, then ignored). malformed: not such a date; out_of_range: a
// valid date outside [min_day, max_day] (days since 1970-01-01). `month`, when given, gets the
// date's month (as month_of_day(*day) would, without its divisions).
DateStatus parse_day(std::string_view s, int32_t min_day, int32_t max_day, int32_t* day, Month* month = nullptr);
// A date given as epoch milliseconds (pandas' to_json default): the UTC day it falls on.
// out_of_range: outside [min_day, max_day] (a count of epoch seconds read as milliseconds
// lands in January 1970, so the default window rejects it).
DateStatus day_from_epoch_ms(int64_t ms, int32_t min_day, int32_t max_day, int32_t* day);
// Text of ASCII digits, optionally after a '-', that fits int64: epoch milliseconds. False for
// anything else (an ISO date has '-' between its digits).
bool parse_epoch_ms(std::string_view s, int64_t* ms);
// The reason for epoch milliseconds outside the window, naming the day they were read as.
std::string epoch_ms_out_of_range(std::string_view text, int64_t ms, int32_t min_day, int32_t max_day);
// "YYYY-MM-DD" of a day since 1970-01-01 (for messages).
std::string day_label(int32_t day);
// The reason for a date outside the window: "date out of range: 'text' (outside A..B)".
std::string date_out_of_range(std::string_view text, int32_t min_day, int32_t max_day);

// A parent id as written in a card: strips "https://huggingface.co/", "hf.co/" and a trailing
// '/', and surrounding blanks. May return an empty string (not an id).
std::string normalise_repo_ref(std::string_view s);

}  // namespace ecostat::host::detail
