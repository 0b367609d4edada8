// Keyword options of ecostat.run / ecostat.partial / Partial.finish -> the engine's options.
#pragma once
#include <string>
#include <vector>

#include <nanobind/nanobind.h>

#include "ecostat/engine.hpp"

namespace ecostat::python {

// Sets each option of `options` (a dict: name -> value) on `spec`. Names are the fields of
// EngineOptions, ConcentrationSpec and StudySpec (docs/python.md, "Options"). An unknown name,
// or a value of the wrong type, raises TypeError naming the option; a value the engine
// refuses raises UsageError when the job validates its options.
void apply_options(JobSpec& spec, const nanobind::dict& options);

// Every option name apply_options knows, sorted.
std::vector<std::string> option_names();

}  // namespace ecostat::python
