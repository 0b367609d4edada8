// Keyword options -> JobSpec (options.hpp). One table of setters, so the names, the types and
// the "unknown option" message have one source.
#include "options.hpp"

#include <functional>
#include <map>

#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

namespace nb = nanobind;

namespace ecostat::python {

namespace {

[[noreturn]] void wrong_type(const std::string& name, nb::handle value, const char* expected) {
  throw nb::type_error(("option '" + name + "': expected " + expected + ", got " +
                        nb::inst_name(value).c_str()).c_str());
}

// Python bools are ints; an option that counts does not take one.
template <class T>
T integer(nb::handle v, const std::string& name) {
  T out{};
  if (PyBool_Check(v.ptr()) || !PyLong_Check(v.ptr()) || !nb::try_cast<T>(v, out, false))
    wrong_type(name, v, "a non-negative integer in range");
  return out;
}

double real(nb::handle v, const std::string& name) {
  if (PyBool_Check(v.ptr()) || !(PyLong_Check(v.ptr()) || PyFloat_Check(v.ptr()))) wrong_type(name, v, "a number");
  return nb::cast<double>(v);
}

bool flag(nb::handle v, const std::string& name) {
  if (!PyBool_Check(v.ptr())) wrong_type(name, v, "True or False");
  return v.ptr() == Py_True;
}

std::string text(nb::handle v, const std::string& name) {
  if (!PyUnicode_Check(v.ptr())) wrong_type(name, v, "a string");
  return nb::cast<std::string>(v);
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// A list or tuple of items, each read by `item`.
template <class T, class F>
std::vector<T> sequence(nb::handle v, const std::string& name, F item) {
  if (!PyList_Check(v.ptr()) && !PyTuple_Check(v.ptr())) wrong_type(name, v, "a list");
  std::vector<T> out;
  for (nb::handle x : v) out.push_back(item(x, name));
  return out;
}

// Names: a list of strings, or one string with commas (as the CLI takes them).
std::vector<std::string> names(nb::handle v, const std::string& name) {
  if (PyUnicode_Check(v.ptr())) return split_commas(nb::cast<std::string>(v));
  return sequence<std::string>(v, name, text);
}

// {"robotics": ["robotics", "lerobot*"]} or ["robotics=robotics|lerobot*"].
std::vector<TagCategory> tag_categories(nb::handle v, const std::string& name) {
  std::vector<TagCategory> out;
  if (PyDict_Check(v.ptr())) {
    for (auto [key, patterns] : nb::borrow<nb::dict>(v)) {
      TagCategory c{text(key, name), {}};
      if (PyUnicode_Check(patterns.ptr()))
        c.patterns = {nb::cast<std::string>(patterns)};
      else
        c.patterns = sequence<std::string>(patterns, name, text);
      std::string spec = c.name + "=";
      for (size_t i = 0; i < c.patterns.size(); ++i) spec += (i ? "|" : "") + c.patterns[i];
      out.push_back(parse_tag_category(spec));  // the CLI's checks (UsageError)
    }
    return out;
  }
  for (const auto& s : sequence<std::string>(v, name, text)) out.push_back(parse_tag_category(s));
  return out;
}

using Setter = std::function<void(JobSpec&, nb::handle, const std::string&)>;

// Fields of EngineOptions or JobSpec (C), set on the JobSpec.
template <class C, class T>
Setter set_integer(T C::*field) {
  return [field](JobSpec& j, nb::handle v, const std::string& n) { j.*field = integer<T>(v, n); };
}
template <class C>
Setter set_text(std::string C::*field) {
  return [field](JobSpec& j, nb::handle v, const std::string& n) { j.*field = text(v, n); };
}
template <class C>
Setter set_flag(bool C::*field) {
  return [field](JobSpec& j, nb::handle v, const std::string& n) { j.*field = flag(v, n); };
}
template <class C>
Setter set_names(std::vector<std::string> C::*field) {
  return [field](JobSpec& j, nb::handle v, const std::string& n) { j.*field = names(v, n); };
}

// StudySpec and ConcentrationSpec fields, reached through the spec.
template <class T, class F>
Setter set_study(T StudySpec::*field, F read) {
  return [field, read](JobSpec& j, nb::handle v, const std::string& n) { j.study.*field = read(v, n); };
}
template <class T, class F>
Setter set_concentration(T ConcentrationSpec::*field, F read) {
  return [field, read](JobSpec& j, nb::handle v, const std::string& n) { j.concentration.*field = read(v, n); };
}

template <class T>
auto integers = [](nb::handle v, const std::string& n) { return sequence<T>(v, n, integer<T>); };
auto reals = [](nb::handle v, const std::string& n) { return sequence<double>(v, n, real); };

const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> table = {
      // EngineOptions and JobSpec
      {"downloads_format", set_text(&JobSpec::downloads_format)},
      {"measure", [](JobSpec& j, nb::handle v, const std::string& n) { j.measure = parse_measure(text(v, n)); }},
      {"backend", set_text(&JobSpec::backend)},
      {"threads", set_integer(&JobSpec::threads)},
      {"device", set_integer(&JobSpec::device)},
      {"share_groups", set_names(&JobSpec::share_groups)},
      {"month_groups", set_names(&JobSpec::month_groups)},
      {"concentration_units", set_names(&JobSpec::concentration_units)},
      {"concentration_within", set_names(&JobSpec::concentration_within)},
      {"share_limit", set_integer(&JobSpec::share_limit)},
      {"family_limit", set_integer(&JobSpec::family_limit)},
      {"size_bucket_edges",
       [](JobSpec& j, nb::handle v, const std::string& n) { j.size_bucket_edges = integers<uint64_t>(v, n); }},
      {"family_tags", set_names(&JobSpec::family_tags)},
      {"batch_capacity", set_integer(&JobSpec::batch_capacity)},
      {"strict", set_flag(&JobSpec::strict)},
      {"min_date", set_text(&JobSpec::min_date)},
      {"max_date", set_text(&JobSpec::max_date)},
      {"duplicates", set_text(&JobSpec::duplicates)},
      {"params_prefer", set_text(&JobSpec::params_prefer)},
      {"inherit_attribution", set_flag(&JobSpec::inherit_attribution)},
      {"rejects_path", set_text(&JobSpec::rejects_path)},
      // ConcentrationSpec
      {"top_k", set_concentration(&ConcentrationSpec::top_k, integers<uint64_t>)},
      {"top_pct", set_concentration(&ConcentrationSpec::top_pct, reals)},
      {"percentiles", set_concentration(&ConcentrationSpec::percentiles, reals)},
      {"below", set_concentration(&ConcentrationSpec::below, integers<uint64_t>)},
      {"lorenz_points", set_concentration(&ConcentrationSpec::lorenz_points, integer<uint32_t>)},
      // StudySpec; `study` is its parts (None or "none": no study)
      {"study",
       [](JobSpec& j, nb::handle v, const std::string& n) {
         j.study.parts = v.is_none() ? std::vector<std::string>{} : names(v, n);
         if (j.study.parts.size() == 1 && j.study.parts[0] == "none") j.study.parts.clear();
       }},
      {"adoption_ages", set_study(&StudySpec::adoption_ages, integers<uint32_t>)},
      {"adoption_top", set_study(&StudySpec::adoption_top, integer<uint32_t>)},
      {"adoption_ratio", set_study(&StudySpec::adoption_ratio, text)},
      {"adoption_models", set_study(&StudySpec::adoption_models, names)},
      {"adoption_limit", set_study(&StudySpec::adoption_limit, integer<size_t>)},
      {"lifetime_fraction", set_study(&StudySpec::lifetime_fraction, real)},
      {"lifetime_window", set_study(&StudySpec::lifetime_window, text)},
      {"lifetime_min_months", set_study(&StudySpec::lifetime_min_months, integer<uint32_t>)},
      {"lifetime_left_censored", set_study(&StudySpec::lifetime_left_censored, flag)},
      {"lifetime_kinds", set_study(&StudySpec::lifetime_kinds, names)},
      {"lifetime_limit", set_study(&StudySpec::lifetime_limit, integer<size_t>)},
      {"growth_groups", set_study(&StudySpec::growth_groups, names)},
      {"tag_categories", set_study(&StudySpec::tag_categories, tag_categories)},
      {"growth_limit", set_study(&StudySpec::growth_limit, integer<size_t>)},
      {"year_groups", set_study(&StudySpec::year_groups, names)},
  };
  return table;
}

}  // namespace

void apply_options(JobSpec& spec, const nb::dict& options) {
  for (auto [key, value] : options) {
    const std::string name = nb::cast<std::string>(key);
    auto it = setters().find(name);
    if (it == setters().end())
      throw nb::type_error(("unknown option '" + name + "' (options: docs/python.md; ecostat.option_names())").c_str());
    it->second(spec, value, name);
  }
}

std::vector<std::string> option_names() {
  std::vector<std::string> out;
  for (const auto& [name, setter] : setters()) out.push_back(name);
  return out;
}

}  // namespace ecostat::python
