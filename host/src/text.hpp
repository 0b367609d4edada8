// Small text parsers shared by the readers: counts, Python-repr lists, the base_model entries
// of a model card's YAML front matter, Hub id normalisation. Internal to the host readers.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

// A parent id as written in a card: strips "https://huggingface.co/", "hf.co/" and a trailing
// '/', and surrounding blanks. May return an empty string (not an id).
std::string normalise_repo_ref(std::string_view s);

}  // namespace ecostat::host::detail
