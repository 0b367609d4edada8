// Partial state: what one session has taken in, summed per unit and per unit and month but not
// yet reduced by group. Partials of disjoint slices of the input merge, in any order, into the
// state one session over all of it would have had: finish(merge(parts)) gives the results of
// one session over the whole input, byte for byte (results JSON apart from timings).
//
// Merge rules (docs/library.md, "Partials"):
// - units, authors, tags, ... are matched by their strings; a repository record beats a
//   placeholder for the same id; the same id as a record in two partials keeps the first one
//   merged (a worker that reads the whole repository file in every partial is fine; a record
//   that differs between partials is the caller's inconsistency);
// - attribution rows and parameter rows: by handle / model id, the first merged wins;
// - sums are added exactly (a sum past 2^64-1 is an InputError);
// - input summaries add up; `files` lists every partial's files (sorted by role, then name);
//   duplicate download rows are detected within a partial, and across partials only where both
//   carry day marks of the same scope (the slices of one file: JobSpec::duplicate_scope).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ecostat/engine.hpp"
#include "ecostat/records.hpp"

namespace ecostat {

struct Partial {
  RepoTable repos;
  AttributionTable attribution;
  ParameterTable params;
  InputSummary input;                 // units, placeholders, events: recomputed by finish
  bool have_downloads = false;        // a downloads input was given (month tables exist)
  std::vector<uint64_t> unit_total;   // download-record sums per unit (size = repos.size())
  Month month_first = 0;              // month range of the events seen
  uint32_t n_months = 0;              // 0: no event
  uint64_t events = 0;                // events streamed (a wide count is one)
  struct UnitMonth {
    uint32_t unit;
    Month month;
    uint64_t downloads;
  };
  std::vector<UnitMonth> unit_month;  // non-zero sums, by unit then month

  // Which (unit, day) pairs the per-period download rows of one scope named (kept only when the
  // job asked: JobSpec::duplicate_scope). Merging two partials that both have a scope counts
  // the pairs both named as duplicate download rows and keeps the union, so that the slices of
  // one file, read apart, count the rows one session over the whole file counts. Per unit, one
  // bit per day in 64-day words from word `first_word` (day >> 6).
  struct DayMarks {
    std::string scope;
    std::vector<uint32_t> unit;        // units with a mark, each once
    std::vector<int32_t> first_word;   // by entry: the index (day >> 6) of its first word
    std::vector<uint64_t> offsets;     // entries + 1: its words are words[offsets[i], offsets[i+1])
    std::vector<uint64_t> words;
  };
  std::vector<DayMarks> day_marks;    // by scope name, ascending

  // A self-describing binary form (magic "ECOSTATP", format version, little-endian), for
  // shipping partials between processes (MPI, Dask, Spark). deserialize checks every length
  // and id and throws InputError("partial", ...) on a malformed or foreign blob.
  std::string serialize() const;
  static Partial deserialize(std::string_view bytes);
};

// Merges partials (any number, any order: the result does not depend on the order).
Partial merge(std::vector<Partial> parts);

// The results of a partial, as Session::finish would give them for the same input.
Results finish(Partial state, const EngineOptions& options);

}  // namespace ecostat
